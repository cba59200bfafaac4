package audit

// One auditor's share of a gauge vector. Several server blocks may each run flatten, and each
// block's auditor publishes its own zones' figures to the same process-wide metric: resetting the
// whole vector at each audit would erase the other blocks' figures until their next audit.
//
// A reload replaces every auditor. The series a stopped auditor published are not deleted when it
// stops: its successor, which audits the same zones in the common case, has not audited yet (it
// starts once the new instance serves, after the old one is stopped), and an alert on a standing
// finding would resolve and fire again at every reload. They are handed on instead, and settled
// series by series: one a running auditor publishes again is its own; one that every running
// auditor covering it (auditing its zone; for target_references, every auditor) has let go of in
// an audit since it started is deleted; one no running auditor covers (a zone removed from the
// Corefile) is deleted once the new instance's auditors have all started (Sweep), or, should that
// moment never come (flatten itself removed from the Corefile), handOnMax after the reload.

import (
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gaugeSet remembers the label values one auditor set on vec. Only the auditor's checker goroutine
// publishes; enlist and retire are called by Start and Stop; mine and published are read by the
// settling of other auditors' series, and written with sets locked.
type gaugeSet struct {
	vec *prometheus.GaugeVec
	// covers reports whether a series (by its label values) is this auditor's to publish or
	// delete: one of its zones', or, for a vector not labelled by zone, any.
	covers func(labels []string) bool
	mine   map[string][]string // label values, by their joined key
	// published is set by the set's first publish.
	published bool
}

// handOnMax is how long after a reload the series handed on that no running auditor covers are
// deleted, when no instance's start has swept them before.
const handOnMax = time.Minute

// sets are the gauge sets of the running auditors, and the series of stopped ones not yet settled
// (handed on), by vector; swept is false from an auditor's stop to the next Sweep, while the
// auditors of the instance that replaces it may not all have started.
var sets struct {
	sync.Mutex
	live     map[*gaugeSet]struct{}
	handedOn map[*prometheus.GaugeVec]map[string][]string
	swept    bool
}

func newGaugeSet(vec *prometheus.GaugeVec, covers func(labels []string) bool) *gaugeSet {
	return &gaugeSet{vec: vec, covers: covers, mine: map[string][]string{}}
}

// gauge is one value to publish, with its label values.
type gauge struct {
	labels []string
	value  float64
}

// publish sets every gauge of next, deletes the label values this auditor set before and does not
// set now, and settles the series handed on to it.
func (g *gaugeSet) publish(next []gauge) {
	now := make(map[string][]string, len(next))
	for _, x := range next {
		now[strings.Join(x.labels, "\x00")] = x.labels
		g.vec.WithLabelValues(x.labels...).Set(x.value)
	}
	sets.Lock()
	defer sets.Unlock()
	for k, labels := range g.mine {
		if _, ok := now[k]; !ok {
			g.vec.DeleteLabelValues(labels...)
		}
	}
	g.mine, g.published = now, true
	settleLocked(g.vec, sets.swept)
}

// enlist counts g among the running auditors' sets.
func (g *gaugeSet) enlist() {
	sets.Lock()
	defer sets.Unlock()
	if sets.live == nil {
		sets.live = map[*gaugeSet]struct{}{}
	}
	sets.live[g] = struct{}{}
}

// retire hands the series g published on to the running auditors: g's auditor has stopped. Its
// Stop sweeps handOnMax later.
func (g *gaugeSet) retire() {
	sets.Lock()
	defer sets.Unlock()
	delete(sets.live, g)
	if len(g.mine) == 0 {
		return
	}
	if sets.handedOn == nil {
		sets.handedOn = map[*prometheus.GaugeVec]map[string][]string{}
	}
	old := sets.handedOn[g.vec]
	if old == nil {
		old = map[string][]string{}
		sets.handedOn[g.vec] = old
	}
	maps.Copy(old, g.mine)
	g.mine = map[string][]string{}
	sets.swept = false
	settleLocked(g.vec, false) // a successor started early (a question started it) may have published
}

// Sweep settles every series handed on, deleting those no running auditor covers: a zone no longer
// audited. The plugin calls it once the auditors of an instance that serves have started.
func Sweep() {
	sets.Lock()
	defer sets.Unlock()
	sets.swept = true
	for vec := range sets.handedOn {
		settleLocked(vec, true)
	}
}

// settleLocked settles the series of vec handed on: one a running auditor published again is its
// own; one the running auditors that cover it have all let go of in an audit is deleted; one no
// running auditor covers is deleted when uncovered says so. sets is locked.
func settleLocked(vec *prometheus.GaugeVec, uncovered bool) {
	old := sets.handedOn[vec]
	for k, labels := range old {
		claimed, covered, waiting := false, false, false
		for g := range sets.live {
			if g.vec != vec {
				continue
			}
			if _, ok := g.mine[k]; ok {
				claimed = true
				break
			}
			if g.covers(labels) {
				covered = true
				waiting = waiting || !g.published
			}
		}
		switch {
		case claimed:
			delete(old, k)
		case waiting:
		case covered || uncovered:
			vec.DeleteLabelValues(labels...)
			delete(old, k)
		}
	}
}
