package target

// The target cache: entries by name, type and, with ecs, client network; bounded, evicting at
// random when full (CoreDNS's plugin/pkg/cache, as its cache plugin does).

import (
	"net/netip"
	"slices"

	"github.com/coredns/coredns/plugin/pkg/cache"
	"github.com/dnsflatten/flatten/plugin/chain"
)

// store is the bounded cache of entries.
type store struct {
	c *cache.Cache[*Entry]
	// scopes are, by name and type, the scope prefix lengths entries were stored with (ecs): the
	// client networks to look under. Bounded like the entries.
	scopes *cache.Cache[[]uint8]
}

func newStore(size int) *store {
	return &store{c: cache.New[*Entry](size), scopes: cache.New[[]uint8](size)}
}

// get returns the entry for name and qtype, or nil. With a client subnet, it is the entry whose
// scope covers the subnet, or the one for every client, but never one looked up without a subnet
// (private): that answer was tailored to this server's own address.
func (s *store) get(name string, qtype uint16, sn *Subnet) *Entry {
	if !sn.located() {
		return s.at(name, qtype, netip.Prefix{})
	}
	if bits, ok := s.scopes.Get(key(name, qtype, netip.Prefix{})); ok {
		for _, b := range bits {
			if e := s.at(name, qtype, sn.scoped(b)); e != nil {
				return e
			}
		}
	}
	if e := s.at(name, qtype, netip.Prefix{}); e != nil && !e.private {
		return e
	}
	return nil
}

func (s *store) at(name string, qtype uint16, scope netip.Prefix) *Entry {
	e, ok := s.c.Get(key(name, qtype, scope))
	if !ok || e.Qtype != qtype || e.Scope != scope || !chain.Equal(e.Name, name) {
		return nil // a hash collision is a miss
	}
	return e
}

func (s *store) put(e *Entry) {
	s.c.Add(key(e.Name, e.Qtype, e.Scope), e)
	if !e.Scope.IsValid() {
		return
	}
	k := key(e.Name, e.Qtype, netip.Prefix{})
	bits, _ := s.scopes.Get(k)
	for _, b := range bits {
		if int(b) == e.Scope.Bits() {
			return
		}
	}
	s.scopes.Add(k, append(slices.Clip(bits), uint8(e.Scope.Bits()))) // #nosec G115 -- a prefix length fits a byte
}

func (s *store) len() int { return s.c.Len() }

// purge drops every entry for a name in zone: the zone changed, and its aliases may have.
func (s *store) purge(zone string) {
	s.c.Walk(func(items map[uint64]*Entry, k uint64) bool {
		if e, ok := items[k]; ok && chain.In(e.Name, zone) {
			delete(items, k)
		}
		return true
	})
}

// key hashes name (ignoring ASCII case), qtype and scope with FNV-1a, allocating nothing.
func key(name string, qtype uint16, scope netip.Prefix) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= prime
	}
	h ^= uint64(qtype)
	h *= prime
	h ^= uint64(qtype >> 8)
	h *= prime
	if scope.IsValid() {
		for _, b := range scope.Addr().As16() {
			h ^= uint64(b)
			h *= prime
		}
		h ^= uint64(scope.Bits()) + 1 // #nosec G115 -- a valid prefix length is not negative
		h *= prime
	}
	return h
}
