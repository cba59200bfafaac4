package audit

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/file"
	"github.com/coredns/coredns/plugin/file/tree"
	"github.com/dnsflatten/flatten/bench/zonegen"
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// fileOf returns the file plugin serving a generated zone of n records, as CoreDNS builds it (a
// file.File value, which the audit reads from its tree).
func fileOf(tb testing.TB, n int) file.File {
	tb.Helper()
	var zone bytes.Buffer
	if err := zonegen.Write(&zone, zonegen.Options{Records: n, Seed: 1}); err != nil {
		tb.Fatal(err)
	}
	z, err := file.Parse(&zone, "example.org.", "db.example.org", 0)
	if err != nil {
		tb.Fatal(err)
	}
	return file.File{Zones: file.Zones{Z: map[string]*file.Zone{"example.org.": z}, Names: []string{"example.org."}}}
}

// The audit of a zone served by file: reading it, publishing what answers need, checking every
// rule (no oracle: the outside names are not asked). extra-MiB is the live heap the audit keeps
// beyond the zone file itself holds.
func BenchmarkAudit(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%drecords", n), func(b *testing.B) {
			f := fileOf(b, n)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var a *Auditor
			for b.Loop() {
				a = New(Config{Zones: chain.Zones{"example.org."}, Handlers: []plugin.Handler{f}, MaxChain: 10})
				a.pass(true)
				a.check(<-a.jobs)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "extra-MiB")
			b.ReportMetric(perRecord(b, n), "ns/record")
			runtime.KeepAlive(a)
		})
	}
}

// The file plugin's own pass over the zone it serves, as its zone transfer walks it (file/xfr.go:
// the tree in order, each name's record sets), reading each record's header: what one pass over
// the served records costs a record on this machine at each size. BenchmarkAudit's ns/record grows
// from 100,000 to 1,000,000 records as this one does when the audit adds no growth of its own (the
// bench's target 14 compares the two).
func BenchmarkFileWalk(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%drecords", n), func(b *testing.B) {
			z := fileOf(b, n).Z["example.org."]
			names := 0
			for b.Loop() {
				names = 0
				_ = z.Walk(func(_ *tree.Elem, m map[uint16][]dns.RR) error {
					for _, rrs := range m {
						for _, rr := range rrs {
							if rr.Header().Rrtype == dns.TypeCNAME {
								names++
							}
						}
					}
					return nil
				})
			}
			if names == 0 {
				b.Fatal("the walk met no CNAME")
			}
			b.ReportMetric(perRecord(b, n), "ns/record")
		})
	}
}

// perRecord is the time an iteration of b took, a record of the n in its zone.
func perRecord(b *testing.B, n int) float64 {
	b.Helper()
	return float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(n)
}
