package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/internal/delayproxy"

	"github.com/miekg/dns"
)

// target is a second real server, serving example.net, that a test can stop, change and restart.
type target struct {
	dir, corefile string
	port          int
	metrics       string
	serial        int
	s             *server
}

func newTarget(tb testing.TB, wwwAddr string) *target {
	tb.Helper()
	tg := &target{dir: tb.TempDir(), port: freePort(tb), metrics: fmt.Sprintf("127.0.0.1:%d", freePort(tb))}
	// The file plugin rereads the zone when its serial grows: changes need no restart (whose gap
	// would make a refresh fail).
	tg.corefile = fmt.Sprintf("example.net:{{PORT}} {\n    bind 127.0.0.1\n    prometheus %s\n    file %s {\n        reload 100ms\n    }\n}\n",
		tg.metrics, filepath.Join(tg.dir, "db.example.net"))
	tg.write(tb, wwwAddr)
	tg.s = startOn(tb, tg.port, tg.corefile)
	return tg
}

// write sets the address of www.example.net (TTL 2) in the target's zone file, with a new serial.
func (tg *target) write(tb testing.TB, wwwAddr string) {
	tb.Helper()
	tg.writeZone(tb, "www       2 IN A   "+wwwAddr+"\nshops    60 IN A   192.0.2.40\n")
}

// writeZone replaces the target's zone below its SOA and NS with body, with a new serial.
func (tg *target) writeZone(tb testing.TB, body string) {
	tb.Helper()
	tg.serial++
	zone := `$ORIGIN example.net.
@      3600 IN SOA ns1.example.net. hostmaster.example.net. ` + fmt.Sprint(tg.serial) + ` 7200 3600 1209600 300
@      3600 IN NS  ns1.example.net.
` + body
	if err := os.WriteFile(filepath.Join(tg.dir, "db.example.net"), []byte(zone), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func (tg *target) restart(tb testing.TB) {
	tb.Helper()
	tg.s.stop()
	tg.s = startOn(tb, tg.port, tg.corefile)
}

func (tg *target) requests(tb testing.TB) float64 {
	tb.Helper()
	return metric(tb, tg.metrics, "coredns_dns_requests_total")
}

// eventually polls f until it returns nil, failing the test with its last error after timeout.
func eventually(tb testing.TB, timeout time.Duration, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func edeOf(m *dns.Msg) string {
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_EDE); ok {
				return fmt.Sprintf("%d: %s", e.InfoCode, e.ExtraText)
			}
		}
	}
	return ""
}

// answer summarises an A answer as "owner ttl address ..." for comparisons in polls.
func answer(m *dns.Msg) string {
	var b strings.Builder
	b.WriteString(dns.RcodeToString[m.Rcode])
	for _, rr := range m.Answer {
		fmt.Fprintf(&b, " %s %d %s", rr.Header().Name, rr.Header().Ttl, strings.Join(strings.Fields(rr.String())[3:], " "))
	}
	return b.String()
}

const resolverCorefile = `example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    flatten {
        resolver 127.0.0.1:%d
        alias shop.example.org shops.example.net
        alias fallback.example.org down.example.net
        ttl 1 3600
    }
    file {{DIR}}/db.aliases.example.org example.org
}
`

