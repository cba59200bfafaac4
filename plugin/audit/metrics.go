package audit

// The metrics of validation, all under coredns_flatten_: what the audit finds (by zone, rule and
// severity), and what live answers meet (by server, as CoreDNS's own metrics are). Registered once
// per process (promauto), so that a reload that builds the plugin again does not register them
// twice.

import (
	"github.com/coredns/coredns/plugin"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const subsystem = "flatten"

var (
	// findingCount counts validation findings, from the zone audit and from live answers.
	findingCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "findings_total",
		Help:      "Counter of CNAME validation findings, from zone audits and live answers, by rule and severity.",
	}, []string{"rule", "severity"})

	// auditDuration is how long the last audit took, from reading the zones to the findings.
	auditDuration = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "audit_duration_seconds",
		Help:      "Gauge of the time the last zone audit took, from reading the zones to its findings.",
	})

	// auditFindings is what the last audit found, by zone, rule and severity: what an alert on a
	// standing problem reads (findings_total counts events).
	auditFindings = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "audit_findings",
		Help:      "Gauge of the findings of the last zone audit, by zone, rule and severity.",
	}, []string{"zone", "rule", "severity"})

	// auditUnchecked is, per zone, how many names outside the zones the last audit needed an
	// answer about and got none (after one retry): the checks of those names were not made.
	auditUnchecked = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "audit_unchecked_names",
		Help:      "Gauge of the names outside the zones that the last zone audit needed an answer about and got none (after one retry), by the zone whose record needed it: their findings are unknown.",
	}, []string{"zone"})

	// targetReferences is, per name outside the zones, how many names in them reach it.
	targetReferences = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "target_references",
		Help:      "Gauge of the names in the audited zones that reach a name outside them (CNAME and AliasMode chains, declared aliases, MX, SRV and NS targets), by that target.",
	}, []string{"target"})
)

var (
	// loopCount counts questions refused because their CNAME chain loops.
	loopCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "loops_total",
		Help:      "Counter of questions answered SERVFAIL because their CNAME chain loops.",
	}, []string{"server"})

	// tooLongCount counts questions refused because their chain is longer than max_chain.
	tooLongCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "chain_too_long_total",
		Help:      "Counter of questions answered SERVFAIL because their CNAME chain is longer than max_chain.",
	}, []string{"server"})

	// prohibitedCount counts questions refused because their chain leaves the targets allowed.
	prohibitedCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "prohibited_total",
		Help:      "Counter of questions answered SERVFAIL because their CNAME chain leaves the zones the targets option allows.",
	}, []string{"server"})

	// danglingCount counts questions whose alias target does not exist.
	danglingCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "dangling_total",
		Help:      "Counter of questions for aliases whose target does not exist (NXDOMAIN).",
	}, []string{"server"})

	// staleCount counts stale answers served (RFC 8767).
	staleCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "stale_answers_total",
		Help:      "Counter of answers served from expired data because a refresh failed (RFC 8767).",
	}, []string{"server"})

	// fallbackCount counts answers at declared aliases served from the zone's own records because
	// the target's lookup failed.
	fallbackCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "fallback_answers_total",
		Help:      "Counter of answers at declared aliases served from the zone's own records (TTL 30) because the target's lookup failed.",
	}, []string{"server"})
)

// Precreate makes the counters of live problems for server exist at 0 before their first event,
// and findings_total for every rule at its usual severity, so that rate(), increase() and absent()
// read a series from start-up.
func Precreate(server string) {
	for _, v := range []*prometheus.CounterVec{loopCount, tooLongCount, prohibitedCount, danglingCount, staleCount, fallbackCount} {
		v.WithLabelValues(server)
	}
	for _, r := range rules.Catalog() {
		findingCount.WithLabelValues(r.ID, r.Severity.String())
	}
}
