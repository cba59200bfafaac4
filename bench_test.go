package flatten

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// plainNext answers every question with one A record, as a zone answers an ordinary name.
var plainNext = handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}}}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
})

// discard is a ResponseWriter that drops what is written.
type discard struct{ test.ResponseWriter }

func (*discard) WriteMsg(*dns.Msg) error { return nil }

func benchServe(b *testing.B, h plugin.Handler, name string) {
	b.Helper()
	r := new(dns.Msg)
	r.SetQuestion(name, dns.TypeA)
	ctx := context.Background()
	w := &discard{}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(ctx, w, r)
	}
}

// The baseline: a bare plugin that only calls the next one, as CoreDNS calls every plugin.
func BenchmarkBareNext(b *testing.B) {
	bare := handlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		return plugin.NextOrFailure("bare", plainNext, ctx, w, r)
	})
	benchServe(b, bare, "www.example.org.")
}

// Pass-through of a non-CNAME answer under 'all': every question is eligible and captured.
func BenchmarkPassThroughAll(b *testing.B) {
	f := newFlatten(withMode(All), plainNext, block{})
	benchServe(b, f, "www.example.org.")
}

// Pass-through of a name in the zones that is not flattened (apex mode, not the apex): watched
// for dangling CNAMEs only.
func BenchmarkPassThroughApex(b *testing.B) {
	f := newFlatten(withMode(Apex), plainNext, block{})
	benchServe(b, f, "www.example.org.")
}

// Pass-through of a name outside the zones.
func BenchmarkPassThroughOutside(b *testing.B) {
	f := newFlatten(withMode(Apex), plainNext, block{})
	benchServe(b, f, "www.example.com.")
}

func withMode(m Mode) config {
	cfg := defaults(chain.Zones{"example.org."})
	cfg.mode = m
	return cfg
}

// A flattened answer from the cache (the warm path).
func BenchmarkWarmFlattened(b *testing.B) {
	u := &backend{rrs: []dns.RR{test.A("www.example.net. 3600 IN A 192.0.2.10")}}
	f := newFlatten(withMode(Apex), apexNext, block{outside: u})
	benchServe(b, f, "example.org.")
	if u.calls.Load() != 1 {
		b.Errorf("lookups = %d, want 1", u.calls.Load())
	}
}

// Memory under many client networks (ecs): an alias asked from n distinct /24 networks, each
// answered by the resolver with scope /24, so that each is an entry of its own, with the default
// cache bound (10,000 entries). heap-MiB is the live heap after the n questions (and a GC), less
// the live heap before the plugin was built: it grows with n up to the bound, then stays flat. The
// timed loop is a warm answer for one of the networks, with the cache that full.
func BenchmarkECSManySubnets(b *testing.B) {
	question := func(i int) *dns.Msg {
		r := new(dns.Msg)
		r.SetQuestion("example.org.", dns.TypeA)
		r.SetEdns0(1232, false)
		addr := net.IPv4(byte(10+i>>16), byte(i>>8), byte(i), 0).To4() // a /24 each
		r.IsEdns0().Option = append(r.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: addr})
		return r
	}
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("%dnets", n), func(b *testing.B) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			cfg := defaults(chain.Zones{"example.org."})
			cfg.resolvers, cfg.ecs = []string{"192.0.2.53:53"}, true
			cfg.aliases = map[string]string{"example.org.": "geo.example.net."}
			f := newFlatten(cfg, apexNext, block{outside: &ecsBackend{}})
			defer f.stop()
			w := &discard{}
			ctx := context.Background()
			for i := range n {
				f.ServeDNS(ctx, w, question(i))
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MiB")
			b.ReportMetric(float64(f.chase.Len()), "entries")
			r := question(n - 1) // the last network asked: still cached
			b.ReportAllocs()
			for b.Loop() { // the fill above is not timed: Loop starts the timer
				f.ServeDNS(ctx, w, r)
			}
		})
	}
}