// The apex alias resolved through 'resolver' against a real server that the test changes, stops
// and restarts: the answer, its TTL counting down, the change followed within the TTL, the stale
// answer with extended error 3 while the target is down, and recovery when it returns.
func TestResolverTarget(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "192.0.2.10")
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, fmt.Sprintf(resolverCorefile, metrics, tg.port))

	check(t, s.query(t, "udp", "example.org.", dns.TypeA),
		test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("example.org. 2 IN A 192.0.2.10")}}, "")
	// The TTL counts down from the cache.
	eventually(t, 3*time.Second, func() error {
		if got := answer(s.query(t, "udp", "example.org.", dns.TypeA)); got != "NOERROR example.org. 1 A 192.0.2.10" {
			return fmt.Errorf("answer %q, want the TTL counted down to 1", got)
		}
		return nil
	})

	// The target changes: the answer follows once the 2 s TTL has run out.
	tg.write(t, "192.0.2.20")
	eventually(t, 5*time.Second, func() error {
		if got := answer(tg.s.query(t, "udp", "www.example.net.", dns.TypeA)); !strings.HasSuffix(got, " A 192.0.2.20") {
			return fmt.Errorf("the target server answers %q, not yet the new address", got)
		}
		return nil
	})
	eventually(t, 5*time.Second, func() error {
		if got := answer(s.query(t, "tcp", "example.org.", dns.TypeA)); got != "NOERROR example.org. 2 A 192.0.2.20" &&
			got != "NOERROR example.org. 1 A 192.0.2.20" {
			return fmt.Errorf("answer %q, want the new address", got)
		}
		return nil
	})

	// The target goes down: the last answer is served stale, TTL 30, with extended error 3.
	tg.s.stop()
	eventually(t, 5*time.Second, func() error {
		m := s.query(t, "udp", "example.org.", dns.TypeA)
		if got, e := answer(m), edeOf(m); got != "NOERROR example.org. 30 A 192.0.2.20" ||
			!strings.HasPrefix(e, "3: refresh of www.example.net. failed: ") {
			return fmt.Errorf("answer %q with extended error %q, want a stale answer", got, e)
		}
		return nil
	})
	s.waitLog(t, "[WARNING] plugin/flatten: www.example.net.: serving stale data: ")
	if n := metric(t, metrics, "coredns_flatten_stale_answers_total"); n < 1 {
		t.Errorf("coredns_flatten_stale_answers_total = %v, want at least 1", n)
	}

	// The declared alias whose target is cached is served stale too; the one whose target never
	// resolved falls back to the zone's own address, marked as standing in for a failed lookup:
	// TTL 30 (not the zone's 3600, which would outlast the outage), the failure as an extended
	// error, a log line and a count.
	m := s.query(t, "udp", "fallback.example.org.", dns.TypeA)
	if got, e := answer(m), edeOf(m); got != "NOERROR fallback.example.org. 30 A 198.51.100.9" ||
		!strings.HasPrefix(e, "23: lookup of target down.example.net. A failed: ") || !strings.HasSuffix(e, "; answered from the zone's own records") {
		t.Errorf("fallback.example.org. A: answer %q with extended error %q, want the zone's address at TTL 30 with extended error 23", got, e)
	}
	if len(m.Ns) != 1 || m.Ns[0].Header().Ttl != 30 {
		t.Errorf("fallback.example.org. A: authority %v, want the NS at TTL 30", m.Ns)
	}
	s.waitLog(t, "[WARNING] plugin/flatten: fallback.example.org. A: lookup of target down.example.net. A failed: ")
	if n := metric(t, metrics, "coredns_flatten_fallback_answers_total"); n < 1 {
		t.Errorf("coredns_flatten_fallback_answers_total = %v, want at least 1", n)
	}

	// The target returns: after RFC 8767's 30 s failure recheck time, fresh answers again.
	tg.restart(t)
	eventually(t, 40*time.Second, func() error {
		m := s.query(t, "udp", "example.org.", dns.TypeA)
		if got, e := answer(m), edeOf(m); e != "" || !strings.HasPrefix(got, "NOERROR example.org. ") || !strings.HasSuffix(got, " A 192.0.2.20") {
			return fmt.Errorf("answer %q with extended error %q, want a fresh answer", got, e)
		}
		return nil
	})
	for _, m := range []string{"coredns_flatten_cache_hits_total", "coredns_flatten_cache_misses_total", "coredns_flatten_lookups_total", "coredns_flatten_refreshes_total",
		"coredns_flatten_lookup_failures_total", "coredns_flatten_flattened_total", "coredns_flatten_lookup_duration_seconds_count"} {
		if n := metric(t, metrics, m); n < 1 {
			t.Errorf("%s = %v, want at least 1", m, n)
		}
	}
}

