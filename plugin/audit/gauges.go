package audit

// One auditor's share of a gauge vector. Several server blocks may each run flatten, and each
// block's auditor publishes its own zones' figures to the same process-wide metric, which has no
// label for the block: a series is the sum, over the zones its figure comes from, of the largest
// figure any auditor of that zone gives. Two blocks that reach one target from zones of their own
// (one block per zone is a common Corefile) add up; two that audit the same zone (on two ports, or
// over DNS and TLS) count it once; and where they differ (their resolvers, or views, differ) the
// worse figure shows. Resetting the whole vector at each audit, or one block's figure replacing
// another's, would erase or hide the other blocks' figures.
//
// A reload replaces every auditor. The figures a stopped auditor published are not deleted when it
// stops: its successor, the new auditor of the same server block, which audits the same zones in
// the common case, has not audited yet (it starts once the new instance serves, after the old one
// is stopped), and an alert on a standing finding would resolve and fire again at every reload.
// They are handed on to it instead, count as they did until they are settled, and are settled one
// by one, each by its own block's successor (another block's auditor, old or new, has figures of
// its own): one the successor publishes again is replaced by it; one of a zone the successor read
// and let go of in an audit is deleted. Once the new instance's auditors have all started (Sweep),
// a figure whose block is gone (a block's keys edited) is settled by any auditor of its zone, and
// one no auditor covers (a zone, or a block, removed from the Corefile) is deleted. Whatever is
// still handed on handOnMax after its auditor stopped is deleted (expire): a zone its successor
// cannot read, or a Corefile with no flatten left.

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gaugeSet remembers the figures one auditor set on vec. Only the auditor's checker goroutine
// publishes; enlist and retire are called by Start and Stop; every field but vec, block and covers
// is read and written with sets locked.
type gaugeSet struct {
	vec *prometheus.GaugeVec
	// block is the auditor's server block (its keys and addresses), which its successor at a
	// reload shares.
	block string
	// covers reports whether a figure from zone is this auditor's to publish or let go of: one of
	// its zones.
	covers func(zone string) bool
	mine   figures
	// read are the zones the figures published last were made from: nil until the first publish.
	read map[string]bool
}

// figures are the figures of one gauge vector, by the series' joined label values, then by the
// zone each comes from (and, for figures handed on, the block that gave it).
type figures map[string]map[string]figure

// figure is one zone's figure of a series. A figure handed on also has the block of the stopped
// auditor that gave it ("" once any auditor of its zone may settle it) and when it was handed on.
type figure struct {
	labels []string
	zone   string
	value  float64
	block  string
	since  time.Time
}

// handOnMax is how long after its auditor stopped a figure still handed on is deleted.
const handOnMax = time.Minute

// sets are the gauge sets of the running auditors, and the figures of stopped ones not yet settled
// (handed on), by vector; swept is false from an auditor's stop to the next Sweep, while the
// auditors of the instance that replaces it may not all have started.
var sets struct {
	sync.Mutex
	live     map[*gaugeSet]struct{}
	handedOn map[*prometheus.GaugeVec]figures
	swept    bool
}

func newGaugeSet(vec *prometheus.GaugeVec, block string, covers func(zone string) bool) *gaugeSet {
	return &gaugeSet{vec: vec, block: block, covers: covers, mine: figures{}}
}

// gauge is one figure to publish: its series' label values, and the zone it comes from.
type gauge struct {
	labels []string
	zone   string
	value  float64
}

// key is the series' key in figures.
func key(labels []string) string { return strings.Join(labels, "\x00") }

// set sets x, a figure of the series labels, under at.
func (f figures) set(labels []string, at string, x figure) {
	k := key(labels)
	byAt := f[k]
	if byAt == nil {
		byAt = map[string]figure{}
		f[k] = byAt
	}
	byAt[at] = x
}

