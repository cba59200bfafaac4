package flatten

import (
	"context"
	"errors"
	"time"

	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

const (
	// staleTTL is the TTL of a stale answer (RFC 8767 section 4 suggests 30 seconds).
	staleTTL = 30
	// staleRetry is how long after a failed refresh stale data is served without trying again
	// (RFC 8767 section 5, the "failure recheck timer": 30 seconds).
	staleRetry = 30 * time.Second
	// refreshTimeout bounds a background refresh.
	refreshTimeout = 10 * time.Second
)

// target returns what is known of name's chain for qtype: a fresh cache entry, else the entry a
// lookup makes (one lookup however many questions wait for it), else, when that lookup fails and
// the cache holds an expired entry still within max_stale, that entry with stale set to the error
// (RFC 8767).
func (f *Flatten) target(ctx context.Context, state request.Request, name string, qtype uint16) (e *entry, stale error, err error) {
	server := metrics.WithServer(ctx)
	now := f.now()
	old := f.cache.get(name, qtype)
	if old != nil && old.fresh(now) {
		cacheHits.WithLabelValues(server).Inc()
		f.maybeRefresh(ctx, state, old, now)
		return old, nil, nil
	}
	cacheMisses.WithLabelValues(server).Inc()
	if old != nil && old.failedRecently(now, staleRetry) && old.staleUsable(now, f.MaxStale) {
		return old, errStaleRecent, nil
	}
	e, err = f.fetch(ctx, state, name, qtype, false)
	if err == nil {
		return e, nil, nil
	}
	if old != nil && old.staleUsable(now, f.MaxStale) {
		old.failedAt.Store(now.UnixNano())
		return old, err, nil
	}
	return nil, nil, err
}

// errStaleRecent stands for the failure of a refresh tried less than staleRetry ago.
var errStaleRecent = errors.New("the last refresh failed less than 30s ago")

// fetch looks name up, makes an entry of the answer and caches it. Concurrent fetches of one name and
// type share one lookup (singleflight). A fetch never waits for another fetch (a lookup's nested
// questions are refused, see ServeDNS), so these flights cannot deadlock.
//
// A refresh (force) always looks up; any other fetch first looks in the cache again inside the
// flight, so that a question that missed the cache just before an earlier flight landed does not
// start a second lookup.
func (f *Flatten) fetch(ctx context.Context, state request.Request, name string, qtype uint16, force bool) (*entry, error) {
	k := lowerASCII(name) + " " + dns.TypeToString[qtype]
	v, err, _ := f.group.Do(k, func() (any, error) {
		if e := f.cache.get(name, qtype); !force && e != nil && e.fresh(f.now()) {
			return e, nil
		}
		m, err := f.lookup(ctx, state, name, qtype)
		if err != nil {
			return nil, err
		}
		e, err := toEntry(name, qtype, m, f.MaxChain)
		if err != nil {
			return nil, err
		}
		f.store(e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*entry), nil
}

// store bounds e's TTL and caches it.
func (f *Flatten) store(e *entry) {
	e.ttl = min(max(e.ttl, f.MinTTL), f.MaxTTL)
	e.stored = f.now()
	f.cache.put(e)
}

// maybeRefresh starts a background refresh of e when it is about to expire, at most one at a time
// per entry, so that names still asked for are refreshed before they expire.
func (f *Flatten) maybeRefresh(ctx context.Context, state request.Request, e *entry, now time.Time) {
	if !e.shouldRefresh(now) || !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	refreshCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	// The refresh outlives the question: keep the context's values (the server, for self-lookups),
	// drop its cancellation, and stop with the plugin.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	stop := context.AfterFunc(f.stopCtx, cancel)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer stop()
		defer cancel()
		if _, err := f.fetch(rctx, state, e.name, e.qtype, true); err != nil {
			e.failedAt.Store(f.now().UnixNano())
			e.refreshing.Store(false)
		}
	}()
}
