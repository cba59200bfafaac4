package flatten

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// The worst case of one question: a chain of exactly max_chain hops, each needing its own lookup,
// ending in a name that does not exist in another zone (one more lookup for the question's zone's
// SOA, which the end's negative answer does not bring): max_chain + 1. Ending in the question's own
// zone, the end's answer brings that SOA: max_chain.
func TestLookupsPerQuestion(t *testing.T) {
	for _, tc := range []struct {
		end     string
		lookups int
		soa     string
	}{
		{end: "w10.example.net.", lookups: defaultMaxChain + 1, soa: "example.org."},
		{end: "w10.example.org.", lookups: defaultMaxChain, soa: "example.org."},
	} {
		b := newBackend()
		f, _ := newTest(t, b, b, func(c *config) { c.mode = All })
		for i := range 9 {
			b.rrs = append(b.rrs, test.CNAME("w"+strconv.Itoa(i)+".example.org. 300 IN CNAME w"+strconv.Itoa(i+1)+".example.org."))
		}
		b.rrs = append(b.rrs, test.CNAME("w9.example.org. 300 IN CNAME "+tc.end))
		before := lookupsDone()
		m := ask(t, f, "w0.example.org.", dns.TypeA)
		if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 || len(m.Ns) != 1 || m.Ns[0].Header().Name != tc.soa {
			t.Fatalf("ending at %s: want NODATA with the SOA of %s, got %v", tc.end, tc.soa, m)
		}
		if n := lookupsDone() - before; n != tc.lookups {
			t.Errorf("ending at %s: lookups = %d, want %d", tc.end, n, tc.lookups)
		}
	}
}

// A flood of distinct names under 'all', every one an alias (a wildcard CNAME), cannot grow the
// cache past its bound, nor the memory the plugin holds: once the cache is full, 40,000 more names
// leave the heap where it was.
func TestFloodOfDistinctNames(t *testing.T) {
	next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{
			test.CNAME(r.Question[0].Name + " 300 IN CNAME www.example.net."),
			test.A("www.example.net. 300 IN A 192.0.2.10"),
		}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	f, _ := newTest(t, next, newBackend(), func(c *config) { c.mode, c.cacheSize = All, 2000 })
	r := new(dns.Msg)
	flood := func(from, to int) {
		for i := from; i < to; i++ {
			r.SetQuestion("r"+strconv.Itoa(i)+".example.org.", dns.TypeA)
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			f.ServeDNS(context.Background(), rec, r)
			if len(rec.Msg.Answer) != 1 {
				t.Fatalf("question %d: %v", i, rec.Msg)
			}
		}
	}
	flood(0, 10_000)
	full := heapInUse()
	flood(10_000, 50_000)
	if grew := heapInUse() - full; grew > 1<<20 {
		t.Errorf("the heap grew by %d KiB over 40,000 more distinct names with the cache full (%d bytes a name)", grew>>10, grew/40_000)
	}
	if n := f.chase.Len(); n > 2048 {
		t.Errorf("cache holds %d entries after 50,000 distinct names, bound 2000 (2048 with shard rounding)", n)
	}
	runtime.KeepAlive(f)
}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
