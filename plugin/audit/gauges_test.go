package audit

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// every covers every zone.
func every(string) bool { return true }

// Two server blocks' auditors publish to one gauge vector: each replaces only its own values, so
// one block's audit never erases the other's figures.
func TestGaugeSetsShareAVector(t *testing.T) {
	vec := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "refs", Help: "test"}, []string{"target"}) // registered nowhere
	a, b := newGaugeSet(vec, "a", every), newGaugeSet(vec, "b", every)
	a.enlist()
	b.enlist()
	defer a.retire()
	defer b.retire()
	a.publish([]gauge{{labels: []string{"cdn.example.net."}, value: 3}, {labels: []string{"old.example.net."}, value: 1}}, nil)
	b.publish([]gauge{{labels: []string{"mail.example.com."}, value: 2}}, nil)
	a.publish([]gauge{{labels: []string{"cdn.example.net."}, value: 4}}, nil) // old.example.net. no longer referenced

	if n := testutil.CollectAndCount(vec); n != 2 {
		t.Errorf("%d series, want 2 (cdn from a, mail from b)", n)
	}
	for target, want := range map[string]float64{"cdn.example.net.": 4, "mail.example.com.": 2} {
		if got := testutil.ToFloat64(vec.WithLabelValues(target)); got != want {
			t.Errorf("%s = %v, want %v", target, got, want)
		}
	}
	b.publish(nil, nil)
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

// in covers the zones given.
func in(zones ...string) func(string) bool {
	return func(zone string) bool { return slices.Contains(zones, zone) }
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
	old := newGaugeSet(vec, "block", in("kept.test.", "gone.test."))
	old.enlist()
	old.publish([]gauge{{labels: []string{"kept.test.", "dangling"}, zone: "kept.test.", value: 1}, {labels: []string{"kept.test.", "apex"}, zone: "kept.test.", value: 1}, {labels: []string{"gone.test.", "dangling"}, zone: "gone.test.", value: 2}}, []string{"kept.test.", "gone.test."})

	// The new instance's auditor exists before the old one stops, and starts after.
	next := newGaugeSet(vec, "block", in("kept.test."))
	old.retire()
	wantSeries(t, vec, "the old auditor stopped", "apex/kept.test.", "dangling/gone.test.", "dangling/kept.test.")
	next.enlist()
	Sweep()
	wantSeries(t, vec, "after Sweep", "apex/kept.test.", "dangling/kept.test.")
	next.publish([]gauge{{labels: []string{"kept.test.", "dangling"}, zone: "kept.test.", value: 3}}, []string{"kept.test."}) // the apex finding was fixed
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
		old := newGaugeSet(vec, "root", in("a.test.", "b.test."))
		old.enlist()
		old.publish([]gauge{{labels: []string{"a.test.", "apex"}, zone: "a.test.", value: 1}, {labels: []string{"b.test.", "apex"}, zone: "b.test.", value: 1}}, []string{"a.test.", "b.test."})
		// Until its first audit, the new auditor holds "." and covers every zone.
		zones := []string{"a.test.", "b.test."}
		next := newGaugeSet(vec, "root", func(zone string) bool { return slices.Contains(zones, zone) })
		old.retire()
		next.enlist()
		Sweep()
		wantSeries(t, vec, "after Sweep", "apex/a.test.", "apex/b.test.")
		zones = []string{"a.test."} // its audit found b.test. gone from the zones below "."
		next.publish([]gauge{{labels: []string{"a.test.", "apex"}, zone: "a.test.", value: 1}}, []string{"a.test."})
		wantSeries(t, vec, "after the new audit", "apex/a.test.")
	})
	t.Run("two blocks", func(t *testing.T) {
		vec := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "refs", Help: "test"}, []string{"target"})
		oldA, oldB := newGaugeSet(vec, "A", every), newGaugeSet(vec, "B", every)
		oldA.enlist()
		oldB.enlist()
		oldA.publish([]gauge{{labels: []string{"a.cdn.test."}, value: 1}}, []string{""})
		oldB.publish([]gauge{{labels: []string{"b.cdn.test."}, value: 1}, {labels: []string{"old.cdn.test."}, value: 1}}, []string{""})
		newA, newB := newGaugeSet(vec, "A", every), newGaugeSet(vec, "B", every)
		oldA.retire()
		oldB.retire()
		newA.enlist()
		newB.enlist()
		Sweep()
		newA.publish([]gauge{{labels: []string{"a.cdn.test."}, value: 2}}, []string{""})
		wantSeries(t, vec, "after block A's audit", "a.cdn.test.", "b.cdn.test.", "old.cdn.test.")
		newB.publish([]gauge{{labels: []string{"b.cdn.test."}, value: 2}}, []string{""})
		wantSeries(t, vec, "after both audits", "a.cdn.test.", "b.cdn.test.")
	})
	t.Run("a successor started early", func(t *testing.T) {
		vec := findingsVec()
		old, next := newGaugeSet(vec, "block", in("a.test.")), newGaugeSet(vec, "block", in("a.test."))
		old.enlist()
		old.publish([]gauge{{labels: []string{"a.test.", "apex"}, zone: "a.test.", value: 1}, {labels: []string{"a.test.", "dangling"}, zone: "a.test.", value: 1}}, []string{"a.test."})
		next.enlist()
		next.publish([]gauge{{labels: []string{"a.test.", "apex"}, zone: "a.test.", value: 1}}, []string{"a.test."})
		old.retire()
		wantSeries(t, vec, "the old auditor stopped after the new one's audit", "apex/a.test.")
	})
}

