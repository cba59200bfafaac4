package flatten

// The metrics of flattened answers, under coredns_flatten_ and labelled by server, as CoreDNS's own
// metrics are. The other metrics are those of the part that counts: plugin/target (lookups, the
// target cache) and plugin/audit (findings, live problems). Registered once per process (promauto),
// as in-tree plugins do, so that a reload that builds the plugin again does not register them twice.

import (
	"github.com/coredns/coredns/plugin"
	"github.com/dnsflatten/flatten/internal/perserver"
	"github.com/dnsflatten/flatten/plugin/audit"
	"github.com/dnsflatten/flatten/plugin/target"

	"github.com/miekg/dns"
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
)

// serverCounters are the counters of flattened answers of one server, found once per server.
type serverCounters struct {
	server    string
	aliasMode prometheus.Counter
	// flattened are flattened_total's children for the types flattened.
	flattened map[uint16]prometheus.Counter
}

type counters = perserver.Cache[serverCounters]

func newCounters() *counters {
	return perserver.New(func(server string) *serverCounters {
		c := &serverCounters{server: server, aliasMode: aliasModeCount.WithLabelValues(server), flattened: map[uint16]prometheus.Counter{}}
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeANY} {
			c.flattened[t] = flattenedCount.WithLabelValues(server, dns.TypeToString[t])
		}
		return c
	})
}

// precreate makes every counter of the plugin exist at 0 for the servers of the block (their
// metrics label: transport://host:port, as CoreDNS writes it), from start-up.
func precreate(servers []string) {
	for _, server := range servers {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeHTTPS, dns.TypeSVCB} {
			flattenedCount.WithLabelValues(server, dns.TypeToString[t])
		}
		aliasModeCount.WithLabelValues(server)
		target.Precreate(server)
		audit.Precreate(server)
	}
}

// answered counts a flattened answer to a question of qtype, whose chain crossed an AliasMode
// record when aliasMode.
func (c *serverCounters) answered(qtype uint16, aliasMode bool) {
	x, ok := c.flattened[qtype]
	if !ok {
		x = flattenedCount.WithLabelValues(c.server, dns.TypeToString[qtype])
	}
	x.Inc()
	if aliasMode {
		c.aliasMode.Inc()
	}
}
