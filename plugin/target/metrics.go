package target

// The metrics of target lookups and the target cache, all under coredns_flatten_ and labelled by
// server, as CoreDNS's own metrics are. Registered once per process (promauto).

import (
	"github.com/coredns/coredns/plugin"
	"github.com/dnsflatten/flatten/internal/perserver"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const subsystem = "flatten"

var (
	lookupCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "lookups_total",
		Help:      "Counter of lookups of chain targets.",
	}, []string{"server"})

	lookupFailures = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "lookup_failures_total",
		Help:      "Counter of failed lookups of chain targets, by cause (error, no_answer, referral, busy, or the rcode).",
	}, []string{"server", "cause"})

	lookupDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "lookup_duration_seconds",
		Help:      "Histogram of the time lookups of chain targets took.",
		Buckets:   plugin.TimeBuckets,
	}, []string{"server"})

	subnetLookups = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "subnet_lookups_total",
		Help:      "Counter of lookups sent with a client subnet (ecs, RFC 7871), by the scope prefix length the answer is cached for: the resolver's, at most the prefix sent (0: for every client; none: no answer).",
	}, []string{"server", "scope"})

	cacheHits = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "cache_hits_total",
		Help:      "Counter of chain entries served from the cache while fresh.",
	}, []string{"server"})

	cacheMisses = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "cache_misses_total",
		Help:      "Counter of chain entries not found fresh in the cache.",
	}, []string{"server"})

	refreshCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "refreshes_total",
		Help:      "Counter of background refreshes of entries about to expire.",
	}, []string{"server"})
)

// serverCounters are the cache counters of one server, found once (perserver).
type serverCounters struct{ hits, misses prometheus.Counter }

type counters = perserver.Cache[serverCounters]

func newCounters() *counters {
	return perserver.New(func(server string) *serverCounters {
		return &serverCounters{hits: cacheHits.WithLabelValues(server), misses: cacheMisses.WithLabelValues(server)}
	})
}

// Precreate makes the counters of server exist at 0 before their first event, so that rate() and
// absent() read a series from start-up: every counter labelled by server alone, and the failure
// causes an alert divides by (all but the rcodes rarer than SERVFAIL, REFUSED and NXDOMAIN).
func Precreate(server string) {
	for _, v := range []*prometheus.CounterVec{lookupCount, cacheHits, cacheMisses, refreshCount} {
		v.WithLabelValues(server)
	}
	lookupDuration.WithLabelValues(server)
	for _, cause := range []string{"error", "no_answer", "referral", "busy", "servfail", "refused", "nxdomain"} {
		lookupFailures.WithLabelValues(server, cause)
	}
}