// Server blocks that share no label on the vector: figures from different zones add up (one block
// per zone, each reaching one target), one zone audited by two blocks counts once, and where two
// auditors of a zone differ the larger shows (one block's resolver is down); a block's later
// audit changes only its own part.
func TestGaugeSetsAcrossBlocks(t *testing.T) {
	refs := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "refs", Help: "test"}, []string{"target"})
	unchecked := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "unchecked", Help: "test"}, []string{"zone"})
	ref := func(n float64, zone string) gauge {
		return gauge{labels: []string{"ns1.example.net."}, zone: zone, value: n}
	}
	var blocks []*gaugeSet
	block := func(vec *prometheus.GaugeVec, zones ...string) *gaugeSet {
		g := newGaugeSet(vec, fmt.Sprintf("block %d", len(blocks)), in(zones...))
		g.enlist()
		blocks = append(blocks, g)
		return g
	}
	defer func() {
		for _, g := range blocks {
			g.retire()
		}
		Sweep()
	}()
	value := func(vec *prometheus.GaugeVec, label string) float64 {
		return testutil.ToFloat64(vec.WithLabelValues(label))
	}

	a, b, c := block(refs, "a.test."), block(refs, "b.test."), block(refs, "a.test.")
	a.publish([]gauge{ref(2, "a.test.")}, []string{"a.test."})
	b.publish([]gauge{ref(3, "b.test.")}, []string{"b.test."})
	if got := value(refs, "ns1.example.net."); got != 5 {
		t.Errorf("two blocks, two zones: %v references, want 5 (2 + 3)", got)
	}
	c.publish([]gauge{ref(2, "a.test.")}, []string{"a.test."})
	if got := value(refs, "ns1.example.net."); got != 5 {
		t.Errorf("a.test. audited by two blocks: %v references, want 5 (counted once)", got)
	}
	b.publish(nil, []string{"b.test."}) // b.test.'s NS records changed
	if got := value(refs, "ns1.example.net."); got != 2 {
		t.Errorf("b.test. no longer refers: %v references, want 2", got)
	}
	a.publish(nil, []string{"a.test."})
	c.publish(nil, []string{"a.test."})
	wantSeries(t, refs, "no block refers")

	ok, down := block(unchecked, "example.org."), block(unchecked, "example.org.")
	down.publish([]gauge{{labels: []string{"example.org."}, zone: "example.org.", value: 2}}, []string{"example.org."})
	ok.publish([]gauge{{labels: []string{"example.org."}, zone: "example.org.", value: 0}}, []string{"example.org."})
	if got := value(unchecked, "example.org."); got != 2 {
		t.Errorf("one of two blocks could not check 2 names: %v, want 2 (the block that checked all does not hide it)", got)
	}
}

// A reload of two blocks that audit one zone and disagree (one's resolver is down): while the old
// blocks stop one after the other and until each successor audits, the larger figure stays; only a
// block's own successor settles its figures, never the other block, old or new.
func TestGaugesHandedOnAcrossBlocks(t *testing.T) {
	vec := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "unchecked", Help: "test"}, []string{"zone"})
	fig := func(n float64) []gauge {
		return []gauge{{labels: []string{"example.org."}, zone: "example.org.", value: n}}
	}
	value := func() float64 { return testutil.ToFloat64(vec.WithLabelValues("example.org.")) }
	down, ok := newGaugeSet(vec, "down", in("example.org.")), newGaugeSet(vec, "ok", in("example.org."))
	down.enlist()
	ok.enlist()
	down.publish(fig(2), []string{"example.org."})
	ok.publish(fig(0), []string{"example.org."})
	if got := value(); got != 2 {
		t.Fatalf("before the reload: %v, want 2", got)
	}
	down2, ok2 := newGaugeSet(vec, "down", in("example.org.")), newGaugeSet(vec, "ok", in("example.org."))
	down.retire()
	if got := value(); got != 2 {
		t.Errorf("the block whose resolver is down stopped, the other still runs: %v, want 2", got)
	}
	ok.retire()
	down2.enlist()
	ok2.enlist()
	Sweep()
	if got := value(); got != 2 {
		t.Errorf("both stopped, their successors started: %v, want 2", got)
	}
	ok2.publish(fig(0), []string{"example.org."})
	if got := value(); got != 2 {
		t.Errorf("the other block's successor audited: %v, want 2 (not its figure to settle)", got)
	}
	down2.publish(fig(0), []string{"example.org."}) // the resolver answers again
	if got := value(); got != 0 {
		t.Errorf("the successor of the block whose resolver was down audited: %v, want 0", got)
	}
	down2.retire()
	ok2.retire()
	Sweep()
	wantSeries(t, vec, "once no auditor runs")
}

