package flatten

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/plugin/target"

	"github.com/miekg/dns"
)

// With ecs, each client network gets its own answer from the resolver, and the reply carries the
// scope it holds for.
func TestECSAnswers(t *testing.T) {
	u := &ecsBackend{}
	f, _ := newTest(t, apexNext, u, func(c *config) {
		c.resolvers, c.ecs = []string{"192.0.2.53:53"}, true
		c.aliases = map[string]string{"example.org.": "geo.example.net."}
	})
	scoped := metric("coredns_flatten_subnet_lookups_total", "server", "", "scope", "24")
	for range 2 {
		for _, c := range []struct{ net, addr, scope string }{{"10.1.2.0", "192.0.2.101", "10.1.2.0/24/24"}, {"198.51.100.0", "198.51.100.201", "198.51.100.0/24/24"}} {
			m := serve(t, f, withECS(ednsQuestion("example.org.", dns.TypeA), 1, 24, c.net))
			if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != c.addr {
				t.Fatalf("%s: %v", c.net, m)
			}
			if got := ecsOf(m); got != c.scope {
				t.Errorf("%s: ECS %q, want %q", c.net, got, c.scope)
			}
		}
	}
	if n := u.calls.Load(); n != 2 {
		t.Errorf("lookups %d, want one per network", n)
	}
	if got := metric("coredns_flatten_subnet_lookups_total", "server", "", "scope", "24") - scoped; got != 2 {
		t.Errorf("coredns_flatten_subnet_lookups_total{scope=\"24\"} grew by %v, want 2", got)
	}
}

func ecsOf(m *dns.Msg) string {
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
				return e.Address.String() + "/" + strconv.Itoa(int(e.SourceNetmask)) + "/" + strconv.Itoa(int(e.SourceScope))
			}
		}
	}
	return ""
}

// ecsBackend answers geo.example.net by the client subnet its lookup carries, with scope /24
// (scope 0 when zero: the answer holds for every network).
type ecsBackend struct {
	calls atomic.Int32
	// gate, when set, holds lookups until closed; fail makes them time out.
	gate chan struct{}
	fail atomic.Bool
	zero bool
}

func (b *ecsBackend) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	b.calls.Add(1)
	if b.gate != nil {
		<-b.gate
	}
	if b.fail.Load() {
		return nil, "", errors.New("i/o timeout")
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Response = true
	addr := "198.51.100.201"
	sn := target.SubnetOf(ctx)
	if sn != nil && netip.MustParsePrefix("10.0.0.0/8").Contains(sn.Prefix().Addr()) {
		addr = "192.0.2.101"
	}
	m.Answer = []dns.RR{test.A(name + " 60 IN A " + addr)}
	if sn != nil {
		m.SetEdns0(1232, false)
		scope := uint8(24)
		if b.zero {
			scope = 0
		}
		p := sn.Prefix()
		family := uint16(1)
		if p.Addr().Is6() {
			family = 2
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family,
			SourceNetmask: uint8(p.Bits()), SourceScope: scope, Address: p.Addr().AsSlice()})
	}
	return m, "", nil
}

// ednsQuestion returns a question with EDNS.
func ednsQuestion(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, false)
	return m
}

// geoA is the answer at the apex, aliased to geo.example.net, that a client in net gets.
func geoA(net string) string {
	if strings.HasPrefix(net, "10.") {
		return "192.0.2.101"
	}
	return "198.51.100.201"
}