// publish replaces the auditor's figures with next, made from the zones read, and sets the series
// they are part of, and those it gave figures to before, to what every auditor's figures make now;
// it settles the figures handed on.
func (g *gaugeSet) publish(next []gauge, read []string) {
	now := make(figures, len(next))
	for _, x := range next {
		old := now[key(x.labels)][x.zone]
		now.set(x.labels, x.zone, figure{labels: x.labels, zone: x.zone, value: old.value + x.value})
	}
	sets.Lock()
	defer sets.Unlock()
	changed := make(map[string][]string, len(now)+len(g.mine))
	for _, m := range []figures{g.mine, now} {
		for k, byZone := range m {
			for _, x := range byZone {
				changed[k] = x.labels
				break
			}
		}
	}
	g.mine = now
	g.read = make(map[string]bool, len(read))
	for _, z := range read {
		g.read[z] = true
	}
	settleLocked(g.vec, sets.swept, changed)
	setLocked(g.vec, changed)
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

// retire hands the figures g published on to the successor of g's auditor, which has stopped.
// Its Stop expires them handOnMax later.
func (g *gaugeSet) retire() {
	sets.Lock()
	defer sets.Unlock()
	delete(sets.live, g)
	if len(g.mine) == 0 {
		return
	}
	if sets.handedOn == nil {
		sets.handedOn = map[*prometheus.GaugeVec]figures{}
	}
	old := sets.handedOn[g.vec]
	if old == nil {
		old = figures{}
		sets.handedOn[g.vec] = old
	}
	now := time.Now()
	changed := make(map[string][]string, len(g.mine))
	for k, byZone := range g.mine {
		for zone, x := range byZone {
			x.block, x.since = g.block, now
			old.set(x.labels, zone+"\x00"+g.block, x)
			changed[k] = x.labels
		}
	}
	g.mine = figures{}
	sets.swept = false
	settleLocked(g.vec, false, changed) // a successor started early (a question started it) may have published
	setLocked(g.vec, changed)
}

// Sweep settles every figure handed on as the new instance's auditors, all started now, can: a
// figure whose block is gone goes to any auditor of its zone, and one no auditor covers is deleted.
// The plugin calls it once the auditors of an instance that serves have started.
func Sweep() {
	sets.Lock()
	defer sets.Unlock()
	sets.swept = true
	for vec := range sets.handedOn {
		changed := map[string][]string{}
		settleLocked(vec, true, changed)
		setLocked(vec, changed)
	}
}

// expire deletes the figures handed on at least handOnMax ago that are still not settled.
func expire() {
	sets.Lock()
	defer sets.Unlock()
	for vec, old := range sets.handedOn {
		changed := map[string][]string{}
		for k, byAt := range old {
			for at, x := range byAt {
				if time.Since(x.since) >= handOnMax {
					delete(byAt, at)
					changed[k] = x.labels
				}
			}
			if len(byAt) == 0 {
				delete(old, k)
			}
		}
		setLocked(vec, changed)
	}
}

// settleLocked settles the figures of vec handed on, each by its successors (the running auditors
// of the block that gave it; any running auditor of its zone once its block is gone): one a
// successor published again is replaced by it; one of a zone the successors that cover it have all
// read and let go of in an audit is deleted. With sweep, the new instance's auditors have all
// started: a figure no successor covers goes to any running auditor that covers its zone, or is
// deleted when none does. The series whose figures it settles are added to changed. sets is locked.
func settleLocked(vec *prometheus.GaugeVec, sweep bool, changed map[string][]string) {
	old := sets.handedOn[vec]
	for k, byAt := range old {
		for at, x := range byAt {
			claimed, covered, waiting, others := false, false, false, false
			for g := range sets.live {
				if g.vec != vec {
					continue
				}
				if x.block != "" && g.block != x.block { // another block's: not its successor
					others = others || g.covers(x.zone)
					continue
				}
				if _, ok := g.mine[k][x.zone]; ok {
					claimed = true
					break
				}
				if g.covers(x.zone) {
					covered = true
					waiting = waiting || !g.read[x.zone] // not read, or nothing published yet
				}
			}
			switch {
			case claimed || covered && !waiting:
				delete(byAt, at)
				changed[k] = x.labels
			case covered || !sweep:
			case others:
				x.block = "" // its block is gone: any auditor of its zone settles it
				byAt[at] = x
			default:
				delete(byAt, at)
				changed[k] = x.labels
			}
		}
		if len(byAt) == 0 {
			delete(old, k)
		}
	}
}

// setLocked sets each series of changed (by key, with its label values) on vec to the sum, over
// the zones its figures come from, of the largest figure a running auditor gives for that zone or
// a stopped one handed on; a series with no figure left is deleted. sets is locked.
func setLocked(vec *prometheus.GaugeVec, changed map[string][]string) {
	for k, labels := range changed {
		best := map[string]float64{}
		for g := range sets.live {
			if g.vec != vec {
				continue
			}
			for zone, x := range g.mine[k] {
				if v, ok := best[zone]; !ok || x.value > v {
					best[zone] = x.value
				}
			}
		}
		for _, x := range sets.handedOn[vec][k] {
			if v, ok := best[x.zone]; !ok || x.value > v {
				best[x.zone] = x.value
			}
		}
		if len(best) == 0 {
			vec.DeleteLabelValues(labels...)
			continue
		}
		sum := 0.0
		for _, v := range best {
			sum += v
		}
		vec.WithLabelValues(labels...).Set(sum)
	}
}
