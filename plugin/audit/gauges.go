package audit

// One auditor's share of a gauge vector. Several server blocks may each run flatten, and each
// block's auditor publishes its own zones' figures to the same process-wide metric: resetting the
// whole vector at each audit would erase the other blocks' figures until their next audit.

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// gaugeSet remembers the label values one auditor set on vec. Only the auditor's checker goroutine
// uses it.
type gaugeSet struct {
	vec  *prometheus.GaugeVec
	mine map[string][]string // label values, by their joined key
}

func newGaugeSet(vec *prometheus.GaugeVec) *gaugeSet {
	return &gaugeSet{vec: vec, mine: map[string][]string{}}
}

// gauge is one value to publish, with its label values.
type gauge struct {
	labels []string
	value  float64
}

// publish sets every gauge of next, and deletes the label values this auditor set before and does
// not set now.
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
}
