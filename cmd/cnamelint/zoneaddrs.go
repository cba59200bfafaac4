package main

// The addresses of name servers that the zones checked hold themselves, for -probe-ns.

import (
	"context"
	"strings"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// zoneAddrs answers the prober's questions for the addresses of name servers inside the zones
// checked from the zones' own records (glue included), and asks the resolver about the rest: a
// delegation to ns1.example.org, whose address only example.org holds, is probed too, as the
// server's audit probes it.
type zoneAddrs struct {
	zones []string            // origins, lower-case
	addrs map[string][]dns.RR // lower-case owner -> its A and AAAA records in the zones
	next  rules.Oracle
}

func newZoneAddrs(zones []rules.Zone, next rules.Oracle) *zoneAddrs {
	z := &zoneAddrs{addrs: map[string][]dns.RR{}, next: next}
	for _, zone := range zones {
		z.zones = append(z.zones, strings.ToLower(dns.Fqdn(zone.Origin)))
		for _, rr := range zone.Records {
			if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
				owner := strings.ToLower(rr.Header().Name)
				z.addrs[owner] = append(z.addrs[owner], rr)
			}
		}
	}
	return z
}

// Lookup implements rules.Oracle.
func (z *zoneAddrs) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	owner := strings.ToLower(dns.Fqdn(name))
	in := false
	for _, origin := range z.zones {
		in = in || dns.IsSubDomain(origin, owner)
	}
	if !in {
		return z.next.Lookup(ctx, name, qtype)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.Response = true
	for _, rr := range z.addrs[owner] {
		if rr.Header().Rrtype == qtype {
			m.Answer = append(m.Answer, rr)
		}
	}
	return m, nil
}
