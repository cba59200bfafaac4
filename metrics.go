package flatten

// The Prometheus metrics the plugin exports, all under coredns_flatten_. Those of questions are
// labelled by server, as CoreDNS's own metrics are; those of the audit by zone, rule or target.
// They are registered once per process (promauto), as in-tree plugins do, so that a reload that
// builds the plugin again does not register them twice.

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	// flattenedCount counts flattened answers by question type.
	flattenedCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "flattened_total",
		Help:      "Counter of answers flattened, by question type.",
	}, []string{"server", "type"})

	// aliasModeCount counts flattened answers whose chain crossed an HTTPS/SVCB record in
	// AliasMode: how many clients the standards-track alias serves that ignore AliasMode.
	aliasModeCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "alias_mode_total",
		Help:      "Counter of flattened answers whose chain followed an HTTPS or SVCB record in AliasMode (RFC 9460 section 2.4.2).",
	}, []string{"server"})

	// subnetLookups counts lookups sent with a client subnet (ecs), by the scope returned.
	subnetLookups = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "subnet_lookups_total",
		Help:      "Counter of lookups sent with a client subnet (ecs, RFC 7871), by the scope prefix length the answer is cached for: the resolver's, at most the prefix sent (0: for every client; none: no answer).",
	}, []string{"server", "scope"})

	// loopCount counts questions refused because their CNAME chain loops.
	loopCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "loops_total",
		Help:      "Counter of questions answered SERVFAIL because their CNAME chain loops.",
	}, []string{"server"})

	// tooLongCount counts questions refused because their chain is longer than max_chain.
	tooLongCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "chain_too_long_total",
		Help:      "Counter of questions answered SERVFAIL because their CNAME chain is longer than max_chain.",
	}, []string{"server"})

	// prohibitedCount counts questions refused because their chain leaves the targets allowed.
	prohibitedCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "prohibited_total",
		Help:      "Counter of questions answered SERVFAIL because their CNAME chain leaves the zones the targets option allows.",
	}, []string{"server"})

	// danglingCount counts questions whose alias target does not exist.
	danglingCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "dangling_total",
		Help:      "Counter of questions for aliases whose target does not exist (NXDOMAIN).",
	}, []string{"server"})

	// lookupCount counts target lookups.
	lookupCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "lookups_total",
		Help:      "Counter of lookups of chain targets.",
	}, []string{"server"})

	// lookupFailures counts failed target lookups by cause.
	lookupFailures = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "lookup_failures_total",
		Help:      "Counter of failed lookups of chain targets, by cause (error, no_answer, or the rcode).",
	}, []string{"server", "cause"})

	// lookupDuration is the duration of target lookups.
	lookupDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "lookup_duration_seconds",
		Help:      "Histogram of the time lookups of chain targets took.",
		Buckets:   plugin.TimeBuckets,
	}, []string{"server"})
)

var (
	// cacheHits counts entries served from the cache while fresh.
	cacheHits = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "cache_hits_total",
		Help:      "Counter of chain entries served from the cache while fresh.",
	}, []string{"server"})

	// cacheMisses counts entries not in the cache or expired.
	cacheMisses = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "cache_misses_total",
		Help:      "Counter of chain entries not found fresh in the cache.",
	}, []string{"server"})

	// fallbackCount counts answers at declared aliases served from the zone's own records because
	// the target's lookup failed.
	fallbackCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "fallback_answers_total",
		Help:      "Counter of answers at declared aliases served from the zone's own records (TTL 30) because the target's lookup failed.",
	}, []string{"server"})

	// staleCount counts stale answers served (RFC 8767).
	staleCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "stale_answers_total",
		Help:      "Counter of answers served from expired data because a refresh failed (RFC 8767).",
	}, []string{"server"})

	// refreshCount counts background refreshes started.
	refreshCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "refreshes_total",
		Help:      "Counter of background refreshes of entries about to expire.",
	}, []string{"server"})
)

// findingCount counts validation findings, from the zone audit and from live answers.
var findingCount = promauto.NewCounterVec(prometheus.CounterOpts{
	Namespace: plugin.Namespace,
	Subsystem: pluginName,
	Name:      "findings_total",
	Help:      "Counter of CNAME validation findings, from zone audits and live answers, by rule and severity.",
}, []string{"rule", "severity"})

var (
	// auditDuration is how long the last audit took, from reading the zones to the findings.
	auditDuration = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "audit_duration_seconds",
		Help:      "Gauge of the time the last zone audit took, from reading the zones to its findings.",
	})

	// auditFindings is what the last audit found, by zone, rule and severity: what an alert on a
	// standing problem reads (findings_total counts events).
	auditFindings = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "audit_findings",
		Help:      "Gauge of the findings of the last zone audit, by zone, rule and severity.",
	}, []string{"zone", "rule", "severity"})

	// targetReferences is, per name outside the zones, how many names in them reach it.
	targetReferences = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "target_references",
		Help:      "Gauge of the names in the audited zones that reach a name outside them (CNAME and AliasMode chains, declared aliases, MX, SRV and NS targets), by that target.",
	}, []string{"target"})
)
