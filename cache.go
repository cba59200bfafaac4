package flatten

import (
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin/pkg/cache"

	"github.com/miekg/dns"
)

// kind says how a lookup's answer ends.
type kind int

const (
	// kindPositive: the answer holds the final RRset.
	kindPositive kind = iota
	// kindNXDOMAIN: the chain's last name does not exist (RFC 6604).
	kindNXDOMAIN
	// kindNODATA: the chain's last name exists without records of the type.
	kindNODATA
	// kindContinues: the answer stops at a name whose records it does not hold; another lookup of that
	// name goes on.
	kindContinues
)

// entry is what one answer says about one name and type: the chain from the name as far as the
// answer goes, and how it ends. Entries are never changed once made, except for failedAt, so that
// every question can read them without locks.
type entry struct {
	name  string   // canonical
	qtype uint16   //
	names []string // the chain from name; names[0] == name
	final []dns.RR // the final RRset, when positive
	soa   *dns.SOA // the SOA of a negative answer, when it had one
	kind  kind
	// signed is set when the answer carried RRSIGs: it came from a pre-signed zone.
	signed bool
	// ttl is how long the entry is fresh, from stored: the lowest TTL on it, within the ttl bounds.
	ttl    uint32
	stored time.Time
	// failedAt is the time (UnixNano) the last refresh of this entry failed, or 0.
	failedAt atomic.Int64
	// refreshing is set while a background refresh of this entry runs.
	refreshing atomic.Bool
}

// remaining returns the entry's TTL at now; 0 once it has expired.
func (e *entry) remaining(now time.Time) uint32 {
	left := e.stored.Add(time.Duration(e.ttl) * time.Second).Sub(now)
	if left <= 0 {
		return 0
	}
	// Round up, so that a fresh entry never says 0, but never above the TTL it was stored with.
	return min(uint32((left+time.Second-1)/time.Second), e.ttl)
}

func (e *entry) fresh(now time.Time) bool {
	return now.Before(e.stored.Add(time.Duration(e.ttl) * time.Second))
}

// staleUsable reports whether the entry, though expired, may still be served (RFC 8767 section 5).
func (e *entry) staleUsable(now time.Time, maxStale time.Duration) bool {
	return maxStale > 0 && now.Before(e.stored.Add(time.Duration(e.ttl)*time.Second+maxStale))
}

// failedRecently reports whether a refresh failed less than wait ago: RFC 8767 section 5 asks not
// to retry more often than that, so stale data is served at once meanwhile.
func (e *entry) failedRecently(now time.Time, wait time.Duration) bool {
	f := e.failedAt.Load()
	return f != 0 && now.Sub(time.Unix(0, f)) < wait
}

// shouldRefresh reports whether the entry is in the last tenth of its life (at least the last
// second): a question for it then starts a refresh, so that a name that is still asked for never
// expires in front of a client.
func (e *entry) shouldRefresh(now time.Time) bool {
	left := e.stored.Add(time.Duration(e.ttl) * time.Second).Sub(now)
	return left <= max(time.Duration(e.ttl)*time.Second/10, time.Second)
}

// targets is the bounded cache of entries, keyed by name and type. It evicts at random when full
// (CoreDNS's plugin/pkg/cache, as its cache plugin does).
type targets struct {
	c *cache.Cache[*entry]
}

func newTargets(size int) *targets { return &targets{c: cache.New[*entry](size)} }

func (t *targets) get(name string, qtype uint16) *entry {
	e, ok := t.c.Get(key(name, qtype))
	if !ok || e.qtype != qtype || !equalFold(e.name, name) {
		return nil // a hash collision is a miss
	}
	return e
}

func (t *targets) put(e *entry) { t.c.Add(key(e.name, e.qtype), e) }

func (t *targets) len() int { return t.c.Len() }

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

// purge drops every entry for a name in zone: the zone changed, and its aliases may have.
func (t *targets) purge(zone string) {
	t.c.Walk(func(items map[uint64]*entry, k uint64) bool {
		if e, ok := items[k]; ok && inZone(e.name, zone) {
			delete(items, k)
		}
		return true
	})
}
