package rules

// The rules at a name that owns a CNAME: other data beside it, a CNAME at an apex, more than one
// CNAME.

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

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
		case c.forks(target):
			fix = "give " + cn.Target + " one CNAME (RFC 2181 10.1), then replace the apex's CNAME with the target's addresses, or declare it to flatten as 'alias " + name + " " + cn.Target + "' and remove the CNAME"
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
		targets := make([]string, 0, len(cnames))
		for _, rr := range cnames {
			targets = append(targets, rr.(*dns.CNAME).Target)
		}
		c.add(MultipleFinding(name, cnames[0].String(), targets)) // the first: where a reader starts
	}
}

// forks reports whether name, in the zones, owns more than one CNAME (a record given twice is one):
// a chain through it has no one end to flatten until it has one.
func (c *checker) forks(name string) bool {
	id, ok := c.ix.ids.get(c.ix.nodes, name)
	if !ok || c.ix.nodes[id].flags&fMultiple == 0 {
		return false
	}
	var first dns.RR
	forked := false
	c.ix.records(id, func(rr dns.RR) {
		switch {
		case rr.Header().Rrtype != dns.TypeCNAME:
		case first == nil:
			first = rr
		case !dns.IsDuplicate(first, rr):
			forked = true
		}
	})
	return forked
}
