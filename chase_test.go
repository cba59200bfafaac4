package flatten

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// apexNext answers example.org A/AAAA with the apex CNAME alone, as a backend that does not chase.
var apexNext = handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	switch {
	case chain.Equal(r.Question[0].Name, "example.org.") && r.Question[0].Qtype == dns.TypeSOA:
		m.Answer = []dns.RR{soaOrg}
	case chain.Equal(r.Question[0].Name, "example.org."):
		m.Answer = []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net.")}
	default:
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
})

func newCached(t *testing.T, opts ...func(*config)) (*Flatten, *backend, *clock) {
	t.Helper()
	u := &backend{rrs: []dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10")}}
	f, clk := newTest(t, apexNext, u, opts...)
	return f, u, clk
}

func apexA(ttl int, addr string) test.Case {
	return test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("example.org. " + strconv.Itoa(ttl) + " IN A " + addr)}}
}

func servfailCase() test.Case {
	return test.Case{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure}
}

func TestCacheCountsDown(t *testing.T) {
	f, u, clk := newCached(t)
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(60, "192.0.2.10"), "")
	clk.advance(20 * time.Second)
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(40, "192.0.2.10"), "")
	if n := u.calls.Load(); n != 1 {
		t.Errorf("lookups = %d, want 1: the second answer comes from the cache", n)
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	f, u, clk := newCached(t)
	ask(t, f, "example.org.", dns.TypeA)
	u.set([]dns.RR{test.A("www.example.net. 60 IN A 192.0.2.20")}, nil)
	clk.advance(55 * time.Second) // in the last tenth of the 60s
	// Still answered from the cache at once; the question starts a refresh.
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(5, "192.0.2.10"), "")
	f.chase.Settle()
	if n := u.calls.Load(); n != 2 {
		t.Fatalf("lookups = %d, want 2 (one refresh)", n)
	}
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(60, "192.0.2.20"), "")
}

func TestStaleAnswers(t *testing.T) {
	f, u, clk := newCached(t, func(c *config) { c.maxStale = time.Hour })
	ask(t, f, "example.org.", dns.TypeA)
	u.set(nil, map[string]int{"www.example.net.": -1})

	clk.advance(61 * time.Second)
	const staleEDE = "3: refresh of www.example.net. failed: lookup of target www.example.net. A failed: i/o timeout"
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(30, "192.0.2.10"), staleEDE)
	// Within 30s of the failure stale data is served without asking again (RFC 8767 section 5).
	calls := u.calls.Load()
	clk.advance(10 * time.Second)
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(30, "192.0.2.10"),
		"3: refresh of www.example.net. failed: the last refresh failed less than 30s ago")
	if n := u.calls.Load(); n != calls {
		t.Errorf("lookups went from %d to %d within the failure recheck time", calls, n)
	}
	// Recovery.
	u.set([]dns.RR{test.A("www.example.net. 60 IN A 192.0.2.30")}, nil)
	clk.advance(30 * time.Second)
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(60, "192.0.2.30"), "")

	// Past max_stale: SERVFAIL with the lookup's error.
	u.set(nil, map[string]int{"www.example.net.": -1})
	clk.advance(2 * time.Hour)
	expect(t, ask(t, f, "example.org.", dns.TypeA), servfailCase(), "23: lookup of target www.example.net. A failed: i/o timeout")
}

func TestStaleDisabled(t *testing.T) {
	f, u, clk := newCached(t, func(c *config) { c.maxStale = 0 })
	ask(t, f, "example.org.", dns.TypeA)
	u.set(nil, map[string]int{"www.example.net.": -1})
	clk.advance(61 * time.Second)
	expect(t, ask(t, f, "example.org.", dns.TypeA), servfailCase(), "23: lookup of target www.example.net. A failed: i/o timeout")
}

// A loop found after a change is a fact about the data: SERVFAIL with the loop's error at once,
// never the old addresses served stale; a referral neither.
func TestDefinitiveErrorsNotStale(t *testing.T) {
	f, u, clk := newCached(t, func(c *config) { c.maxStale = time.Hour })
	ask(t, f, "example.org.", dns.TypeA)
	u.set([]dns.RR{test.CNAME("www.example.net. 60 IN CNAME a.example.net."), test.CNAME("a.example.net. 60 IN CNAME www.example.net.")}, nil)
	clk.advance(61 * time.Second)
	expect(t, ask(t, f, "example.org.", dns.TypeA), servfailCase(),
		"0: CNAME loop: example.org. -> www.example.net. -> a.example.net. -> www.example.net.")
	// The loop is cached like an answer: no lookup for the next question.
	calls := u.calls.Load()
	expect(t, ask(t, f, "example.org.", dns.TypeA), servfailCase(),
		"0: CNAME loop: example.org. -> www.example.net. -> a.example.net. -> www.example.net.")
	if n := u.calls.Load(); n != calls {
		t.Errorf("a cached loop cost %d more lookups", n-calls)
	}
}

