package main

// The linter's own DNS client for names outside the zones (-resolver), with no CoreDNS package.

import (
	"context"
	"time"

	"github.com/dnsflatten/flatten/plugin/probe"
	"github.com/dnsflatten/flatten/plugin/rules"

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
		return nil, rules.WithoutSource(err)
	}
	if err := probe.Matches(q, m); err != nil {
		return nil, err
	}
	return m, nil
}

// answers asks the resolver one question, the root's NS, twice at most, and returns what kept it
// from answering: a resolver that answers nothing is found before any zone is read, not after
// a timeout for every name. Any reply will do, a refusal included; what it refuses is then
// reported name by name.
func (r *resolver) answers(ctx context.Context) error {
	var err error
	for range 2 {
		if _, err = r.Lookup(ctx, ".", dns.TypeNS); err == nil {
			return nil
		}
	}
	return err
}

// down stands for a resolver that did not answer the first question: every lookup fails at once
// with that question's error, and each name is reported as not checked.
type down struct{ err error }

// Lookup implements rules.Oracle.
func (d down) Lookup(context.Context, string, uint16) (*dns.Msg, error) { return nil, d.err }
