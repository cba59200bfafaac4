package main

// The name server prober for the lame-delegation rule: it finds a name server's addresses through
// the resolver and asks each address directly, without recursion, on port 53 (or the port in
// CNAMELINT_PROBE_PORT, for tests that run name servers on loopback ports).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// probePortEnv names the environment variable that moves the probes off port 53, for tests.
const probePortEnv = "CNAMELINT_PROBE_PORT"

// prober implements rules.Prober.
type prober struct {
	res      *resolver
	port     string
	udp, tcp *dns.Client
	addrs    sync.Map // name server (lower-case) -> func() []string, its addresses found once
}

func newProber(res *resolver) *prober {
	port := "53"
	if p := os.Getenv(probePortEnv); p != "" {
		port = p
	}
	return &prober{res: res, port: port,
		udp: &dns.Client{Net: "udp", UDPSize: 1232, Timeout: 2 * time.Second},
		tcp: &dns.Client{Net: "tcp", Timeout: 2 * time.Second}}
}

// Probe asks server, by each of its addresses in turn until one answers, about name.
func (p *prober) Probe(ctx context.Context, server, name string, qtype uint16) (*dns.Msg, error) {
	addrs := p.resolve(ctx, server)
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s: no address", server)
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.RecursionDesired = false
	q.SetEdns0(1232, false)
	var errs []error
	for _, a := range addrs {
		addr := net.JoinHostPort(a, p.port)
		m, _, err := p.udp.ExchangeContext(ctx, q, addr)
		if err == nil && m.Truncated {
			m, _, err = p.tcp.ExchangeContext(ctx, q, addr)
		}
		if err == nil {
			err = matches(q, m)
		}
		if err == nil {
			return m, nil
		}
		errs = append(errs, fmt.Errorf("%s at %s: %w", server, addr, err))
	}
	return nil, errors.Join(errs...)
}

// resolve returns the IPv4 and IPv6 addresses of a name server, asking the resolver once.
func (p *prober) resolve(ctx context.Context, server string) []string {
	find := sync.OnceValue(func() []string { return p.lookup(ctx, server) })
	f, _ := p.addrs.LoadOrStore(dns.CanonicalName(server), find)
	return f.(func() []string)()
}

// lookup asks the resolver for the A and AAAA records of a name server.
func (p *prober) lookup(ctx context.Context, server string) []string {
	var addrs []string
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		m, err := p.res.Lookup(ctx, server, t)
		if err != nil {
			continue
		}
		for _, rr := range m.Answer {
			switch rr := rr.(type) {
			case *dns.A:
				addrs = append(addrs, rr.A.String())
			case *dns.AAAA:
				addrs = append(addrs, rr.AAAA.String())
			}
		}
	}
	return addrs
}
