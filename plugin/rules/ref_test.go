package rules

// The rules as they were before the zones were indexed once (quadratic, and the reference for
// what every finding says): the differential test in reference_test.go compares them with Check.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// loopKey names a loop independently of where it was entered.
func loopKey(loop []string) string {
	s := slices.Clone(loop)
	sort.Strings(s)
	return strings.Join(s, " ")
}

// index holds the records of every zone given, by lower-case owner name and type.
type refIndex struct {
	zones []string // origins, lower-case
	names map[string]map[uint16][]dns.RR
	cuts  map[string]bool // delegation points (NS below an origin)
}

func newRefIndex(zones []Zone) *refIndex {
	ix := &refIndex{names: map[string]map[uint16][]dns.RR{}, cuts: map[string]bool{}}
	for _, z := range zones {
		origin := dns.CanonicalName(z.Origin)
		ix.zones = append(ix.zones, origin)
		for _, rr := range z.Records {
			h := rr.Header()
			name := dns.CanonicalName(h.Name)
			if !dns.IsSubDomain(origin, name) {
				continue
			}
			if ix.names[name] == nil {
				ix.names[name] = map[uint16][]dns.RR{}
			}
			ix.names[name][h.Rrtype] = append(ix.names[name][h.Rrtype], rr)
			if h.Rrtype == dns.TypeNS && name != origin {
				ix.cuts[name] = true
			}
		}
	}
	for name, types := range ix.names {
		for t, rrs := range types {
			types[t] = dns.Dedup(rrs, nil)
		}
		ix.names[name] = types
	}
	return ix
}