// A slow target: answers that come within the resolver's 2 s are used; slower ones time out, and
// the last answer is served stale meanwhile.
func TestSlowTarget(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "192.0.2.10")
	proxy, err := delayproxy.New(tg.s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	port := proxy.Addr().Port
	s := start(t, fmt.Sprintf(resolverCorefile, fmt.Sprintf("127.0.0.1:%d", freePort(t)), port))

	proxy.SetDelay(300 * time.Millisecond)
	check(t, s.query(t, "udp", "example.org.", dns.TypeA),
		test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("example.org. 2 IN A 192.0.2.10")}}, "")

	proxy.SetDelay(3 * time.Second)
	time.Sleep(2100 * time.Millisecond) // let the 2 s entry expire (and any refresh in flight fail)
	start := time.Now()
	eventually(t, 10*time.Second, func() error {
		m := s.query(t, "udp", "example.org.", dns.TypeA)
		if got, e := answer(m), edeOf(m); got != "NOERROR example.org. 30 A 192.0.2.10" ||
			!strings.HasPrefix(e, "3: refresh of www.example.net. failed: ") {
			return fmt.Errorf("answer %q with extended error %q, want a stale answer", got, e)
		}
		return nil
	})
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("the stale answer took %s: more than the resolver's timeout", waited)
	}
}

// Declared aliases: A from the target, other types from the zone, the zone's own address when the
// target does not exist.
func TestDeclaredAliases(t *testing.T) {
	tg := newTarget(t, "192.0.2.10")
	s := startHere(t, fmt.Sprintf(resolverCorefile, fmt.Sprintf("127.0.0.1:%d", freePort(t)), tg.port))
	for _, network := range []string{"udp", "tcp"} {
		check(t, s.query(t, network, "Shop.Example.Org.", dns.TypeA), test.Case{Qname: "Shop.Example.Org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("Shop.Example.Org. 60 IN A 192.0.2.40")}}, "")
		check(t, s.query(t, network, "shop.example.org.", dns.TypeMX), test.Case{Qname: "shop.example.org.", Qtype: dns.TypeMX,
			Answer: []dns.RR{test.MX("shop.example.org. 3600 IN MX 10 mx.example.net.")},
			Ns:     []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")}}, "")
		check(t, s.query(t, network, "fallback.example.org.", dns.TypeA), test.Case{Qname: "fallback.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("fallback.example.org. 3600 IN A 198.51.100.9")},
			Ns:     []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")}}, "")
	}
}

// 1,000 concurrent questions for a cold alias cost the target server one question: through
// 'resolver', and through a forward block that the file plugin's own chase goes to.
func TestOneUpstreamQuery(t *testing.T) {
	for _, tc := range []struct{ name, corefile string }{
		{"resolver", `example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        resolver 127.0.0.1:%d
    }
    file {{DIR}}/db.aliases.example.org example.org
}
`},
		{"forward", `example.org:{{PORT}} {
    bind 127.0.0.1
    flatten
    file {{DIR}}/db.aliases.example.org example.org
}
.:{{PORT}} {
    bind 127.0.0.1
    forward . 127.0.0.1:%d
}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t, "192.0.2.10")
			s := start(t, fmt.Sprintf(tc.corefile, tg.port))
			// The start-up audit asks the resolver its own questions (is the SOA MNAME an alias? does
			// the chain's end exist?); they are all asked before its summary is logged.
			s.waitLog(t, "plugin/flatten: audit of example.org.")
			before := tg.requests(t)

			const n = 1000
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				bad  []string
				sent = make(chan struct{}, n) // all in flight at once
			)
			for range n {
				wg.Go(func() {
					sent <- struct{}{}
					defer func() { <-sent }()
					m := new(dns.Msg)
					m.SetQuestion("example.org.", dns.TypeA)
					c := &dns.Client{Timeout: 3 * time.Second}
					r, _, err := c.Exchange(m, s.addr)
					if err != nil {
						r, _, err = c.Exchange(m, s.addr) // one retry for a dropped datagram
					}
					if err != nil || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.10" {
						mu.Lock()
						bad = append(bad, fmt.Sprint(r, err))
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(bad) > 0 {
				t.Fatalf("%d of %d questions got a wrong answer, e.g. %s", len(bad), n, bad[0])
			}
			if got := tg.requests(t) - before; got != 1 {
				t.Errorf("%d questions cost the target server %v questions, want 1", n, got)
			}
		})
	}
}
