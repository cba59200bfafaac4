package rules

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// slowOracle answers every question after a pause, or when the context ends, whichever is first.
type slowOracle struct{ pause time.Duration }

func (o slowOracle) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(o.pause):
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Rcode = dns.RcodeNameError
	return m, nil
}

// million is a zone of 1,000,000 records: hosts, aliases of them, aliases of outside names (each
// a question to the oracle) and mail exchanges.
func million() Zone {
	const n = 250_000
	z := Zone{Origin: "example.org.", Records: make([]dns.RR, 0, 4*n)}
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 3600}
	}
	for i := range n {
		host := fmt.Sprintf("h%d.example.org.", i)
		z.Records = append(z.Records,
			&dns.A{Hdr: hdr(host, dns.TypeA), A: net.IPv4(192, 0, 2, byte(i))},
			&dns.CNAME{Hdr: hdr(fmt.Sprintf("c%d.example.org.", i), dns.TypeCNAME), Target: host},
			&dns.CNAME{Hdr: hdr(fmt.Sprintf("x%d.example.org.", i), dns.TypeCNAME), Target: fmt.Sprintf("t%d.example.net.", i)},
			&dns.MX{Hdr: hdr(fmt.Sprintf("m%d.example.org.", i), dns.TypeMX), Preference: 10, Mx: host})
	}
	return z
}

// Run stops soon after its context ends, at whatever stage it is (the index, the chains, the
// rules, the questions to the oracle), with the findings made by then; a newer serial thus
// supersedes an audit still running on a large zone.
func TestRunStopsWhenCancelled(t *testing.T) {
	zones := []Zone{million()}
	cfg := Config{Oracle: slowOracle{pause: 5 * time.Millisecond}}

	// The bound is relative to what a whole pass without questions costs on this machine now, so
	// that a loaded machine (the packages' tests run side by side) does not fail it: a Run that
	// ignored its context would take the whole pass and more, one that notices it a fraction.
	began := time.Now()
	Run(context.Background(), zones, Config{})
	pass := time.Since(began)
	bound := max(750*time.Millisecond, pass/2)
	t.Logf("a whole pass without questions: %v; bound after a cancel: %v", pass, bound)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began = time.Now()
	res := Run(ctx, zones, cfg)
	if took := time.Since(began); took > 100*time.Millisecond || !res.Incomplete || len(res.Findings) != 0 || res.Lookups != 0 {
		t.Errorf("cancelled before: %v, incomplete %v, %d findings, %d lookups", took, res.Incomplete, len(res.Findings), res.Lookups)
	}

	for _, after := range []time.Duration{10 * time.Millisecond, 300 * time.Millisecond, 800 * time.Millisecond, 1500 * time.Millisecond, 2500 * time.Millisecond} {
		t.Run(after.String(), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan Result, 1)
			go func() { done <- Run(ctx, zones, cfg) }()
			time.Sleep(after)
			cancel()
			cancelled := time.Now()
			select {
			case res := <-done:
				took := time.Since(cancelled)
				t.Logf("returned %v after the cancel: %d findings, %d lookups", took, len(res.Findings), res.Lookups)
				if took > bound {
					t.Errorf("returned %v after the cancel, want under %v (half a whole pass)", took, bound)
				}
				if !res.Incomplete {
					t.Error("not marked incomplete")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still running 5 s after the cancel")
			}
		})
	}
}
