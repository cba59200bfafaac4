package flatten

// The target cache: entries by name and type, bounded, evicting at random when full (CoreDNS's
// plugin/pkg/cache, as its cache plugin does).

import (
	"github.com/coredns/coredns/plugin/pkg/cache"
)

// store is the bounded cache of entries, keyed by name and type.
type store struct {
	c *cache.Cache[*entry]
}

func newStore(size int) *store { return &store{c: cache.New[*entry](size)} }

// get returns the entry for name and qtype, or nil.
func (s *store) get(name string, qtype uint16) *entry {
	e, ok := s.c.Get(key(name, qtype))
	if !ok || e.qtype != qtype || !equalFold(e.name, name) {
		return nil // a hash collision is a miss
	}
	return e
}

func (s *store) put(e *entry) { s.c.Add(key(e.name, e.qtype), e) }

func (s *store) len() int { return s.c.Len() }

// purge drops every entry for a name in zone: the zone changed, and its aliases may have.
func (s *store) purge(zone string) {
	s.c.Walk(func(items map[uint64]*entry, k uint64) bool {
		if e, ok := items[k]; ok && inZone(e.name, zone) {
			delete(items, k)
		}
		return true
	})
}

// key hashes name (ignoring ASCII case) and qtype with FNV-1a, allocating nothing.
func key(name string, qtype uint16) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(lower(name[i]))
		h *= prime
	}
	h ^= uint64(qtype)
	h *= prime
	h ^= uint64(qtype >> 8)
	return h * prime
}