// Clients of one network asking at once share one lookup; another network gets its own, run
// beside it (singleflight per client network), and neither gets the other's answer.
func TestECSSingleflight(t *testing.T) {
	u := &ecsBackend{gate: make(chan struct{})}
	f, _ := newTest(t, apexNext, u, func(c *config) {
		c.resolvers, c.ecs = []string{"192.0.2.53:53"}, true
		c.aliases = map[string]string{"example.org.": "geo.example.net."}
	})
	nets := []string{"10.1.2.0", "198.51.100.0"}
	var wg sync.WaitGroup
	got := make([][]string, len(nets))
	for i, n := range nets {
		got[i] = make([]string, 10)
		for j := range got[i] {
			wg.Go(func() {
				m := serve(t, f, withECS(ednsQuestion("example.org.", dns.TypeA), 1, 24, n))
				if len(m.Answer) == 1 {
					got[i][j] = m.Answer[0].(*dns.A).A.String()
				}
			})
		}
	}
	for deadline := time.Now().Add(5 * time.Second); u.calls.Load() < 2; { // both networks' lookups are in flight
		if time.Now().After(deadline) {
			close(u.gate)
			t.Fatalf("%d lookups in flight after 5 s, want 2: one per network, side by side", u.calls.Load())
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // room for a third, which must not come
	close(u.gate)
	wg.Wait()
	if n := u.calls.Load(); n != 2 {
		t.Errorf("%d lookups for 20 questions from 2 networks, want 2", n)
	}
	for i, n := range nets {
		for _, a := range got[i] {
			if a != geoA(n) {
				t.Errorf("a client in %s/24 got %q, want %s", n, a, geoA(n))
			}
		}
	}
}

// When the resolver fails, each network is served its own answer stale (RFC 8767), with the scope
// it held for and the extended error, never another network's; past stale, SERVFAIL.
func TestECSStale(t *testing.T) {
	u := &ecsBackend{}
	f, clk := newTest(t, apexNext, u, func(c *config) {
		c.resolvers, c.ecs, c.maxStale = []string{"192.0.2.53:53"}, true, time.Hour
		c.aliases = map[string]string{"example.org.": "geo.example.net."}
	})
	nets := []string{"10.1.2.0", "198.51.100.0"}
	for _, n := range nets {
		serve(t, f, withECS(ednsQuestion("example.org.", dns.TypeA), 1, 24, n))
	}
	u.fail.Store(true)
	clk.advance(61 * time.Second)
	for _, n := range nets {
		m := serve(t, f, withECS(ednsQuestion("example.org.", dns.TypeA), 1, 24, n))
		want := test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("example.org. 30 IN A " + geoA(n))}}
		if got := ecsOf(m); got != n+"/24/24" {
			t.Errorf("%s: ECS %q, want %s/24/24", n, got, n)
		}
		expect(t, m, want, "3: refresh of geo.example.net. failed: lookup of target geo.example.net. A failed: i/o timeout")
	}
	clk.advance(2 * time.Hour)
	m := serve(t, f, withECS(ednsQuestion("example.org.", dns.TypeA), 1, 24, nets[0]))
	expect(t, m, test.Case{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
		"23: lookup of target geo.example.net. A failed: i/o timeout")
}

// Thousands of client networks never grow the cache past its bound: entries per scope are entries
// like any other. A scope of 0 from the resolver makes one entry for every network. (CoreDNS's
// cache keeps at least 4 entries in each of its 256 shards, so a bound below 1,024 is 1,024.)
func TestECSCacheBound(t *testing.T) {
	for _, tc := range []struct {
		name        string
		zero        bool
		wantLookups int32
		scope       string // the metric's label
	}{
		{"scope /24: an entry per network, bounded", false, 5000, "24"},
		{"scope /0: one entry for all", true, 1, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &ecsBackend{zero: tc.zero}
			counted := metric("coredns_flatten_subnet_lookups_total", "server", "", "scope", tc.scope)
			f, _ := newTest(t, apexNext, u, func(c *config) {
				c.resolvers, c.ecs, c.cacheSize = []string{"192.0.2.53:53"}, true, 2560
				c.aliases = map[string]string{"example.org.": "geo.example.net."}
			})
			for i := range 5000 {
				n := fmt.Sprintf("10.%d.%d.0", i/256, i%256)
				m := serve(t, f, withECS(ednsQuestion("example.org.", dns.TypeA), 1, 24, n))
				if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.101" {
					t.Fatalf("%s: %v", n, m)
				}
			}
			if n := f.chase.Len(); n > 2560 {
				t.Errorf("%d entries in a cache of 2560", n)
			}
			if n := u.calls.Load(); n != tc.wantLookups {
				t.Errorf("%d lookups, want %d", n, tc.wantLookups)
			}
			if got := metric("coredns_flatten_subnet_lookups_total", "server", "", "scope", tc.scope) - counted; got != float64(tc.wantLookups) {
				t.Errorf("coredns_flatten_subnet_lookups_total{scope=%q} grew by %v, want %d", tc.scope, got, tc.wantLookups)
			}
		})
	}
}

// An answer looked up for a client that sent no subnet, or a /0 one, was tailored to this server's
// own address: it serves such clients, never a client that named its network, who gets its own.
func TestECSNoSubnetFirst(t *testing.T) {
	for _, first := range []string{"none", "/0"} {
		t.Run(first, func(t *testing.T) {
			u := &ecsBackend{}
			f, _ := newTest(t, apexNext, u, func(c *config) {
				c.resolvers, c.ecs = []string{"192.0.2.53:53"}, true
				c.aliases = map[string]string{"example.org.": "geo.example.net."}
			})
			r := ednsQuestion("example.org.", dns.TypeA)
			if first == "/0" {
				r = withECS(r, 1, 0, "0.0.0.0")
			}
			for range 2 { // cold, then warm
				if m := serve(t, f, r.Copy()); len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "198.51.100.201" {
					t.Fatalf("the first client: %v", m)
				}
			}
			for _, net := range []string{"10.1.2.0", "10.9.9.0"} {
				m := serve(t, f, withECS(ednsQuestion("example.org.", dns.TypeA), 1, 24, net))
				if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.101" || ecsOf(m) != net+"/24/24" {
					t.Errorf("a client in %s/24 after one with %s: %v (ECS %q)", net, first, m.Answer, ecsOf(m))
				}
			}
			if n := u.calls.Load(); n != 3 {
				t.Errorf("%d lookups, want 3: the first client's, and one per network", n)
			}
		})
	}
}

// A refresh keeps an answer where it was filed: one that held for every network (scope 0) stays
// shared after its refresh, and other networks are still answered from it without a lookup of
// their own; the resolver is sent a subnet again, as for the first lookup.
func TestECSRefreshKeepsScope(t *testing.T) {
	u := &ecsBackend{zero: true}
	f, clk := newTest(t, apexNext, u, func(c *config) {
		c.resolvers, c.ecs = []string{"192.0.2.53:53"}, true
		c.aliases = map[string]string{"example.org.": "geo.example.net."}
	})
	ask := func(net string) {
		t.Helper()
		m := serve(t, f, withECS(ednsQuestion("example.org.", dns.TypeA), 1, 24, net))
		if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.101" || ecsOf(m) != net+"/24/0" {
			t.Fatalf("a client in %s/24: %v (ECS %q)", net, m.Answer, ecsOf(m))
		}
	}
	ask("10.1.2.0")
	clk.advance(55 * time.Second) // in the last tenth of the 60s: a refresh starts
	ask("10.9.9.0")
	f.chase.Settle()
	ask("10.5.5.0")
	ask("10.7.7.0")
	if n := u.calls.Load(); n != 2 {
		t.Errorf("%d lookups, want 2: the first, and its refresh", n)
	}
}
