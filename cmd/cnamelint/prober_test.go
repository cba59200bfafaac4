package main

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// The prober finds a name server's address through the resolver once, asks it without recursion
// on the test port, and hands back its answer, REFUSED included; a server with no address is an
// error, not an answer.
func TestProber(t *testing.T) {
	var rd, lookups atomic.Int32
	addr := testServer(t, func(r *dns.Msg, _ bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case q.Name == "ns1.hosts.example.net." && q.Qtype == dns.TypeA:
			lookups.Add(1)
			a, _ := dns.NewRR("ns1.hosts.example.net. 60 IN A 127.0.0.1")
			m.Answer = []dns.RR{a}
		case q.Name == "ns1.hosts.example.net.":
			lookups.Add(1)
		case q.Name == "served.example.org." && q.Qtype == dns.TypeSOA:
			if r.RecursionDesired {
				rd.Add(1)
			}
			m.Authoritative = true
			soa, _ := dns.NewRR("served.example.org. 60 IN SOA ns1.hosts.example.net. h. 1 2 3 4 5")
			m.Answer = []dns.RR{soa}
		default:
			m.Rcode = dns.RcodeRefused
		}
		return m
	})
	_, port, _ := net.SplitHostPort(addr)
	t.Setenv(probePortEnv, port)
	p := newProber(newResolver(addr))
	ctx := context.Background()
	for range 3 {
		m, err := p.Probe(ctx, "ns1.hosts.example.net.", "served.example.org.", dns.TypeSOA)
		if err != nil || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
			t.Fatalf("%v %v", m, err)
		}
	}
	if m, err := p.Probe(ctx, "ns1.hosts.example.net.", "gone.example.org.", dns.TypeSOA); err != nil || m.Rcode != dns.RcodeRefused {
		t.Errorf("%v %v", m, err)
	}
	if rd.Load() != 0 || lookups.Load() != 2 {
		t.Errorf("%d questions with recursion desired, %d address lookups (want 0 and 2: A and AAAA once)", rd.Load(), lookups.Load())
	}
	if _, err := p.Probe(ctx, "nowhere.example.net.", "served.example.org.", dns.TypeSOA); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("a server without an address: %v", err)
	}
	// -probe-ns needs -resolver.
	if _, stderr, code := runLint("-probe-ns", testdata+"siblings.example.org"); code != 2 || !strings.Contains(stderr, usage) {
		t.Errorf("-probe-ns alone: exit %d", code)
	}
}