func TestTTLBounds(t *testing.T) {
	f, _, _ := newCached(t, func(c *config) { c.minTTL, c.maxTTL = 120, 200 })
	// The target's 60 is raised to 120.
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(120, "192.0.2.10"), "")
	f2, u2, _ := newCached(t, func(c *config) { c.minTTL, c.maxTTL = 0, 200 })
	u2.set([]dns.RR{test.A("www.example.net. 86400 IN A 192.0.2.10")}, nil)
	// The CNAME's 300 and the target's 86400 are both cut to 200.
	expect(t, ask(t, f2, "example.org.", dns.TypeA), apexA(200, "192.0.2.10"), "")
}

func TestSingleflight(t *testing.T) {
	f, u, _ := newCached(t)
	u.gate = make(chan struct{})
	const n = 1000
	var wg sync.WaitGroup
	replies := make([]*dns.Msg, n)
	for i := range n {
		wg.Go(func() {
			r := new(dns.Msg)
			r.SetQuestion("example.org.", dns.TypeA)
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			f.ServeDNS(context.Background(), rec, r)
			replies[i] = rec.Msg
		})
	}
	// Let the questions pile up on the one lookup, then let it answer.
	for u.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(u.gate)
	wg.Wait()
	if c := u.calls.Load(); c != 1 {
		t.Errorf("%d concurrent questions caused %d lookups, want 1", n, c)
	}
	for i, m := range replies {
		if m == nil || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.10" {
			t.Fatalf("reply %d: %v", i, m)
		}
	}
}

func TestDeclaredAlias(t *testing.T) {
	own := test.A("example.org. 3600 IN A 198.51.100.1") // the zone's record, as file shares it
	zone := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		switch r.Question[0].Qtype {
		case dns.TypeA:
			m.Answer = []dns.RR{own}
		case dns.TypeSOA:
			m.Answer = []dns.RR{soaOrg}
		default:
			m.Ns = []dns.RR{soaOrg}
		}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	declare := func(c *config) {
		c.maxStale = 0
		c.aliases = map[string]string{"example.org.": "www.example.net."}
	}
	u := &backend{rrs: []dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10")}}
	f, _ := newTest(t, zone, u, declare)

	// The target's addresses, not the zone's, while the target resolves.
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(60, "192.0.2.10"), "")
	// No AAAA at the target, no AAAA in the zone: NODATA with the zone's SOA.
	expect(t, ask(t, f, "example.org.", dns.TypeAAAA), test.Case{Qname: "example.org.", Qtype: dns.TypeAAAA,
		Ns: []dns.RR{test.SOA("example.org. 300 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")}}, "")
	// The target fails: the zone's own address is the fallback (the ANAME draft's sibling rule),
	// marked as a degraded answer: TTL 30, the failure as an extended error, and counted. The
	// zone's own record keeps its TTL.
	u2 := &backend{fail: map[string]int{"www.example.net.": -1}}
	f2, _ := newTest(t, zone, u2, declare)
	fallbacks := func() float64 {
		return metric("coredns_flatten_fallback_answers_total", "server", metrics.WithServer(context.Background()))
	}
	before := fallbacks()
	expect(t, ask(t, f2, "example.org.", dns.TypeA), apexA(30, "198.51.100.1"),
		"23: lookup of target www.example.net. A failed: i/o timeout; answered from the zone's own records")
	if n := fallbacks() - before; n != 1 {
		t.Errorf("fallback_answers_total grew by %v, want 1", n)
	}
	expect(t, ask(t, f2, "example.org.", dns.TypeA), apexA(30, "198.51.100.1"),
		"23: lookup of target www.example.net. A failed: i/o timeout; answered from the zone's own records")
	// The target loops: a fact about the data, reported as a loop (not a failed lookup); the zone's
	// own address stands in as it is.
	u3 := &backend{rrs: []dns.RR{test.CNAME("www.example.net. 300 IN CNAME www2.example.net."), test.CNAME("www2.example.net. 300 IN CNAME www.example.net.")}}
	f3, _ := newTest(t, zone, u3, declare)
	server := metrics.WithServer(context.Background())
	loops, fb := metric("coredns_flatten_loops_total", "server", server), fallbacks()
	expect(t, ask(t, f3, "example.org.", dns.TypeA), apexA(3600, "198.51.100.1"), "")
	if n := metric("coredns_flatten_loops_total", "server", server) - loops; n != 1 {
		t.Errorf("loops_total grew by %v, want 1", n)
	}
	if n := fallbacks() - fb; n != 0 {
		t.Errorf("fallback_answers_total grew by %v for a loop, want 0", n)
	}
	if own.Header().Ttl != 3600 {
		t.Errorf("the zone's own record now has TTL %d: the fallback changed it in place", own.Header().Ttl)
	}
	if u.calls.Load() == 0 || u2.calls.Load() == 0 {
		t.Error("the target was never looked up")
	}
}

