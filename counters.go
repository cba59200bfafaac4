package flatten

// The counters of the request path, looked up once per server rather than once per question:
// finding a labelled child of a CounterVec hashes its labels under a lock, which on the warm path
// cost more than the rest of the answer's bookkeeping.

import (
	"context"
	"maps"
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

// counterCache holds the counters of each server the block has answered for: one in almost every
// Corefile, two for a NodeLocal DNSCache address pair. It is copied on write, so reading it takes
// no lock.
type counterCache struct {
	by atomic.Pointer[map[string]*serverCounters]
}

// of returns the counters of the server of ctx.
func (cc *counterCache) of(ctx context.Context) *serverCounters {
	server := metrics.WithServer(ctx)
	for {
		old := cc.by.Load()
		if old != nil {
			if c, ok := (*old)[server]; ok {
				return c
			}
		}
		next := map[string]*serverCounters{server: newServerCounters(server)}
		if old != nil {
			maps.Copy(next, *old)
		}
		if cc.by.CompareAndSwap(old, &next) {
			return next[server]
		}
	}
}
