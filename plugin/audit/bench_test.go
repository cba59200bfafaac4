package audit

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/file"
	"github.com/dnsflatten/flatten/bench/zonegen"
	"github.com/dnsflatten/flatten/plugin/chain"
)

// fileOf returns the file plugin serving a generated zone of n records, as CoreDNS builds it (a
// file.File value, which the audit reads from its tree).
func fileOf(b *testing.B, n int) file.File {
	b.Helper()
	var zone bytes.Buffer
	if err := zonegen.Write(&zone, zonegen.Options{Records: n, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	z, err := file.Parse(&zone, "example.org.", "db.example.org", 0)
	if err != nil {
		b.Fatal(err)
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
			runtime.KeepAlive(a)
		})
	}
}
