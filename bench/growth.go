package main

// How the audit's cost a record grows with the zone, against how a pass over the same records
// grows when the file plugin itself makes it: the Go benchmarks BenchmarkAudit and
// BenchmarkFileWalk (plugin/audit/bench_test.go), at 100,000 and 1,000,000 records, run in turns.

import (
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// growth is the median ns a record of each benchmark at each size.
type growth struct {
	small, big  int
	audit, walk map[int]float64
}

// ratio is the cost a record at the big size over that at the small one.
func (g growth) ratio(of map[int]float64) float64 { return of[g.big] / of[g.small] }

var perRecordLine = regexp.MustCompile(`^Benchmark(Audit|FileWalk)/(\d+)records(?:-\d+)?\s.*\s([0-9.]+) ns/record`)

// auditGrowth runs both benchmarks five times, one run of each after the other (go test's -count
// would run each five times in a row), so that a slow spell of the machine falls on both alike.
func auditGrowth() (growth, error) {
	g := growth{small: 100_000, big: 1_000_000, audit: map[int]float64{}, walk: map[int]float64{}}
	var out []byte
	for range 5 {
		o, err := exec.Command("go", "test", "-run", "^$", "-bench", "^Benchmark(Audit|FileWalk)$/^(100000|1000000)records$",
			"-benchtime", "2s", "-count", "1", "./plugin/audit").CombinedOutput()
		if err != nil {
			return g, fmt.Errorf("go test -bench Audit: %v\n%s", err, o)
		}
		out = append(out, o...)
	}
	runs := map[string][]float64{}
	for line := range strings.SplitSeq(string(out), "\n") {
		if m := perRecordLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[3], 64)
			runs[m[1]+"/"+m[2]] = append(runs[m[1]+"/"+m[2]], v)
		}
	}
	for _, n := range []int{g.small, g.big} {
		a, w := runs[fmt.Sprintf("Audit/%d", n)], runs[fmt.Sprintf("FileWalk/%d", n)]
		if len(a) == 0 || len(w) == 0 {
			return g, fmt.Errorf("go test -bench Audit: no ns/record at %d records:\n%s", n, out)
		}
		g.audit[n], g.walk[n] = medianOf(a), medianOf(w)
	}
	fmt.Printf("audit growth: %.0f -> %.0f ns/record (%.2f x); file's walk %.0f -> %.0f ns/record (%.2f x)\n",
		g.audit[g.small], g.audit[g.big], g.ratio(g.audit), g.walk[g.small], g.walk[g.big], g.ratio(g.walk))
	return g, nil
}

// medianOf is the median of v, which it sorts: the mean of the middle two of an even count.
func medianOf(v []float64) float64 {
	sort.Float64s(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// own is the audit's own cost a record at n records: the audit reads the zone with the walk
// BenchmarkFileWalk times (fileRecords), and the rest is its own.
func (g growth) own(n int) float64 { return g.audit[n] - g.walk[n] }

// growthTarget is target 14: the audit is linear in the zone's size when the cost a record of its
// own part (all but the walk of file's tree that reads the zone) grows no more than the cost a
// record of that walk, whose work a record is constant too: both then grow only as the machine's
// memory makes every pass grow.
func growthTarget(g growth) target {
	own := g.own(g.big) / g.own(g.small)
	r := own / g.ratio(g.walk)
	return target{
		fmt.Sprintf("linear growth: the audit's own cost a record (less file's walk of the zone it reads) from %d to %d records grows <= 1.25 x as much as that walk's (BenchmarkAudit, BenchmarkFileWalk)", g.small, g.big),
		fmt.Sprintf("own part %.2f x (%.0f -> %.0f ns), file's walk %.2f x (%.0f -> %.0f ns): %.2f; the whole audit %.2f x", own, g.own(g.small), g.own(g.big),
			g.ratio(g.walk), g.walk[g.small], g.walk[g.big], r, g.ratio(g.audit)),
		r <= 1.25,
	}
}
