package main

// The linter's own DNS client for names outside the zones (-resolver), with no CoreDNS package.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	if err := matches(q, m); err != nil {
		return nil, fmt.Errorf("%s %s at %s: %w", name, dns.TypeToString[qtype], r.addr, err)
	}
	return m, nil
}

var errMismatch = errors.New("the reply does not answer the question")

// matches checks that m is a reply to q: its ID (which the client checks too), and the same
// question.
func matches(q, m *dns.Msg) error {
	if !m.Response || m.Id != q.Id || len(m.Question) != 1 {
		return errMismatch
	}
	a, b := q.Question[0], m.Question[0]
	if !strings.EqualFold(a.Name, b.Name) || a.Qtype != b.Qtype || a.Qclass != b.Qclass {
		return errMismatch
	}
	return nil
}
