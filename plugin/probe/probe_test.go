package probe

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsflatten/flatten/internal/loopback"

	"github.com/miekg/dns"
)

// oracleFunc is a rules.Oracle from a function.
type oracleFunc func(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)

func (f oracleFunc) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	return f(ctx, name, qtype)
}

// nameServer serves answer over UDP and TCP on one loopback port and returns the port.
func nameServer(t *testing.T, answer func(r *dns.Msg, tcp bool) *dns.Msg) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(loopback.Serve(t, answer))
	return port
}

// The prober finds a name server's address through the oracle once, asks it without recursion on
// the port given, and hands back its answer, REFUSED included; a truncated reply is asked again
// over TCP; a server with no address is an error, not an answer.
func TestProbe(t *testing.T) {
	t.Parallel()
	var rd, lookups, overTCP atomic.Int32
	o := oracleFunc(func(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
		lookups.Add(1)
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		if name == "ns1.hosts.example.net." && qtype == dns.TypeA {
			a, _ := dns.NewRR("ns1.hosts.example.net. 60 IN A 127.0.0.1")
			m.Answer = []dns.RR{a}
		}
		return m, nil
	})
	port := nameServer(t, func(r *dns.Msg, tcp bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.RecursionDesired {
			rd.Add(1)
		}
		switch q := r.Question[0]; {
		case q.Name == "big.example.org." && !tcp:
			m.Truncated = true
		case q.Name == "served.example.org." || q.Name == "big.example.org.":
			if tcp {
				overTCP.Add(1)
			}
			m.Authoritative = true
			soa, _ := dns.NewRR(q.Name + " 60 IN SOA ns1.hosts.example.net. h. 1 2 3 4 5")
			m.Answer = []dns.RR{soa}
		default:
			m.Rcode = dns.RcodeRefused
		}
		return m
	})
	p := New(o, port)
	ctx := context.Background()
	for range 3 {
		m, err := p.Probe(ctx, "NS1.hosts.example.net.", "served.example.org.", dns.TypeSOA)
		if err != nil || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
			t.Fatalf("%v %v", m, err)
		}
	}
	if m, err := p.Probe(ctx, "ns1.hosts.example.net.", "gone.example.org.", dns.TypeSOA); err != nil || m.Rcode != dns.RcodeRefused {
		t.Errorf("%v %v", m, err)
	}
	if m, err := p.Probe(ctx, "ns1.hosts.example.net.", "big.example.org.", dns.TypeSOA); err != nil || len(m.Answer) != 1 || overTCP.Load() != 1 {
		t.Errorf("truncated: %v %v, %d over TCP", m, err, overTCP.Load())
	}
	if rd.Load() != 0 || lookups.Load() != 2 {
		t.Errorf("%d questions with recursion desired, %d address lookups (want 0 and 2: A and AAAA once)", rd.Load(), lookups.Load())
	}
	if _, err := p.Probe(ctx, "nowhere.example.net.", "served.example.org.", dns.TypeSOA); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("a server without an address: %v", err)
	}
}

// A reply counts only when it answers the question asked.
func TestMatches(t *testing.T) {
	t.Parallel()
	q := new(dns.Msg)
	q.SetQuestion("a.example.", dns.TypeA)
	ok := new(dns.Msg)
	ok.SetReply(q)
	ok.Question[0].Name = "A.Example."
	other := ok.Copy()
	other.Question[0].Qtype = dns.TypeAAAA
	notReply := ok.Copy()
	notReply.Response = false
	for _, c := range []struct {
		m    *dns.Msg
		want error
	}{{ok, nil}, {other, ErrMismatch}, {notReply, ErrMismatch}} {
		if err := Matches(q, c.m); err != c.want {
			t.Errorf("%v: %v, want %v", c.m.Question, err, c.want)
		}
	}
}

// A probe whose context ends while the name server's addresses are being found returns without
// them, and leaves them to be found for the next caller, whose context is live; Forget has them
// found again.
func TestProbeCancelledAndForget(t *testing.T) {
	t.Parallel()
	var lookups atomic.Int32
	release := make(chan struct{})
	o := oracleFunc(func(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
		if lookups.Add(1) == 1 {
			<-release // the first lookup is slow
		}
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		if qtype == dns.TypeA {
			a, _ := dns.NewRR(name + " 60 IN A 127.0.0.1")
			m.Answer = []dns.RR{a}
		}
		return m, nil
	})
	port := nameServer(t, func(r *dns.Msg, _ bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		soa, _ := dns.NewRR(r.Question[0].Name + " 60 IN SOA ns1.host.example. h. 1 2 3 4 5")
		m.Answer = []dns.RR{soa}
		return m
	})
	p := New(o, port)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := p.Probe(ctx, "ns1.host.example.", "a.example.org.", dns.TypeSOA)
		done <- err
	}()
	for lookups.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel() // the check is superseded while the address is being found
	close(release)
	<-done // no panic; the probe itself may fail with the cancelled context
	if m, err := p.Probe(context.Background(), "ns1.host.example.", "a.example.org.", dns.TypeSOA); err != nil || len(m.Answer) != 1 {
		t.Fatalf("the next probe: %v, %v", m, err)
	}
	if n := lookups.Load(); n != 2 {
		t.Errorf("%d address lookups, want 2 (A and AAAA, once)", n)
	}
	p.Forget()
	if _, err := p.Probe(context.Background(), "ns1.host.example.", "a.example.org.", dns.TypeSOA); err != nil {
		t.Fatal(err)
	}
	if n := lookups.Load(); n != 4 {
		t.Errorf("%d address lookups after Forget, want 4: found again", n)
	}
}