// With max_lookups in flight, a question that needs another lookup gets SERVFAIL at once, with an
// extended error, instead of waiting.
func TestMaxLookups(t *testing.T) {
	u := &backend{rrs: []dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10")}, gate: make(chan struct{})}
	next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetReply(r)
		target := "www.example.net."
		if chain.Equal(r.Question[0].Name, "other.example.org.") {
			target = "other.example.net."
		}
		m.Answer = []dns.RR{test.CNAME(r.Question[0].Name + " 300 IN CNAME " + target)}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	f, _ := newTest(t, next, u, func(c *config) { c.maxLookups, c.mode = 1, All })
	done := make(chan *dns.Msg)
	go func() { done <- ask(t, f, "example.org.", dns.TypeA) }()
	for u.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	expect(t, ask(t, f, "other.example.org.", dns.TypeA),
		test.Case{Qname: "other.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
		"0: lookup of target other.example.net. A not made: max_lookups lookups already in flight")
	close(u.gate)
	expect(t, <-done, apexA(60, "192.0.2.10"), "")
}

// An HTTPS question at an apex alias is cached, served stale and refused like an address
// question: the target's RRset owned by the apex at its TTL, counted down; stale with extended
// error 3 when the refresh fails; SERVFAIL with 23 past stale; a dangling target's NODATA names it.
func TestHTTPSCachedAndStale(t *testing.T) {
	f, u, clk := newCached(t, func(c *config) { c.maxStale = time.Hour })
	u.rrs = append(u.rrs, mustParse(t, `www.example.net. 60 IN HTTPS 1 . alpn="h2,h3" ipv4hint=192.0.2.10`))
	https := func(ttl int) test.Case {
		return test.Case{Qname: "example.org.", Qtype: dns.TypeHTTPS,
			Answer: []dns.RR{mustParse(t, "example.org. "+strconv.Itoa(ttl)+` IN HTTPS 1 . alpn="h2,h3" ipv4hint=192.0.2.10`)}}
	}
	expect(t, ask(t, f, "example.org.", dns.TypeHTTPS), https(60), "")
	clk.advance(20 * time.Second)
	expect(t, ask(t, f, "example.org.", dns.TypeHTTPS), https(40), "")
	if n := u.calls.Load(); n != 1 {
		t.Errorf("lookups = %d, want 1: the second answer comes from the cache", n)
	}
	u.set(nil, map[string]int{"www.example.net.": -1})
	clk.advance(41 * time.Second)
	expect(t, ask(t, f, "example.org.", dns.TypeHTTPS), https(30),
		"3: refresh of www.example.net. failed: lookup of target www.example.net. HTTPS failed: i/o timeout")
	clk.advance(2 * time.Hour)
	expect(t, ask(t, f, "example.org.", dns.TypeHTTPS), test.Case{Qname: "example.org.", Qtype: dns.TypeHTTPS, Rcode: dns.RcodeServerFailure},
		"23: lookup of target www.example.net. HTTPS failed: i/o timeout")

	// An NXDOMAIN without an SOA (the stand-in's) is negative for 30 s; the reply's SOA says so.
	u.set(nil, map[string]int{"www.example.net.": dns.RcodeNameError})
	clk.advance(time.Minute)
	expect(t, ask(t, f, "example.org.", dns.TypeHTTPS), test.Case{Qname: "example.org.", Qtype: dns.TypeHTTPS,
		Ns: []dns.RR{test.SOA("example.org. 30 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")}},
		"0: dangling alias: target www.example.net. does not exist (NXDOMAIN): example.org. -> www.example.net.")
}

// slowOutside is an outside resolver whose lookup of one name takes by, on the fake clock.
type slowOutside struct {
	*backend
	clk  *clock
	slow string
	by   time.Duration
}

func (s *slowOutside) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	if name == s.slow {
		s.clk.advance(s.by)
	}
	return s.backend.Lookup(ctx, name, qtype)
}

// A hop judged after a slow lookup of the hop before it is judged at the lookup's end: an entry
// that expired meanwhile is fetched again, not served as fresh.
func TestHopAfterSlowLookup(t *testing.T) {
	u := &backend{rrs: []dns.RR{
		test.CNAME("www.example.net. 5 IN CNAME cdn.example.com."),
		test.A("cdn.example.com. 10 IN A 192.0.2.1"),
	}}
	slow := &slowOutside{backend: u, slow: "www.example.net.", by: 5 * time.Second}
	f, clk := newTest(t, apexNext, slow)
	slow.clk = clk
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(5, "192.0.2.1"), "")
	// The warm-up's slow lookup moved the clock 5 s: cdn.example.com (stored after it) has 10 s.
	u.set([]dns.RR{test.CNAME("www.example.net. 5 IN CNAME cdn.example.com."), test.A("cdn.example.com. 10 IN A 192.0.2.2")}, nil)
	clk.advance(6 * time.Second) // www.example.net expired; cdn.example.com has 4 s left
	// The lookup of www.example.net takes 5 s more: by its end cdn.example.com has expired too.
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(5, "192.0.2.2"), "")
}

