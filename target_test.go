package flatten

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// clock is a fake clock for the cache: tests move it, never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// targetServer is a Lookuper that answers www.example.net from a settable record set, counts lookups,
// can fail, and can hold lookups until released.
type targetServer struct {
	mu    sync.Mutex
	rrs   []dns.RR
	fail  error
	gate  chan struct{}
	calls atomic.Int32
}

func (u *targetServer) set(rrs []dns.RR, fail error) {
	u.mu.Lock()
	u.rrs, u.fail = append(rrs, soaOrg), fail
	u.mu.Unlock()
}

func (u *targetServer) Lookup(_ context.Context, _ request.Request, name string, qtype uint16) (*dns.Msg, error) {
	u.calls.Add(1)
	if u.gate != nil {
		<-u.gate
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fail != nil {
		return nil, u.fail
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Response = true
	for _, rr := range u.rrs {
		if rr.Header().Rrtype == qtype && equalFold(rr.Header().Name, name) {
			m.Answer = append(m.Answer, rr)
		}
	}
	if len(m.Answer) == 0 {
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{soaNet}
	}
	return m, nil
}

// apexNext answers example.org A/AAAA with the apex CNAME alone, as a backend that does not chase.
var apexNext = handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	switch {
	case equalFold(r.Question[0].Name, "example.org.") && r.Question[0].Qtype == dns.TypeSOA:
		m.Answer = []dns.RR{soaOrg}
	case equalFold(r.Question[0].Name, "example.org."):
		m.Answer = []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net.")}
	default:
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
})

func newCached(t *testing.T) (*Flatten, *targetServer, *clock) {
	t.Helper()
	u := &targetServer{rrs: []dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10"), soaOrg}}
	clk := &clock{t: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	f := New([]string{"example.org."})
	f.Next, f.Lookup, f.now = apexNext, u, clk.now
	t.Cleanup(f.shutdown)
	return f, u, clk
}

func ask(t *testing.T, f *Flatten, name string, qtype uint16) *dns.Msg {
	t.Helper()
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	r.SetEdns0(1232, false)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := f.ServeDNS(context.Background(), rec, r); err != nil {
		t.Fatal(err)
	}
	if rec.Msg == nil {
		t.Fatal("no reply")
	}
	return rec.Msg
}

func expect(t *testing.T, m *dns.Msg, want test.Case, wantEDE string) {
	t.Helper()
	if got := ede(m); got != wantEDE {
		t.Errorf("extended error %q, want %q", got, wantEDE)
	}
	m.Extra = withoutOPT(m.Extra)
	if err := test.SortAndCheck(m, want); err != nil {
		t.Error(err)
	}
}

func apexA(ttl int, addr string) test.Case {
	return test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("example.org. " + itoa(ttl) + " IN A " + addr)}}
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
	f.wg.Wait()
	if n := u.calls.Load(); n != 2 {
		t.Fatalf("lookups = %d, want 2 (one refresh)", n)
	}
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(60, "192.0.2.20"), "")
}

func TestStaleAnswers(t *testing.T) {
	f, u, clk := newCached(t)
	f.MaxStale = time.Hour
	ask(t, f, "example.org.", dns.TypeA)
	u.set(nil, errors.New("i/o timeout"))

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
	u.set(nil, errors.New("i/o timeout"))
	clk.advance(2 * time.Hour)
	expect(t, ask(t, f, "example.org.", dns.TypeA),
		test.Case{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
		"23: lookup of target www.example.net. A failed: i/o timeout")
}

func TestStaleDisabled(t *testing.T) {
	f, u, clk := newCached(t)
	f.MaxStale = 0
	ask(t, f, "example.org.", dns.TypeA)
	u.set(nil, errors.New("connection refused"))
	clk.advance(61 * time.Second)
	expect(t, ask(t, f, "example.org.", dns.TypeA),
		test.Case{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
		"23: lookup of target www.example.net. A failed: connection refused")
}

func TestTTLBounds(t *testing.T) {
	f, _, _ := newCached(t)
	f.MinTTL, f.MaxTTL = 120, 200
	// The target's 60 is raised to 120.
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(120, "192.0.2.10"), "")
	f2, u2, _ := newCached(t)
	f2.MinTTL, f2.MaxTTL = 0, 200
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

func TestCacheBound(t *testing.T) {
	tc := newTargets(2000)
	for i := range 100_000 {
		tc.put(&entry{name: "n" + itoa(i) + ".example.org.", qtype: dns.TypeA})
	}
	if n := tc.len(); n > 2048 {
		t.Errorf("cache of size 2000 holds %d entries", n)
	}
	e := &entry{name: "Last.Example.org.", qtype: dns.TypeA}
	tc.put(e)
	if tc.get("last.example.ORG.", dns.TypeA) != e || tc.get("last.example.org.", dns.TypeAAAA) != nil {
		t.Error("lookup by name and type, ignoring case, failed")
	}
}

func TestDeclaredAlias(t *testing.T) {
	zone := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		switch r.Question[0].Qtype {
		case dns.TypeA:
			m.Answer = []dns.RR{test.A("example.org. 3600 IN A 198.51.100.1")}
		case dns.TypeSOA:
			m.Answer = []dns.RR{soaOrg}
		default:
			m.Ns = []dns.RR{soaOrg}
		}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	f, u, _ := newCached(t)
	f.Next, f.MaxStale = zone, 0
	f.Aliases = map[string]string{"example.org.": "www.example.net."}

	// The target's addresses, not the zone's, while the target resolves.
	expect(t, ask(t, f, "example.org.", dns.TypeA), apexA(60, "192.0.2.10"), "")
	// No AAAA at the target, no AAAA in the zone: NODATA with the zone's SOA.
	expect(t, ask(t, f, "example.org.", dns.TypeAAAA), test.Case{Qname: "example.org.", Qtype: dns.TypeAAAA,
		Ns: []dns.RR{test.SOA("example.org. 300 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")}}, "")
	// The target fails: the zone's own address is the fallback (the ANAME draft's sibling rule).
	f2, u2, _ := newCached(t)
	f2.Next, f2.MaxStale = zone, 0
	f2.Aliases = f.Aliases
	u2.set(nil, errors.New("i/o timeout"))
	expect(t, ask(t, f2, "example.org.", dns.TypeA), apexA(3600, "198.51.100.1"), "")
	if u.calls.Load() == 0 || u2.calls.Load() == 0 {
		t.Error("the target was never looked up")
	}
}

// With max_lookups in flight, a question that needs another lookup gets SERVFAIL at once, with an
// extended error, instead of waiting.
func TestMaxLookups(t *testing.T) {
	f, u, _ := newCached(t)
	f.MaxLookups = 1
	f.init()
	f.Mode = All
	u.gate = make(chan struct{})
	f.Next = handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetReply(r)
		target := "www.example.net."
		if r.Question[0].Name == "other.example.org." {
			target = "other.example.net."
		}
		m.Answer = []dns.RR{test.CNAME(r.Question[0].Name + " 300 IN CNAME " + target)}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	done := make(chan *dns.Msg)
	go func() { done <- ask(t, f, "example.org.", dns.TypeA) }()
	for u.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	expect(t, ask(t, f, "other.example.org.", dns.TypeA),
		test.Case{Qname: "other.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
		"0: lookup of target other.example.net. A failed: 1 lookups in flight, the max_lookups limit: not started")
	close(u.gate)
	expect(t, <-done, apexA(60, "192.0.2.10"), "")
}
