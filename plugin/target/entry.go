package target

// Entries: what the target cache holds of one name and type.

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/dnsflatten/flatten/plugin/chain"
)

// Entry is one answer as the cache holds it: what it says of the chain (chain.Answer, never
// changed once stored), the client network it holds for, and its age. Only failedAt and
// refreshing change, atomically, so that every question reads entries without locks.
type Entry struct {
	chain.Answer
	// Scope is the client network the answer holds for (ecs), or none: every client.
	Scope netip.Prefix
	// private, with ecs, marks an answer looked up with no client subnet (or a /0 one): the
	// resolver tailored it to this server's own address, so it holds only for clients that sent
	// none, never for a client's network (RFC 7871 7.1.2, 7.3.1).
	private bool
	// stored is when the entry was cached; Answer.TTL, bounded by the ttl option, is how long
	// from then it is fresh.
	stored time.Time
	// failedAt is the time (UnixNano) the last refresh of this entry failed, or 0.
	failedAt atomic.Int64
	// refreshing is set while a background refresh of this entry runs.
	refreshing atomic.Bool
}

// remaining returns the entry's TTL at now; 0 once it has expired.
func (e *Entry) remaining(now time.Time) uint32 {
	left := e.stored.Add(time.Duration(e.TTL) * time.Second).Sub(now)
	if left <= 0 {
		return 0
	}
	// Round up, so that a fresh entry never says 0, but never above the TTL it was stored with.
	secs := (left + time.Second - 1) / time.Second
	if secs >= time.Duration(e.TTL) {
		return e.TTL
	}
	return uint32(secs) // #nosec G115 -- below e.TTL, a uint32
}

// Fresh reports whether the entry is still fresh at now.
func (e *Entry) Fresh(now time.Time) bool {
	return now.Before(e.stored.Add(time.Duration(e.TTL) * time.Second))
}

// IsAlias reports whether e, an entry of the cache or nil, is an alias's, fresh at now.
func IsAlias(e *Entry, now time.Time) bool {
	return e != nil && e.Alias() && e.Fresh(now)
}

// staleUsable reports whether the entry, though expired, may still be served (RFC 8767 section 5).
func (e *Entry) staleUsable(now time.Time, maxStale time.Duration) bool {
	return maxStale > 0 && e.End != chain.Broken && now.Before(e.stored.Add(time.Duration(e.TTL)*time.Second+maxStale))
}

// failedRecently reports whether a refresh failed less than wait ago: RFC 8767 section 5 asks not
// to retry more often than that, so stale data is served at once meanwhile.
func (e *Entry) failedRecently(now time.Time, wait time.Duration) bool {
	f := e.failedAt.Load()
	return f != 0 && now.Sub(time.Unix(0, f)) < wait
}

// shouldRefresh reports whether the entry is in the last tenth of its life (at least the last
// second): a question for it then starts a refresh, so that a name that is still asked for never
// expires in front of a client.
func (e *Entry) shouldRefresh(now time.Time) bool {
	left := e.stored.Add(time.Duration(e.TTL) * time.Second).Sub(now)
	return left <= max(time.Duration(e.TTL)*time.Second/10, time.Second)
}
