package flatten

// The counters of the request path, looked up once per server rather than once per question:
// finding a labelled child of a CounterVec hashes its labels under a lock, which on the warm path
// cost more than the rest of the answer's bookkeeping.

import (
	"context"
	"sync/atomic"

	"github.com/coredns/coredns/plugin/metrics"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// serverCounters are the request path's counters of one server (the label of its address).
type serverCounters struct {
	server       string
	hits, misses prometheus.Counter
	aliasMode    prometheus.Counter
	// flattened are flattened_total's children for the types flattened; others are looked up.
	flattened map[uint16]prometheus.Counter
}

func newServerCounters(server string) *serverCounters {
	c := &serverCounters{server: server,
		hits:      cacheHits.WithLabelValues(server),
		misses:    cacheMisses.WithLabelValues(server),
		aliasMode: aliasModeCount.WithLabelValues(server),
		flattened: map[uint16]prometheus.Counter{}}
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeANY} {
		c.flattened[t] = flattenedCount.WithLabelValues(server, dns.TypeToString[t])
	}
	return c
}

// flattenedOf returns the flattened_total child of qtype.
func (c *serverCounters) flattenedOf(qtype uint16) prometheus.Counter {
	if x, ok := c.flattened[qtype]; ok {
		return x
	}
	return flattenedCount.WithLabelValues(c.server, dns.TypeToString[qtype])
}

// counterCache holds the counters of the server last seen. A server block has one address in
// almost every Corefile; one with several swaps the entry as its servers alternate, which is
// correct, only slower.
type counterCache struct {
	last atomic.Pointer[serverCounters]
}

// of returns the counters of the server of ctx.
func (cc *counterCache) of(ctx context.Context) *serverCounters {
	server := metrics.WithServer(ctx)
	if c := cc.last.Load(); c != nil && c.server == server {
		return c
	}
	c := newServerCounters(server)
	cc.last.Store(c)
	return c
}
