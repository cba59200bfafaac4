package rules

import (
	"cmp"
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
	// Parallel is the number of Oracle questions asked at a time; 0 means 8. Each distinct
	// question (name and type) is asked once.
	Parallel int
}

// Result is what Run found.
type Result struct {
	// Findings ordered by owner name and rule.
	Findings []Finding
	// Unchecked are the names outside the zones that checks needed to ask about and did not,
	// because Config.Oracle is nil: dangling targets, MX/NS/SRV targets, email delegations.
	Unchecked []string
	// Lookups is the number of distinct questions asked of the Oracle.
	Lookups int
}

// Check runs every rule over zones (checked together, so that loops and targets across them are
// seen) and returns the findings, ordered by owner name and rule.
func Check(ctx context.Context, zones []Zone, cfg Config) []Finding {
	return Run(ctx, zones, cfg).Findings
}

// Run is Check, and says what it could not check.
func Run(ctx context.Context, zones []Zone, cfg Config) Result {
	if cfg.MaxChain == 0 {
		cfg.MaxChain = 10
	}
	if cfg.Suffixes == nil {
		cfg.Suffixes = DefaultSuffixes
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	ix := newIndex(zones)
	c := &checker{ix: ix, cfg: cfg, ctx: ctx, chains: newChains(ix), unchecked: map[string]bool{}}
	if cfg.Oracle != nil {
		c.ask = newAsker(ctx, cfg.Oracle)
	}
	for _, z := range zones {
		for _, f := range z.Problems {
			c.add(f)
		}
	}
	for id := range ix.nodes {
		c.node(int32(id))
	}
	for _, owner := range c.chains.loops {
		if owner >= 0 {
			names, rr := c.chains.names(owner)
			at := slices.Index(names, names[len(names)-1])
			c.add(LoopFinding(names[at:], rr.String()))
		}
	}
	c.runTasks()

	var out []Finding
	for _, s := range c.slots {
		if s.task != nil {
			out = append(out, s.found...)
		} else {
			out = append(out, s.f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Owner != out[j].Owner {
			return out[i].Owner < out[j].Owner
		}
		return out[i].Rule < out[j].Rule
	})
	res := Result{Findings: out}
	for name := range c.unchecked {
		res.Unchecked = append(res.Unchecked, name)
	}
	slices.Sort(res.Unchecked)
	if c.ask != nil {
		res.Lookups = len(c.ask.calls)
	}
	return res
}

type checker struct {
	ix        *index
	chains    *chains
	cfg       Config
	ctx       context.Context
	ask       *asker
	slots     []slot
	unchecked map[string]bool
}

// slot is one finding, or a check that needs the Oracle (run later, many at a time), in the order
// they were met.
type slot struct {
	f     Finding
	task  func() []Finding
	found []Finding
}

func (c *checker) add(f Finding) { c.slots = append(c.slots, slot{f: f}) }

// later queues a check that asks the Oracle.
func (c *checker) later(task func() []Finding) { c.slots = append(c.slots, slot{task: task}) }

// node runs the rules for one name.
func (c *checker) node(id int32) {
	nd := &c.ix.nodes[id]
	if nd.first < 0 {
		return
	}
	c.pointers(id)
	if nd.flags&fCNAME == 0 {
		return
	}
	cn := c.ix.recs[nd.cname].(*dns.CNAME)
	c.siblings(id, cn)
	if nd.flags&fTarget == 0 && c.chains.loop[id] < 0 {
		c.head(id)
	}
	c.relative(id, cn)
	c.email(nd.name, cn)
}

// dnssecTypes may sit beside a CNAME (RFC 2181 section 10.1, RFC 4035 section 2.5): RRSIG and
// NSEC, and the historical SIG, NXT and KEY.
var dnssecTypes = []uint16{dns.TypeRRSIG, dns.TypeNSEC, dns.TypeSIG, dns.TypeNXT, dns.TypeKEY}

// siblings checks rules 1 to 3 at a name that owns a CNAME: other data beside it, a CNAME at an
// apex, more than one CNAME.
func (c *checker) siblings(id int32, cn *dns.CNAME) {
	nd := &c.ix.nodes[id]
	name := nd.name
	apex := nd.flags&fApex != 0
	if apex {
		fix := "replace the CNAME with the target's addresses, or declare it to flatten as 'alias " + name + " " + cn.Target + "' and remove the CNAME"
		switch target := dns.CanonicalName(cn.Target); {
		case target == name:
			fix = "replace the CNAME with the apex's own addresses: it points at the apex itself, so there is nothing to flatten"
		case c.chains.loop[id] >= 0:
			fix = "replace the CNAME with the apex's own addresses: its target " + cn.Target + " leads into a CNAME loop, so there is nothing to flatten"
		}
		c.add(Finding{Severity: Error, Rule: RuleApex, Owner: name, Record: cn.String(),
			RFC:     "RFC 1034 3.6.2, RFC 2181 10.1",
			Message: "CNAME at the zone apex, which must hold SOA and NS: resolvers that honour the CNAME lose the zone's other records",
			Fix:     fix})
	}
	var other []string
	var cnames []dns.RR
	c.ix.records(id, func(rr dns.RR) {
		switch t := rr.Header().Rrtype; {
		case t == dns.TypeCNAME:
			if nd.flags&fMultiple != 0 && !slices.ContainsFunc(cnames, func(o dns.RR) bool { return dns.IsDuplicate(o, rr) }) {
				cnames = append(cnames, rr)
			}
		case slices.Contains(dnssecTypes, t) || apex && (t == dns.TypeSOA || t == dns.TypeNS):
		default:
			if s := typeName(t); !slices.Contains(other, s) {
				other = append(other, s)
			}
		}
	})
	sort.Strings(other)
	if len(other) > 0 {
		list := strings.Join(other, ", ")
		c.add(Finding{Severity: Error, Rule: RuleSiblings, Owner: name, Record: cn.String(),
			RFC:     "RFC 1034 3.6.2, RFC 2181 10.1, RFC 4035 2.5",
			Message: fmt.Sprintf("CNAME beside %s: only DNSSEC records may share a name with a CNAME; resolvers see the CNAME and never the %s", list, list),
			Fix:     "move the " + list + " records to the target name, or replace the CNAME with addresses"})
	}
	if len(cnames) > 1 {
		var targets []string
		for _, rr := range cnames {
			targets = append(targets, rr.(*dns.CNAME).Target)
		}
		c.add(MultipleFinding(name, cnames[1].String(), targets))
	}
}

// head checks rules 4 and 5 from the head of a chain (a name no CNAME points at) that does not
// loop: a chain longer than MaxChain, and a target that does not exist.
func (c *checker) head(id int32) {
	if int(c.chains.hops[id]) > c.cfg.MaxChain {
		names, _ := c.chains.names(id)
		c.add(LongChainFinding(names, c.cfg.MaxChain))
	}
	endID := c.chains.end[id]
	if int(endID) < len(c.ix.nodes) {
		return // the chain ends at a name of the zones: it exists (or is below a delegation)
	}
	end := c.chains.name(endID)
	dangling := func() []Finding {
		names, _ := c.chains.names(id)
		return []Finding{DanglingFinding(names, c.ix.recs[c.ix.nodes[id].cname].String(), c.cfg.Suffixes)}
	}
	switch {
	case c.ix.authoritative(end):
		if !c.ix.exists(end) {
			c.add(dangling()[0])
		}
	case c.ix.zoneOf(end) != "": // below a delegation: not known here
	case c.ask == nil:
		c.unchecked[end] = true
	default:
		c.later(func() []Finding {
			m, err := c.ask.lookup(end, dns.TypeA)
			if err != nil || m.Rcode != dns.RcodeNameError {
				return nil // it exists, or the answer is not known
			}
			return dangling()
		})
	}
}

// tlds are top-level labels that mark a relative target as an outside name with the zone appended.
// Every two-letter label is taken as a country code as well.
var tlds = []string{"com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "app", "dev", "cloud",
	"ai", "xyz", "online", "site", "tech", "store", "shop", "blog", "name", "pro", "mobi", "asia", "eu", "arpa", "example", "test"}

// relative checks rule 6 for the CNAME at name: a target written without its trailing dot, so that
// the zone's origin was appended to it.
func (c *checker) relative(id int32, cn *dns.CNAME) {
	if c.ix.nodes[id].target >= 0 {
		return // the target exists
	}
	name := c.ix.nodes[id].name
	target := dns.CanonicalName(cn.Target)
	zone := c.ix.zoneOf(target)
	if zone == "" || zone == "." || c.ix.exists(target) || c.ix.underDNAME(target) {
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

// pointer is a record type whose data names a host.
type pointer struct {
	field, rfc, noAddrRFC string
	noAddr                Severity // the severity of rule 9, or -1 when it does not apply
	consequence           string
}

var pointers = map[uint16]pointer{
	dns.TypeMX:  {field: "MX exchange", rfc: "RFC 2181 10.3", noAddrRFC: "RFC 5321 5.1", noAddr: Error, consequence: "mail for %s cannot be delivered to it"},
	dns.TypeNS:  {field: "NS name", rfc: "RFC 2181 10.3", noAddrRFC: "RFC 1034 4.2.2", noAddr: Error, consequence: "resolvers cannot reach this name server for %s"},
	dns.TypeSRV: {field: "SRV target", rfc: "RFC 2782", noAddrRFC: "RFC 2782", noAddr: Warning, consequence: "clients of %s cannot reach this target"},
	dns.TypeSOA: {field: "SOA MNAME", rfc: "RFC 2181 10.3", noAddr: -1},
}

// pointers checks rule 7 at a name: MX, NS, SRV targets and the SOA MNAME must not be aliases;
// and rule 9: an MX, NS or SRV target in the zones must have addresses.
func (c *checker) pointers(id int32) {
	nd := &c.ix.nodes[id]
	owner := nd.name
	var seen []dns.RR
	c.ix.records(id, func(rr dns.RR) {
		var target string
		switch rr := rr.(type) {
		case *dns.MX:
			target = rr.Mx
		case *dns.NS:
			target = rr.Ns
		case *dns.SRV:
			target = rr.Target
		case *dns.SOA:
			target = rr.Ns
		default:
			return
		}
		if target == "." || slices.ContainsFunc(seen, func(o dns.RR) bool { return dns.IsDuplicate(o, rr) }) {
			return // a null MX or SRV target, or a record given twice
		}
		seen = append(seen, rr)
		p := pointers[rr.Header().Rrtype]
		name := dns.CanonicalName(target)
		alias := func() Finding {
			return Finding{Severity: Error, Rule: RuleTargetAlias, Owner: owner, Record: rr.String(),
				RFC:     p.rfc,
				Message: fmt.Sprintf("%s %s is an alias (it owns a CNAME): it must name a host with addresses", p.field, target),
				Fix:     fmt.Sprintf("point the %s at the CNAME's target instead of %s", p.field, target)}
		}
		switch {
		case c.ix.authoritative(name):
			if next, d, _ := c.ix.dnameStep(name); d != nil {
				c.add(Finding{Severity: Error, Rule: RuleTargetAlias, Owner: owner, Record: rr.String(),
					RFC:     p.rfc + ", RFC 6672 2.3",
					Message: fmt.Sprintf("%s %s is below the DNAME at %s, so it is an alias: it must name a host with addresses", p.field, target, d.Hdr.Name),
					Fix:     fmt.Sprintf("point the %s at %s, the name the DNAME maps it to", p.field, cmp.Or(next, "a host with addresses"))})
				return
			}
			if _, cn := c.ix.cname(name); cn != nil {
				c.add(alias())
				return
			}
			if p.noAddr >= 0 && (c.ix.authoritative(owner) || nd.flags&fCut != 0 && rr.Header().Rrtype == dns.TypeNS) {
				if at, ok := c.ix.find(name); !ok || c.ix.nodes[at].flags&fAddr == 0 {
					c.add(Finding{Severity: p.noAddr, Rule: RuleNoAddress, Owner: owner, Record: rr.String(),
						RFC:     p.noAddrRFC,
						Message: fmt.Sprintf("%s %s has no address records (A or AAAA): %s", p.field, target, fmt.Sprintf(p.consequence, owner)),
						Fix:     fmt.Sprintf("add the A or AAAA records of %s, or point the %s at a host that has them", target, p.field)})
				}
			}
		case c.ix.zoneOf(name) != "": // below a delegation: not known here
		case c.ask == nil:
			c.unchecked[name] = true
		default:
			c.later(func() []Finding {
				m, err := c.ask.lookup(name, dns.TypeCNAME)
				if err != nil || m.Rcode != dns.RcodeSuccess {
					return nil
				}
				for _, a := range m.Answer {
					if a.Header().Rrtype == dns.TypeCNAME && strings.EqualFold(a.Header().Name, name) {
						return []Finding{alias()}
					}
				}
				return nil
			})
		}
	})
}