// A failed lookup of a target outside the zones is held (RFC 9520): a question in the next second
// gets the same SERVFAIL and extended error at once, with no lookup of its own; the hold doubles
// while the target keeps failing; a target that answers again is served once its hold ends, and
// its next failure is held a second again.
func TestFailuresHeld(t *testing.T) {
	u := &backend{fail: map[string]int{"www.example.net.": -1}}
	f, clk := newTest(t, apexNext, u)
	const failed = "23: lookup of target www.example.net. A failed: i/o timeout"
	step := func(after time.Duration, want test.Case, wantEDE string, lookups int32) {
		t.Helper()
		clk.advance(after)
		expect(t, ask(t, f, "example.org.", dns.TypeA), want, wantEDE)
		if n := u.calls.Load(); n != lookups {
			t.Errorf("%v later: %d lookups in all, want %d", after, n, lookups)
		}
	}
	step(0, servfailCase(), failed, 1)
	step(500*time.Millisecond, servfailCase(), failed, 1)  // held
	step(600*time.Millisecond, servfailCase(), failed, 2)  // the hold of 1s is over: asked, failed again
	step(1500*time.Millisecond, servfailCase(), failed, 2) // held 2s now
	u.set([]dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10")}, nil)
	step(100*time.Millisecond, servfailCase(), failed, 2)      // still held, though the target is back
	step(500*time.Millisecond, apexA(60, "192.0.2.10"), "", 3) // the hold is over
	u.set(nil, map[string]int{"www.example.net.": -1})
	step(25*time.Hour, servfailCase(), failed, 4)          // past max_stale (a day): nothing to serve stale
	step(999*time.Millisecond, servfailCase(), failed, 4)  // a first failure again: held 1s
	step(2*time.Millisecond, servfailCase(), failed, 5)    // held 2s
	step(2500*time.Millisecond, servfailCase(), failed, 6) // asked half a second after the hold: held 4s
	step(3900*time.Millisecond, servfailCase(), failed, 6)
	step(200*time.Millisecond, servfailCase(), failed, 7) // held 8s
	step(40*time.Second, servfailCase(), failed, 8)       // 32s after the hold's end: held 1s again
	step(999*time.Millisecond, servfailCase(), failed, 8)
	step(2*time.Millisecond, servfailCase(), failed, 9)
}

// In a root block every name is in the zones: a target its plugins refuse (file, for a zone it
// does not serve) is asked outside, and that lookup's failure is held as any outside name's is; a
// failure of a name its plugins serve is not held.
func TestRootBlockRefusedHeld(t *testing.T) {
	var zoneAsked atomic.Int32
	next := handlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		switch qn := r.Question[0].Name; {
		case chain.In(qn, "example.org.") && !chain.Equal(qn, "example.org."):
			zoneAsked.Add(1)
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeServerFailure)
			m.Authoritative = true
			w.WriteMsg(m)
			return dns.RcodeServerFailure, nil
		case chain.In(qn, "example.org."):
			return apexNext.ServeDNS(ctx, w, r)
		}
		return dns.RcodeRefused, nil // as file does, for a name of no zone of its own
	})
	u := &backend{fail: map[string]int{"www.example.net.": -1}}
	f, clk := newTest(t, next, u, func(c *config) { c.zones, c.mode = chain.Zones{"."}, All })
	const failed = "23: lookup of target www.example.net. A failed: i/o timeout"
	expect(t, ask(t, f, "example.org.", dns.TypeA), servfailCase(), failed)
	clk.advance(500 * time.Millisecond)
	expect(t, ask(t, f, "example.org.", dns.TypeA), servfailCase(), failed)
	if n := u.calls.Load(); n != 1 {
		t.Errorf("%d lookups of the refused target, want 1: the second question's held", n)
	}
	asked := make([]int32, 0, 2)
	for range 2 {
		if _, err := f.chase.Fetch(context.Background(), "in.example.org.", dns.TypeA); err == nil {
			t.Fatal("a SERVFAIL from the zone's plugin made an entry")
		}
		asked = append(asked, zoneAsked.Load())
	}
	if asked[0] == 0 || asked[1] != 2*asked[0] || u.calls.Load() != 1 {
		t.Errorf("the zone's plugin asked %v times in all after each question, and the outside %d more: a zone's failure is neither held nor asked outside", asked, u.calls.Load()-1)
	}
}

