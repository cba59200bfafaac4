package audit

// One auditor's share of a gauge vector. Several server blocks may each run flatten, and each
// block's auditor publishes its own zones' figures to the same process-wide metric: resetting the
// whole vector at each audit would erase the other blocks' figures until their next audit.
//
// A reload replaces every auditor. The series a stopped auditor published are not deleted when it
// stops: its successor, which audits the same zones in the common case, has not audited yet (it
// starts once the new instance serves, after the old one is stopped), and an alert on a standing
// finding would resolve and fire again at every reload. They are handed on instead: once the new
// instance's auditors have started (Sweep), the series no running auditor covers (a zone removed
// from the Corefile) are deleted; the others stay until the first audit of an auditor that covers
// them, which keeps those it finds again and deletes the rest, as it does with its own.

import (
	"maps"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// gaugeSet remembers the label values one auditor set on vec. Only the auditor's checker goroutine
// publishes; enlist and retire are called by Start and Stop.
type gaugeSet struct {
	vec *prometheus.GaugeVec
	// covers reports whether a series (by its label values) is this auditor's to publish or
	// delete: one of its zones', or, for a vector not labelled by zone, any.
	covers func(labels []string) bool
	mine   map[string][]string // label values, by their joined key
}

// sets are the gauge sets of the running auditors, and the series of stopped ones that no running
// auditor has published or deleted since (handed on), by vector.
var sets struct {
	sync.Mutex
	live     map[*gaugeSet]struct{}
	handedOn map[*prometheus.GaugeVec]map[string][]string
}

func newGaugeSet(vec *prometheus.GaugeVec, covers func(labels []string) bool) *gaugeSet {
	return &gaugeSet{vec: vec, covers: covers, mine: map[string][]string{}}
}

// gauge is one value to publish, with its label values.
type gauge struct {
	labels []string
	value  float64
}

// publish sets every gauge of next, and deletes the label values this auditor set before and does
// not set now, and those a stopped auditor handed on that it covers and does not set now.
func (g *gaugeSet) publish(next []gauge) {
	now := make(map[string][]string, len(next))
	for _, x := range next {
		now[strings.Join(x.labels, "\x00")] = x.labels
		g.vec.WithLabelValues(x.labels...).Set(x.value)
	}
	for k, labels := range g.mine {
		if _, ok := now[k]; !ok {
			g.vec.DeleteLabelValues(labels...)
		}
	}
	g.mine = now
	sets.Lock()
	defer sets.Unlock()
	old := sets.handedOn[g.vec]
	for k, labels := range old {
		if _, ok := now[k]; ok {
			delete(old, k)
		} else if g.covers(labels) {
			g.vec.DeleteLabelValues(labels...)
			delete(old, k)
		}
	}
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

// retire hands the series g published on to the running auditors (see Sweep): g's auditor has
// stopped.
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
}

// Sweep deletes the series stopped auditors published that no running auditor covers: a zone no
// longer audited. The plugin calls it once the auditors of an instance that serves have started.
func Sweep() {
	sets.Lock()
	defer sets.Unlock()
	for vec, old := range sets.handedOn {
		for k, labels := range old {
			if !coveredLocked(vec, labels) {
				vec.DeleteLabelValues(labels...)
				delete(old, k)
			}
		}
	}
}

// coveredLocked reports whether a running auditor covers the series of vec with labels. sets is
// locked.
func coveredLocked(vec *prometheus.GaugeVec, labels []string) bool {
	for g := range sets.live {
		if g.vec == vec && g.covers(labels) {
			return true
		}
	}
	return false
}
