// Package perserver keeps a value per CoreDNS server (the server label of metrics), found once per
// server rather than once per question: finding a labelled child of a CounterVec hashes its labels
// under a lock, which on the warm path cost more than the rest of an answer's bookkeeping.
package perserver

import (
	"context"
	"maps"
	"sync/atomic"

	"github.com/coredns/coredns/plugin/metrics"
)

// Cache holds one *T per server a block has answered for: one in almost every Corefile, two for a
// NodeLocal DNSCache address pair. It is copied on write, so reading it takes no lock.
type Cache[T any] struct {
	make func(server string) *T
	by   atomic.Pointer[map[string]*T]
}

// New returns a cache that makes the value of a server with mk.
func New[T any](mk func(server string) *T) *Cache[T] { return &Cache[T]{make: mk} }

// Of returns the value of the server of ctx.
func (c *Cache[T]) Of(ctx context.Context) *T {
	server := metrics.WithServer(ctx)
	for {
		old := c.by.Load()
		if old != nil {
			if v, ok := (*old)[server]; ok {
				return v
			}
		}
		next := map[string]*T{server: c.make(server)}
		if old != nil {
			maps.Copy(next, *old)
		}
		if c.by.CompareAndSwap(old, &next) {
			return next[server]
		}
	}
}