// Figures from names in no zone read (a declared alias in a zone no plugin of the block serves)
// come from the plugin's ZONES: the auditor covers them, so that a reload hands them on rather than
// sweeping them, and blocks of other zones add up rather than share one figure.
func TestFiguresOfNamesInNoZoneRead(t *testing.T) {
	a := New(Config{Zones: chain.Zones{"example.org."}, Block: "a"})
	b := New(Config{Zones: chain.Zones{"example.com."}, Block: "b"})
	za, zb := a.figureZone(""), b.figureZone("")
	if za == "" || za == zb || !a.referenced.covers(za) || a.referenced.covers(zb) || a.standing.covers("") {
		t.Errorf("figure zones %q and %q: a covers its own %v, b's %v, none %v", za, zb, a.referenced.covers(za), a.referenced.covers(zb), a.standing.covers(""))
	}
	if a.figureZone("example.org.") != "example.org." {
		t.Errorf("a zone read is its own figure zone: %q", a.figureZone("example.org."))
	}
}

// The shapes a second review found: two blocks' figures of one zone are each settled by their own
// block's successor, whichever audits first; a successor that has not read a zone (not synced, a
// failed read) does not let go of its figures; a block whose keys changed hands its figures to
// the auditor of their zone; only figures handed on handOnMax ago expire.
func TestGaugesHandedOnReviewShapes(t *testing.T) {
	org := []string{"example.org."}
	fig := func(n float64) []gauge {
		return []gauge{{labels: []string{"example.org."}, zone: "example.org.", value: n}}
	}
	newVec := func() (*prometheus.GaugeVec, func() float64) {
		vec := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "unchecked", Help: "test"}, []string{"zone"})
		return vec, func() float64 { return testutil.ToFloat64(vec.WithLabelValues("example.org.")) }
	}
	set := func(vec *prometheus.GaugeVec, block string) *gaugeSet {
		return newGaugeSet(vec, block, in("example.org."))
	}
	done := func(gs ...*gaugeSet) {
		for _, g := range gs {
			g.retire()
		}
		Sweep()
		expireAll()
	}

	t.Run("two blocks, the smaller's successor audits last", func(t *testing.T) {
		vec, value := newVec()
		a, b := set(vec, "a"), set(vec, "b")
		a.enlist()
		b.enlist()
		a.publish(fig(5), org)
		b.publish(fig(3), org)
		a2, b2 := set(vec, "a"), set(vec, "b")
		a.retire()
		b.retire()
		a2.enlist()
		b2.enlist()
		Sweep()
		a2.publish(fig(0), org)
		if got := value(); got != 3 {
			t.Errorf("a's successor found nothing, b's has not audited: %v, want 3 (b's figure)", got)
		}
		b2.publish(fig(3), org)
		if got := value(); got != 3 {
			t.Errorf("b's successor found 3 again: %v, want 3", got)
		}
		done(a2, b2)
	})
	// reload: an auditor of block publishes 2 and stops; its successor, of next's block, starts.
	reload := func(vec *prometheus.GaugeVec, block, next string) *gaugeSet {
		old, g := set(vec, block), set(vec, next)
		old.enlist()
		old.publish(fig(2), org)
		old.retire()
		g.enlist()
		Sweep()
		return g
	}

	t.Run("a zone the successor has not read", func(t *testing.T) {
		vec, value := newVec()
		next := reload(vec, "a", "a")
		next.publish(nil, nil) // example.org. not read yet (a kubernetes zone not synced)
		if got := value(); got != 2 {
			t.Errorf("the successor has not read the zone: %v, want 2 (kept)", got)
		}
		next.publish(nil, org)
		wantSeries(t, vec, "the successor read it and found nothing")
		done(next)
	})
	t.Run("a block whose keys changed", func(t *testing.T) {
		vec, value := newVec()
		renamed := reload(vec, "example.org:53", "example.org:53 example.net:53")
		if got := value(); got != 2 {
			t.Errorf("after the sweep: %v, want 2 (the zone is still audited)", got)
		}
		renamed.publish(fig(1), org)
		if got := value(); got != 1 {
			t.Errorf("the renamed block audited: %v, want its 1", got)
		}
		done(renamed)
	})
	t.Run("an earlier reload's timer", func(t *testing.T) {
		vec, value := newVec()
		old := set(vec, "a")
		old.enlist()
		old.publish(fig(2), org)
		old.retire()
		expire() // the timer of a reload a minute before this one
		if got := value(); got != 2 {
			t.Errorf("a figure handed on just now: %v, want 2 (not expired)", got)
		}
		expireAll()
		wantSeries(t, vec, "a minute later, no successor")
	})
}

// expireAll expires every figure handed on, as if handOnMax had passed.
func expireAll() {
	sets.Lock()
	for _, old := range sets.handedOn {
		for _, byAt := range old {
			for at, x := range byAt {
				x.since = x.since.Add(-handOnMax)
				byAt[at] = x
			}
		}
	}
	sets.Unlock()
	expire()
}
