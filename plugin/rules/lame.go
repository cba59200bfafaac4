package rules

// The lame-delegation rule: the name servers of a delegation (and of a zone's apex) must serve
// the delegated zone. One that answers REFUSED or SERVFAIL, or no SOA, does not: at a DNS hosting
// provider where anyone can create a zone, anyone can then take the delegated name.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Prober asks a name server directly (not through a recursive resolver, without recursion)
// about a name: server is the name server's host name, which the Prober resolves itself.
type Prober interface {
	Probe(ctx context.Context, server string, name string, qtype uint16) (*dns.Msg, error)
}

// delegation queues the probes of the name servers of node id, a delegation or an apex.
func (c *checker) delegation(id int32) {
	nd := &c.ix.nodes[id]
	zone := nd.name
	var servers []string
	var record string
	c.ix.records(id, func(rr dns.RR) {
		if ns, ok := rr.(*dns.NS); ok && !slices.Contains(servers, dns.CanonicalName(ns.Ns)) {
			servers = append(servers, dns.CanonicalName(ns.Ns))
			if record == "" {
				record = rr.String()
			}
		}
	})
	if len(servers) == 0 {
		return
	}
	c.later(func() []Finding {
		var lame, why []string
		var host Provider
		for _, server := range servers {
			m, err := c.cfg.Prober.Probe(c.ctx, server, zone, dns.TypeSOA)
			if err != nil {
				continue // no answer: not known here
			}
			var answer string
			switch {
			case m.Rcode != dns.RcodeSuccess:
				answer = "answers " + dns.RcodeToString[m.Rcode]
			case !hasSOA(m, zone):
				answer = "answers with no SOA"
			default:
				continue
			}
			lame, why = append(lame, server), append(why, server+" "+answer)
			if p, ok := DNSHosts.MatchHost(server); ok && (host.Claim == Unknown || p.Claim < host.Claim) {
				host = p // Vulnerable before Edge before NotVulnerable
			}
		}
		if len(lame) == 0 {
			return nil
		}
		return []Finding{lameFinding(zone, record, lame, why, host, nd.flags&fApex != 0)}
	})
}

// hasSOA reports whether m's answer holds the SOA of zone.
func hasSOA(m *dns.Msg, zone string) bool {
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == dns.TypeSOA && strings.EqualFold(rr.Header().Name, zone) {
			return true
		}
	}
	return false
}

// lameFinding is the finding for the delegation of zone (record, one of its NS records) to lame
// servers (why says how each answered); host is the DNS hosting provider of the worst of them, if
// known.
func lameFinding(zone, record string, lame, why []string, host Provider, apex bool) Finding {
	of := "delegation of " + zone
	if apex {
		of = "apex NS set of " + zone
	}
	f := Finding{Severity: Warning, Rule: RuleLame, Owner: zone, Record: record,
		RFC:     "RFC 1034 4.2.2, RFC 9499 7 (lame delegation)",
		Message: fmt.Sprintf("lame %s: the zone is not served by %s (%s)", of, strings.Join(lame, ", "), strings.Join(why, "; ")),
		Fix:     fmt.Sprintf("create the zone %s on %s again, or remove those NS records", zone, strings.Join(lame, ", "))}
	switch host.Claim {
	case Vulnerable:
		f.Severity = Critical
		f.Message += fmt.Sprintf(": anyone with an account at %s can create the zone there and answer for %s (a DNS takeover)", host.Note, zone)
		f.Fix = fmt.Sprintf("create the zone %s at %s now, or remove those NS records", zone, host.Note)
	case Edge:
		f.Severity = Critical
		f.Message += fmt.Sprintf(": others may create the zone at %s under conditions and answer for %s (a DNS takeover)", host.Note, zone)
		f.Fix = fmt.Sprintf("create the zone %s at %s now, or remove those NS records", zone, host.Note)
	case NotVulnerable:
		f.Message += fmt.Sprintf(" (%s does not let others create it: %s)", host.Suffix, host.Note)
	}
	return f
}
