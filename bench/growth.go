package main

// How the audit's cost a record grows with the zone, against how a pass over the same records
// grows when the file plugin itself makes it: the Go benchmarks BenchmarkAudit and
// BenchmarkFileWalk (plugin/audit/bench_test.go), at 100,000 and 1,000,000 records, run in turns.

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// growth is the median ns a record of each benchmark at each size, and each run's own ratio (see
// growthTarget).
type growth struct {
	small, big  int
	audit, walk map[int]float64
	runs        []float64
}

// ratio is the cost a record at the big size over that at the small one.
func (g growth) ratio(of map[int]float64) float64 { return of[g.big] / of[g.small] }

var perRecordLine = regexp.MustCompile(`^Benchmark(Audit|FileWalk)/(\d+)records(?:-\d+)?\s.*\s([0-9.]+) ns/record`)

// auditGrowth runs both benchmarks five times, one run of each after the other (go test's -count
// would run each five times in a row), so that a slow spell of the machine falls on both alike.
func auditGrowth() (growth, error) {
	g := growth{small: 100_000, big: 1_000_000, audit: map[int]float64{}, walk: map[int]float64{}}
	var out []byte
	runs := map[string][]float64{}
	for range 5 {
		o, err := exec.Command("go", "test", "-run", "^$", "-bench", "^Benchmark(Audit|FileWalk)$/^(100000|1000000)records$",
			"-benchtime", "2s", "-count", "1", "./plugin/audit").CombinedOutput()
		if err != nil {
			return g, fmt.Errorf("go test -bench Audit: %v\n%s", err, o)
		}
		out = append(out, o...)
		one := growth{small: g.small, big: g.big, audit: map[int]float64{}, walk: map[int]float64{}}
		for line := range strings.SplitSeq(string(o), "\n") {
			if m := perRecordLine.FindStringSubmatch(line); m != nil {
				v, _ := strconv.ParseFloat(m[3], 64)
				runs[m[1]+"/"+m[2]] = append(runs[m[1]+"/"+m[2]], v)
				n, _ := strconv.Atoi(m[2])
				if m[1] == "Audit" {
					one.audit[n] = v
				} else {
					one.walk[n] = v
				}
			}
		}
		if len(one.audit) != 2 || len(one.walk) != 2 {
			return g, fmt.Errorf("go test -bench Audit: a run without both benchmarks at both sizes:\n%s", o)
		}
		g.runs = append(g.runs, one.growth())
	}
	for _, n := range []int{g.small, g.big} {
		a, w := runs[fmt.Sprintf("Audit/%d", n)], runs[fmt.Sprintf("FileWalk/%d", n)]
		if len(a) == 0 || len(w) == 0 {
			return g, fmt.Errorf("go test -bench Audit: no ns/record at %d records:\n%s", n, out)
		}
		g.audit[n], g.walk[n] = medianOf(a), medianOf(w)
	}
	if len(g.runs) == 0 {
		return g, fmt.Errorf("go test -bench Audit: no run gave both benchmarks at both sizes:\n%s", out)
	}
	fmt.Printf("audit growth: %.0f -> %.0f ns/record (%.2f x); file's walk %.0f -> %.0f ns/record (%.2f x); each run's own part over the walk: %.2f\n",
		g.audit[g.small], g.audit[g.big], g.ratio(g.audit), g.walk[g.small], g.walk[g.big], g.ratio(g.walk), g.runs)
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

// growth is how much more the audit's own part grows than file's walk, from the small zone to the
// big one: 1 when both grow alike.
func (g growth) growth() float64 { return g.own(g.big) / g.own(g.small) / g.ratio(g.walk) }

// growthTarget is target 14: the audit is linear in the zone's size when the cost a record of its
// own part (all but the walk of file's tree that reads the zone) grows no more than the cost a
// record of that walk, whose work a record is constant too: both then grow only as the machine's
// memory makes every pass grow. The verdict is on the median of each run's ratio, as the other
// targets' are on the median of each round's: the four figures of a run are taken within a minute
// of each other, and the walk's own growth moved from 1.26 x to 1.66 x between two bench runs.
func growthTarget(g growth) target {
	own := g.own(g.big) / g.own(g.small)
	r := medianOf(slices.Clone(g.runs))
	return target{
		fmt.Sprintf("linear growth: the audit's own cost a record (less file's walk of the zone it reads) from %d to %d records grows <= 1.25 x as much as that walk's (BenchmarkAudit, BenchmarkFileWalk)", g.small, g.big),
		fmt.Sprintf("%.2f, the median of each run's (%.2f-%.2f); of the medians: own part %.2f x (%.0f -> %.0f ns), file's walk %.2f x (%.0f -> %.0f ns); the whole audit %.2f x",
			r, slices.Min(g.runs), slices.Max(g.runs), own, g.own(g.small), g.own(g.big), g.ratio(g.walk), g.walk[g.small], g.walk[g.big], g.ratio(g.audit)),
		r <= 1.25,
	}
}
