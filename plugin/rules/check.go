package rules

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// Oracle answers questions about names the zones given do not hold: dangling targets and email
// checks. Lookup returns the reply of a recursive resolver (CNAMEs followed), or an error.
type Oracle interface {
	Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
}

// Config tunes Check.
type Config struct {
	// MaxChain is the number of CNAME hops allowed; 0 means 10.
	MaxChain int
	// Oracle resolves names outside the zones; nil skips the checks that need it.
	Oracle Oracle
	// Suffixes is the takeover table; nil means DefaultSuffixes.
	Suffixes Suffixes
}

// Check runs every rule over zones (checked together, so that loops and targets across them are
// seen) and returns the findings, ordered by owner name and rule.
func Check(ctx context.Context, zones []Zone, cfg Config) []Finding {
	if cfg.MaxChain == 0 {
		cfg.MaxChain = 10
	}
	if cfg.Suffixes == nil {
		cfg.Suffixes = DefaultSuffixes
	}
	c := &checker{ix: newIndex(zones), cfg: cfg, ctx: ctx}
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

type checker struct {
	ix  *index
	cfg Config
	ctx context.Context
	out []Finding
}

func (c *checker) add(f Finding) { c.out = append(c.out, f) }

// dnssecTypes may sit beside a CNAME (RFC 2181 section 10.1, RFC 4035 section 2.5): RRSIG and
// NSEC, and the historical SIG, NXT and KEY.
var dnssecTypes = []uint16{dns.TypeRRSIG, dns.TypeNSEC, dns.TypeSIG, dns.TypeNXT, dns.TypeKEY}

// siblings checks rules 1 to 3 at name: other data beside a CNAME, a CNAME at an apex, more than one
// CNAME.
func (c *checker) siblings(name string) {
	types := c.ix.names[name]
	cnames := types[dns.TypeCNAME]
	if len(cnames) == 0 {
		return
	}
	apex := slices.Contains(c.ix.zones, name)
	if apex {
		c.add(Finding{Severity: Error, Rule: RuleApex, Owner: name, Record: cnames[0].String(),
			RFC:     "RFC 1034 3.6.2, RFC 2181 10.1",
			Message: "CNAME at the zone apex, which must hold SOA and NS: resolvers that honour the CNAME lose the zone's other records",
			Fix:     "replace the CNAME with the target's addresses, or declare it to flatten as 'alias " + name + " " + cnames[0].(*dns.CNAME).Target + "' and remove the CNAME"})
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
func (c *checker) chain(name string, seenLoops map[string]bool) {
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
func (c *checker) isTarget(name string) bool {
	for n := range c.ix.names {
		if t, cn := c.ix.cname(n); cn != nil && t == name {
			return true
		}
	}
	return false
}

// loopKey names a loop independently of where it was entered.
func loopKey(loop []string) string {
	s := slices.Clone(loop)
	sort.Strings(s)
	return strings.Join(s, " ")
}

// dangling checks rule 5 at the end of the chain names: a target that does not exist.
func (c *checker) dangling(names []string) {
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
func (c *checker) existsAnywhere(name string) (exists, known bool) {
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

// tlds are top-level labels that mark a relative target as an outside name with the zone appended.
// Every two-letter label is taken as a country code as well.
var tlds = []string{"com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "app", "dev", "cloud",
	"ai", "xyz", "online", "site", "tech", "store", "shop", "blog", "name", "pro", "mobi", "asia", "eu", "arpa", "example", "test"}

// relative checks rule 6 for the CNAME at name: a target written without its trailing dot, so that
// the zone's origin was appended to it.
func (c *checker) relative(name string, cn *dns.CNAME) {
	target := dns.CanonicalName(cn.Target)
	zone := c.ix.zoneOf(target)
	if zone == "" || zone == "." || c.ix.exists(target) {
		return
	}
	prefix := strings.TrimSuffix(strings.TrimSuffix(target, zone), ".")
	intended := ""
	switch labels := dns.SplitDomainName(prefix); {
	case strings.HasSuffix(prefix+".", "."+zone) || prefix+"." == zone:
		intended = prefix + "."
	case len(labels) >= 2 && (len(labels[len(labels)-1]) == 2 || slices.Contains(tlds, labels[len(labels)-1])):
		intended = prefix + "."
	default:
		return
	}
	c.add(Finding{Severity: Error, Rule: RuleRelative, Owner: name, Record: cn.String(),
		RFC:     "RFC 1035 5.1",
		Message: fmt.Sprintf("target %s looks like %s written without its trailing dot: the zone's origin %s was appended", cn.Target, intended, zone),
		Fix:     fmt.Sprintf("write the target as '%s', with the trailing dot", intended)})
}

// pointers checks rule 7 at name: MX, NS, SRV targets and the SOA MNAME must not be aliases.
func (c *checker) pointers(name string) {
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
func (c *checker) isAlias(name string) (alias, known bool) {
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
