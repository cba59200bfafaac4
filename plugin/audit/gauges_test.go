package audit

import (
	"slices"
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

// A reload: the stopped auditor's series of a zone no running auditor audits go at Sweep; those of
// a zone the new auditor audits stay until its first publish, which keeps what it finds again.
func TestGaugesHandedOnAtReload(t *testing.T) {
	vec := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "findings", Help: "test"}, []string{"zone", "rule"})
	in := func(zones ...string) func([]string) bool {
		return func(labels []string) bool { return slices.Contains(zones, labels[0]) }
	}
	old := newGaugeSet(vec, in("kept.test.", "gone.test."))
	old.enlist()
	old.publish([]gauge{{[]string{"kept.test.", "dangling"}, 1}, {[]string{"kept.test.", "apex"}, 1}, {[]string{"gone.test.", "dangling"}, 2}})

	// The new instance's auditor exists before the old one stops, and starts after.
	next := newGaugeSet(vec, in("kept.test."))
	old.retire()
	next.enlist()
	Sweep()
	series := func() []string {
		var out []string
		for _, l := range [][]string{{"kept.test.", "dangling"}, {"kept.test.", "apex"}, {"gone.test.", "dangling"}} {
			if vec.DeleteLabelValues(l...) { // the only way to ask whether a series exists; put back
				out = append(out, l[0]+l[1])
				vec.WithLabelValues(l...).Set(1)
			}
		}
		return out
	}
	if got, want := series(), []string{"kept.test.dangling", "kept.test.apex"}; !slices.Equal(got, want) {
		t.Errorf("after Sweep: series %v, want %v (gone.test.'s gone, kept.test.'s kept)", got, want)
	}
	next.publish([]gauge{{[]string{"kept.test.", "dangling"}, 3}}) // the apex finding was fixed
	if got := testutil.ToFloat64(vec.WithLabelValues("kept.test.", "dangling")); got != 3 {
		t.Errorf("after the new audit: kept.test. dangling = %v, want 3", got)
	}
	if got, want := series(), []string{"kept.test.dangling"}; !slices.Equal(got, want) {
		t.Errorf("after the new audit: series %v, want %v", got, want)
	}
	next.retire()
	Sweep()
	if n := testutil.CollectAndCount(vec); n != 0 {
		t.Errorf("%d series once no auditor runs, want 0", n)
	}
}
