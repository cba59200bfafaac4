package main

// The linter's own DNS client for names outside the zones (-resolver), with no CoreDNS package.

import (
	"context"
	"fmt"
	"time"

	"github.com/dnsflatten/flatten/plugin/probe"

	"github.com/miekg/dns"
)

// resolver asks one recursive resolver about names outside the zones: UDP with an EDNS buffer of
// 1232 octets (the DNS flag day 2020 size), TCP again when the answer is truncated, 2 seconds for
// each, and a reply counts only when it answers the question asked.
type resolver struct {
	addr     string
	udp, tcp *dns.Client
}

func newResolver(addr string) *resolver {
	return &resolver{addr: addr,
		udp: &dns.Client{Net: "udp", UDPSize: 1232, Timeout: 2 * time.Second},
		tcp: &dns.Client{Net: "tcp", Timeout: 2 * time.Second}}
}

// Lookup implements rules.Oracle.
func (r *resolver) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.SetEdns0(1232, false)
	m, _, err := r.udp.ExchangeContext(ctx, q, r.addr)
	if err == nil && m.Truncated {
		m, _, err = r.tcp.ExchangeContext(ctx, q, r.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s at %s: %w", name, dns.TypeToString[qtype], r.addr, err)
	}
	if err := probe.Matches(q, m); err != nil {
		return nil, fmt.Errorf("%s %s at %s: %w", name, dns.TypeToString[qtype], r.addr, err)
	}
	return m, nil
}
