package rules

// The rules for names in MX, NS, SRV and SOA data: not aliases, and with addresses.

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// pointer is a record type whose data names a host.
type pointer struct {
	field, rfc, noAddrRFC string
	noAddr                Severity // the severity of rule 9, or -1 when it does not apply
	consequence           string
	taken                 string // what the one who registers the target's domain gets; "": not checked
}

var pointers = map[uint16]pointer{
	dns.TypeMX: {field: "MX exchange", rfc: "RFC 2181 10.3", noAddrRFC: "RFC 5321 5.1", noAddr: Error, consequence: "mail for %s cannot be delivered to it",
		taken: "receives the mail for %s"},
	dns.TypeNS: {field: "NS name", rfc: "RFC 2181 10.3", noAddrRFC: "RFC 1034 4.2.2", noAddr: Error, consequence: "resolvers cannot reach this name server for %s",
		taken: "answers for %s (a delegation takeover)"},
	dns.TypeSRV: {field: "SRV target", rfc: "RFC 2782", noAddrRFC: "RFC 2782", noAddr: Warning, consequence: "clients of %s cannot reach this target",
		taken: "receives the clients of %s"},
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
		case c.ix.unknown(name): // in a zone given in part: not known here
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
		default:
			c.outside(name, func() []Finding {
				m, err := c.ask.lookup(name, dns.TypeCNAME)
				if err == nil && m.Rcode == dns.RcodeNameError && p.taken != "" {
					if reg := c.unregistered(name); reg != "" {
						return []Finding{unregisteredFinding(owner, rr.String(), p.field, target, reg, fmt.Sprintf(p.taken, owner))}
					}
				}
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
