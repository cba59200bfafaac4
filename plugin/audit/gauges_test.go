package audit

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// every covers every series.
func every([]string) bool { return true }

// Two server blocks' auditors publish to one gauge vector: each replaces only its own values, so
// one block's audit never erases the other's figures.
func TestGaugeSetsShareAVector(t *testing.T) {
	vec := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "refs", Help: "test"}, []string{"target"}) // registered nowhere
	a, b := newGaugeSet(vec, every), newGaugeSet(vec, every)
	a.publish([]gauge{{[]string{"cdn.example.net."}, 3}, {[]string{"old.example.net."}, 1}})
	b.publish([]gauge{{[]string{"mail.example.com."}, 2}})
	a.publish([]gauge{{[]string{"cdn.example.net."}, 4}}) // old.example.net. no longer referenced

	if n := testutil.CollectAndCount(vec); n != 2 {
		t.Errorf("%d series, want 2 (cdn from a, mail from b)", n)
	}
	for target, want := range map[string]float64{"cdn.example.net.": 4, "mail.example.com.": 2} {
		if got := testutil.ToFloat64(vec.WithLabelValues(target)); got != want {
			t.Errorf("%s = %v, want %v", target, got, want)
		}
	}
	b.publish(nil)
	if n := testutil.CollectAndCount(vec); n != 1 {
		t.Errorf("%d series after b found nothing, want 1", n)
	}
}

// seriesOf lists the series of vec, by their label values (in the order of the labels' names)
// joined with "/", sorted.
func seriesOf(t *testing.T, vec *prometheus.GaugeVec) []string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(vec)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var l []string
			for _, p := range m.GetLabel() {
				l = append(l, p.GetValue())
			}
			out = append(out, strings.Join(l, "/"))
		}
	}
	slices.Sort(out)
	return out
}

// in covers the series of the zones given.
func in(zones ...string) func([]string) bool {
	return func(labels []string) bool { return slices.Contains(zones, labels[0]) }
}

// findingsVec is a vector labelled as audit_findings is, registered nowhere.
func findingsVec() *prometheus.GaugeVec {
	return promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "findings", Help: "test"}, []string{"zone", "rule"})
}

func wantSeries(t *testing.T, vec *prometheus.GaugeVec, when string, want ...string) {
	t.Helper()
	if got := seriesOf(t, vec); !slices.Equal(got, want) {
		t.Errorf("%s: series %v, want %v", when, got, want)
	}
}

// A reload: the stopped auditor's series of a zone no running auditor audits go at Sweep; those of
// a zone the new auditor audits stay until its first publish, which keeps what it finds again.
func TestGaugesHandedOnAtReload(t *testing.T) {
	vec := findingsVec()
	old := newGaugeSet(vec, in("kept.test.", "gone.test."))
	old.enlist()
	old.publish([]gauge{{[]string{"kept.test.", "dangling"}, 1}, {[]string{"kept.test.", "apex"}, 1}, {[]string{"gone.test.", "dangling"}, 2}})

	// The new instance's auditor exists before the old one stops, and starts after.
	next := newGaugeSet(vec, in("kept.test."))
	old.retire()
	wantSeries(t, vec, "the old auditor stopped", "apex/kept.test.", "dangling/gone.test.", "dangling/kept.test.")
	next.enlist()
	Sweep()
	wantSeries(t, vec, "after Sweep", "apex/kept.test.", "dangling/kept.test.")
	next.publish([]gauge{{[]string{"kept.test.", "dangling"}, 3}}) // the apex finding was fixed
	wantSeries(t, vec, "after the new audit", "dangling/kept.test.")
	if got := testutil.ToFloat64(vec.WithLabelValues("kept.test.", "dangling")); got != 3 {
		t.Errorf("after the new audit: kept.test. dangling = %v, want 3", got)
	}
	next.retire()
	Sweep() // as no instance started after it: the delayed sweep
	wantSeries(t, vec, "once no auditor runs")
}

// The settling's other shapes: a root block whose zones are known after its first audit, two blocks
// that both publish every target, a successor a question started before its predecessor stopped.
func TestGaugesHandedOnShapes(t *testing.T) {
	t.Run("a root block", func(t *testing.T) {
		vec := findingsVec()
		old := newGaugeSet(vec, in("a.test.", "b.test."))
		old.enlist()
		old.publish([]gauge{{[]string{"a.test.", "apex"}, 1}, {[]string{"b.test.", "apex"}, 1}})
		// Until its first audit, the new auditor holds "." and covers every zone.
		zones := []string{"a.test.", "b.test."}
		next := newGaugeSet(vec, func(l []string) bool { return slices.Contains(zones, l[0]) })
		old.retire()
		next.enlist()
		Sweep()
		wantSeries(t, vec, "after Sweep", "apex/a.test.", "apex/b.test.")
		zones = []string{"a.test."} // its audit found b.test. gone from the zones below "."
		next.publish([]gauge{{[]string{"a.test.", "apex"}, 1}})
		wantSeries(t, vec, "after the new audit", "apex/a.test.")
	})
	t.Run("two blocks", func(t *testing.T) {
		vec := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "refs", Help: "test"}, []string{"target"})
		oldA, oldB := newGaugeSet(vec, every), newGaugeSet(vec, every)
		oldA.enlist()
		oldB.enlist()
		oldA.publish([]gauge{{[]string{"a.cdn.test."}, 1}})
		oldB.publish([]gauge{{[]string{"b.cdn.test."}, 1}, {[]string{"old.cdn.test."}, 1}})
		newA, newB := newGaugeSet(vec, every), newGaugeSet(vec, every)
		oldA.retire()
		oldB.retire()
		newA.enlist()
		newB.enlist()
		Sweep()
		newA.publish([]gauge{{[]string{"a.cdn.test."}, 2}})
		wantSeries(t, vec, "after block A's audit", "a.cdn.test.", "b.cdn.test.", "old.cdn.test.")
		newB.publish([]gauge{{[]string{"b.cdn.test."}, 2}})
		wantSeries(t, vec, "after both audits", "a.cdn.test.", "b.cdn.test.")
	})
	t.Run("a successor started early", func(t *testing.T) {
		vec := findingsVec()
		old, next := newGaugeSet(vec, in("a.test.")), newGaugeSet(vec, in("a.test."))
		old.enlist()
		old.publish([]gauge{{[]string{"a.test.", "apex"}, 1}, {[]string{"a.test.", "dangling"}, 1}})
		next.enlist()
		next.publish([]gauge{{[]string{"a.test.", "apex"}, 1}})
		old.retire()
		wantSeries(t, vec, "the old auditor stopped after the new one's audit", "apex/a.test.")
	})
}