// A declared alias in a root block, at a name its zone's plugin answers NXDOMAIN without an SOA:
// NODATA, with no SOA of the root asked of the resolver (a question no client asked, whose answer
// is not the zone's).
func TestRootBlockAliasOtherAsksNoRootSOA(t *testing.T) {
	next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		if !chain.In(r.Question[0].Name, "example.org.") {
			return dns.RcodeRefused, nil // as file does, for a name of no zone of its own
		}
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		w.WriteMsg(m)
		return dns.RcodeNameError, nil
	})
	u := &backend{rrs: []dns.RR{test.SOA(". 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400")}}
	f, _ := newTest(t, next, u, func(c *config) {
		c.zones = chain.Zones{"."}
		c.aliases = map[string]string{"alias.example.org.": "www.example.net."}
	})
	expect(t, ask(t, f, "alias.example.org.", dns.TypeMX), test.Case{Qname: "alias.example.org.", Qtype: dns.TypeMX}, "")
	if n := u.calls.Load(); n != 0 {
		t.Errorf("%d lookups outside, want none", n)
	}
}

// A lookup that was not made (max_lookups in flight) is no failure to hold: once a slot is free,
// the next question asks.
func TestBusyNotHeld(t *testing.T) {
	u := &backend{rrs: []dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10")}}
	f, _ := newTest(t, apexNext, u)
	slots := f.chase.Slots()
	for range cap(slots) {
		slots <- struct{}{}
	}
	expect(t, ask(t, f, "example.org.", dns.TypeA), servfailCase(), "0: lookup of target www.example.net. A not made: max_lookups lookups already in flight")
	for range cap(slots) {
		<-slots
	}
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(60, "192.0.2.10"), "")
	if n := u.calls.Load(); n != 1 {
		t.Errorf("%d lookups, want 1", n)
	}
}

// cancelOutside answers as its backend, but fails with the question's context's error once that
// has ended, as the resolver option's client does.
type cancelOutside struct{ *backend }

func (c cancelOutside) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	if err := ctx.Err(); err != nil {
		c.calls.Add(1)
		return nil, "", err
	}
	return c.backend.Lookup(ctx, name, qtype)
}

// A lookup cut short by the end of its own question is not held: the next question asks, and gets
// its answer.
func TestCancelledNotHeld(t *testing.T) {
	u := &backend{rrs: []dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10")}}
	f, _ := newTest(t, apexNext, cancelOutside{u})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.chase.Fetch(ctx, "www.example.net.", dns.TypeA); err == nil {
		t.Fatal("a lookup with its context ended succeeded")
	}
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(60, "192.0.2.10"), "")
	if n := u.calls.Load(); n != 2 {
		t.Errorf("%d lookups, want 2", n)
	}
}

// A name in the zones is asked of the block's plugins every time: its failure is not held, so a
// zone that answers again (a reload) is read at once.
func TestZoneFailuresNotHeld(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	var asked atomic.Int32
	next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		asked.Add(1)
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		if failing.Load() {
			m.Rcode = dns.RcodeServerFailure
		} else {
			m.Answer = []dns.RR{test.A("in.example.org. 60 IN A 192.0.2.20")}
		}
		w.WriteMsg(m)
		return m.Rcode, nil
	})
	f, _ := newTest(t, next, &backend{})
	if _, err := f.chase.Fetch(context.Background(), "in.example.org.", dns.TypeA); err == nil {
		t.Fatal("a SERVFAIL from the zone's plugin made an entry")
	}
	failing.Store(false)
	before := asked.Load()
	e, err := f.chase.Fetch(context.Background(), "in.example.org.", dns.TypeA)
	if err != nil || e == nil {
		t.Fatalf("the zone answers again, at the same instant: %v", err)
	}
	if asked.Load() == before {
		t.Error("the zone's plugin was not asked again")
	}
}