// zoneOf returns the origin of the longest zone given that holds name, or "".
func (ix *refIndex) zoneOf(name string) string {
	best := ""
	for _, z := range ix.zones {
		if dns.IsSubDomain(z, name) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

// authoritative reports whether the zones given answer for name: it is inside one of them and not
// at or below a delegation.
func (ix *refIndex) authoritative(name string) bool {
	zone := ix.zoneOf(name)
	if zone == "" {
		return false
	}
	for n := name; n != zone && n != "."; n = parent(n) {
		if ix.cuts[n] {
			return false
		}
	}
	return true
}

// exists reports whether name exists in the zones given: it owns records, is an empty
// non-terminal, or is covered by a wildcard (RFC 4592).
func (ix *refIndex) exists(name string) bool {
	if _, ok := ix.names[name]; ok {
		return true
	}
	for n := range ix.names {
		if strings.HasSuffix(n, "."+name) {
			return true // an empty non-terminal
		}
	}
	zone := ix.zoneOf(name)
	for n := parent(name); n != "" && dns.IsSubDomain(zone, n); n = parent(n) {
		if _, ok := ix.names["*."+n]; ok {
			return true
		}
		if _, ok := ix.names[n]; ok {
			return false // the closest encloser exists; a wildcard above it does not apply
		}
	}
	return false
}

// rrs returns the records of type t at name, following a wildcard when name itself has none.
func (ix *refIndex) rrs(name string, t uint16) []dns.RR {
	if types, ok := ix.names[name]; ok {
		return types[t]
	}
	for n := parent(name); n != ""; n = parent(n) {
		if types, ok := ix.names["*."+n]; ok {
			return types[t]
		}
		if _, ok := ix.names[n]; ok {
			return nil
		}
	}
	return nil
}

// cname returns name's CNAME target, if it has exactly one CNAME in the zones given.
func (ix *refIndex) cname(name string) (string, *dns.CNAME) {
	c := ix.rrs(name, dns.TypeCNAME)
	if len(c) == 0 {
		return "", nil
	}
	cn := c[0].(*dns.CNAME)
	return dns.CanonicalName(cn.Target), cn
}

// Check runs every rule over zones (checked together, so that loops and targets across them are
// seen) and returns the findings, ordered by owner name and rule.
func refCheck(ctx context.Context, zones []Zone, cfg Config) []Finding {
	if cfg.MaxChain == 0 {
		cfg.MaxChain = 10
	}
	if cfg.Suffixes == nil {
		cfg.Suffixes = DefaultSuffixes
	}
	c := &refChecker{ix: newRefIndex(zones), cfg: cfg, ctx: ctx}
	owners := make([]string, 0, len(c.ix.names))
	for name := range c.ix.names {
		owners = append(owners, name)
	}
	sort.Strings(owners)
	for _, name := range owners {
		c.siblings(name)
		c.pointers(name)
	}
	seenLoops := map[string]bool{}
	for _, name := range owners {
		if _, cn := c.ix.cname(name); cn != nil {
			c.chain(name, seenLoops)
			c.relative(name, cn)
			c.email(name, cn)
		}
	}
	sort.SliceStable(c.out, func(i, j int) bool {
		if c.out[i].Owner != c.out[j].Owner {
			return c.out[i].Owner < c.out[j].Owner
		}
		return c.out[i].Rule < c.out[j].Rule
	})
	return c.out
}

type refChecker struct {
	ix  *refIndex
	cfg Config
	ctx context.Context
	out []Finding
}

func (c *refChecker) add(f Finding) { c.out = append(c.out, f) }

// siblings checks rules 1 to 3 at name: other data beside a CNAME, a CNAME at an apex, more than one
// CNAME.
func (c *refChecker) siblings(name string) {
	types := c.ix.names[name]
	cnames := types[dns.TypeCNAME]
	if len(cnames) == 0 {
		return
	}
	apex := slices.Contains(c.ix.zones, name)
	if apex {
		target := cnames[0].(*dns.CNAME).Target
		fix := "replace the CNAME with the target's addresses, or declare it to flatten as 'alias " + name + " " + target + "' and remove the CNAME"
		if len(c.ix.names[dns.CanonicalName(target)][dns.TypeCNAME]) > 1 {
			fix = "give " + target + " one CNAME (RFC 2181 10.1), then replace the apex's CNAME with the target's addresses, or declare it to flatten as 'alias " + name + " " + target + "' and remove the CNAME"
		}
		c.add(Finding{Severity: Error, Rule: RuleApex, Owner: name, Record: cnames[0].String(),
			RFC:     "RFC 1034 3.6.2, RFC 2181 10.1",
			Message: "CNAME at the zone apex, which must hold SOA and NS: resolvers that honour the CNAME lose the zone's other records",
			Fix:     fix})
	}
	var other []string
	for t := range types {
		if t == dns.TypeCNAME || slices.Contains(dnssecTypes, t) || apex && (t == dns.TypeSOA || t == dns.TypeNS) {
			continue
		}
		other = append(other, dns.TypeToString[t])
	}
	sort.Strings(other)
	if len(other) > 0 {
		c.add(Finding{Severity: Error, Rule: RuleSiblings, Owner: name, Record: cnames[0].String(),
			RFC:     "RFC 1034 3.6.2, RFC 2181 10.1, RFC 4035 2.5",
			Message: fmt.Sprintf("CNAME beside %s: only DNSSEC records may share a name with a CNAME; resolvers see the CNAME and never the %s", strings.Join(other, ", "), strings.Join(other, ", ")),
			Fix:     "move the " + strings.Join(other, ", ") + " records to the target name, or replace the CNAME with addresses"})
	}
	if len(cnames) > 1 {
		var targets []string
		for _, rr := range cnames {
			targets = append(targets, rr.(*dns.CNAME).Target)
		}
		c.add(MultipleFinding(name, cnames[1].String(), targets))
	}
}

// chain checks rule 4 from name: loops (reported once per loop) and chains longer than MaxChain
// (reported at the chain's head), and then rule 5 at the chain's end.
func (c *refChecker) chain(name string, seenLoops map[string]bool) {
	names := []string{name}
	cur := name
	for {
		next, cn := c.ix.cname(cur)
		if cn == nil {
			break
		}
		if i := slices.Index(names, next); i >= 0 {
			loop := names[i:]
			key := loopKey(loop)
			if !seenLoops[key] {
				seenLoops[key] = true
				c.add(LoopFinding(append(slices.Clone(names[i:]), next), cn.String()))
			}
			return
		}
		names = append(names, next)
		cur = next
	}
	hops := len(names) - 1
	if hops > c.cfg.MaxChain && !c.isTarget(name) {
		c.add(LongChainFinding(names, c.cfg.MaxChain))
	}
	if name == names[0] && !c.isTarget(name) {
		c.dangling(names)
	}
}

// isTarget reports whether some CNAME in the zones points at name (name is not a chain's head).
func (c *refChecker) isTarget(name string) bool {
	for n := range c.ix.names {
		if t, cn := c.ix.cname(n); cn != nil && t == name {
			return true
		}
	}
	return false
}

// dangling checks rule 5 at the end of the chain names: a target that does not exist.
func (c *refChecker) dangling(names []string) {
	end := names[len(names)-1]
	head := names[0]
	exists, known := c.existsAnywhere(end)
	if !known || exists {
		return
	}
	record := ""
	if _, cn := c.ix.cname(head); cn != nil {
		record = cn.String()
	}
	c.add(DanglingFinding(names, record, c.cfg.Suffixes))
}

// existsAnywhere reports whether name exists, and whether that is known: from the zones given when
// they are authoritative for it, else from the oracle when there is one.
func (c *refChecker) existsAnywhere(name string) (exists, known bool) {
	if c.ix.authoritative(name) {
		return c.ix.exists(name), true
	}
	if c.ix.zoneOf(name) != "" && !c.ix.authoritative(name) || c.cfg.Oracle == nil {
		return false, false
	}
	m, err := c.cfg.Oracle.Lookup(c.ctx, name, dns.TypeA)
	if err != nil || (m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError) {
		return false, false
	}
	return m.Rcode != dns.RcodeNameError, true
}

// relative checks rule 6 for the CNAME at name: a target written without its trailing dot, so that
// the zone's origin was appended to it.
func (c *refChecker) relative(name string, cn *dns.CNAME) {
	target := dns.CanonicalName(cn.Target)
	zone := c.ix.zoneOf(target)
	if zone == "" || zone == "." || c.ix.exists(target) {
		return
	}
	prefix := strings.TrimSuffix(strings.TrimSuffix(target, zone), ".")
	switch labels := dns.SplitDomainName(prefix); {
	case strings.HasSuffix(prefix+".", "."+zone) || prefix+"." == zone:
	case len(labels) >= 2 && (len(labels[len(labels)-1]) == 2 || slices.Contains(tlds, labels[len(labels)-1])):
	default:
		return
	}
	intended := prefix + "."
	c.add(Finding{Severity: Error, Rule: RuleRelative, Owner: name, Record: cn.String(),
		RFC:     "RFC 1035 5.1",
		Message: fmt.Sprintf("target %s looks like %s written without its trailing dot: the zone's origin %s was appended", cn.Target, intended, zone),
		Fix:     fmt.Sprintf("write the target as '%s', with the trailing dot", intended)})
}

// pointers checks rule 7 at name: MX, NS, SRV targets and the SOA MNAME must not be aliases.
func (c *refChecker) pointers(name string) {
	for t, rrs := range c.ix.names[name] {
		for _, rr := range rrs {
			var target, rfc string
			switch rr := rr.(type) {
			case *dns.MX:
				target, rfc = rr.Mx, "RFC 2181 10.3"
			case *dns.NS:
				target, rfc = rr.Ns, "RFC 2181 10.3"
			case *dns.SRV:
				target, rfc = rr.Target, "RFC 2782"
			case *dns.SOA:
				target, rfc = rr.Ns, "RFC 2181 10.3"
			default:
				continue
			}
			if target == "." {
				continue // a null MX or SRV target
			}
			alias, known := c.isAlias(dns.CanonicalName(target))
			if !known || !alias {
				continue
			}
			field := map[uint16]string{dns.TypeMX: "MX exchange", dns.TypeNS: "NS name", dns.TypeSRV: "SRV target", dns.TypeSOA: "SOA MNAME"}[t]
			c.add(Finding{Severity: Error, Rule: RuleTargetAlias, Owner: name, Record: rr.String(),
				RFC:     rfc,
				Message: fmt.Sprintf("%s %s is an alias (it owns a CNAME): it must name a host with addresses", field, target),
				Fix:     fmt.Sprintf("point the %s at the CNAME's target instead of %s", field, target)})
		}
	}
}

// isAlias reports whether name owns a CNAME, and whether that is known.
func (c *refChecker) isAlias(name string) (alias, known bool) {
	if c.ix.authoritative(name) {
		_, cn := c.ix.cname(name)
		return cn != nil, true
	}
	if c.ix.zoneOf(name) != "" || c.cfg.Oracle == nil {
		return false, false
	}
	m, err := c.cfg.Oracle.Lookup(c.ctx, name, dns.TypeCNAME)
	if err != nil || m.Rcode != dns.RcodeSuccess {
		return false, false
	}
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == dns.TypeCNAME && strings.EqualFold(rr.Header().Name, name) {
			return true, true
		}
	}
	return false, true
}

// email checks rule 8 for the CNAME at name: delegations of DKIM keys (RFC 6376), MTA-STS policy
// hosts (RFC 8461) and BIMI records to a provider must land on what the provider is to publish.
func (c *refChecker) email(name string, cn *dns.CNAME) {
	labels := dns.SplitDomainName(name)
	switch {
	case len(labels) >= 2 && labels[1] == "_domainkey":
		txt, known := c.resolve(name, dns.TypeTXT)
		if known && !anyTXT(txt, isDKIM) {
			c.add(Finding{Severity: Error, Rule: RuleDKIM, Owner: name, Record: cn.String(), RFC: "RFC 6376 3.6.2",
				Message: "DKIM selector delegated to " + cn.Target + ", which holds no DKIM key (a TXT with p=): signatures with this selector fail",
				Fix:     "publish the key at " + cn.Target + " (the provider's selector record), or remove the delegation"})
		}
	case len(labels) >= 2 && labels[0] == "mta-sts":
		a, knownA := c.resolve(name, dns.TypeA)
		aaaa, knownAAAA := c.resolve(name, dns.TypeAAAA)
		if knownA && knownAAAA && len(a) == 0 && len(aaaa) == 0 {
			c.add(Finding{Severity: Error, Rule: RuleMTASTS, Owner: name, Record: cn.String(), RFC: "RFC 8461 3.3",
				Message: "MTA-STS policy host delegated to " + cn.Target + ", which has no addresses: senders cannot fetch the policy",
				Fix:     "point mta-sts at the host that serves https://" + name + "/.well-known/mta-sts.txt"})
		}
	case len(labels) >= 2 && labels[1] == "_bimi":
		txt, known := c.resolve(name, dns.TypeTXT)
		if known && !anyTXT(txt, func(s string) bool { return strings.HasPrefix(strings.ToLower(s), "v=bimi1") }) {
			c.add(Finding{Severity: Error, Rule: RuleBIMI, Owner: name, Record: cn.String(), RFC: "draft-brand-indicators-for-message-identification",
				Message: "BIMI record delegated to " + cn.Target + ", which holds no v=BIMI1 TXT record",
				Fix:     "publish the BIMI record at " + cn.Target + ", or remove the delegation"})
		}
	}
}

// resolve follows name's chain through the zones given and then the oracle, and returns the records
// of type t at its end, and whether the answer is known.
func (c *refChecker) resolve(name string, t uint16) ([]dns.RR, bool) {
	seen := map[string]bool{}
	for hop := 0; hop <= c.cfg.MaxChain; hop++ {
		if seen[name] {
			return nil, true // a loop: nothing
		}
		seen[name] = true
		if !c.ix.authoritative(name) {
			if c.ix.zoneOf(name) != "" || c.cfg.Oracle == nil {
				return nil, false
			}
			m, err := c.cfg.Oracle.Lookup(c.ctx, name, t)
			if err != nil || (m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError) {
				return nil, false
			}
			var out []dns.RR
			for _, rr := range m.Answer {
				if rr.Header().Rrtype == t {
					out = append(out, rr)
				}
			}
			return out, true
		}
		if rrs := c.ix.rrs(name, t); len(rrs) > 0 {
			return rrs, true
		}
		next, cn := c.ix.cname(name)
		if cn == nil {
			return nil, true
		}
		name = next
	}
	return nil, true
}
