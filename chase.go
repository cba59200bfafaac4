package flatten

// Stage 2 of a question: resolve the chain. The chaser owns everything a chain walk needs: the
// target cache, the shared lookups (singleflight), the stale store (expired entries kept for RFC
// 8767), the lookups and their limit, and the background refreshes. It returns a result and never
// writes to a client.

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coredns/coredns/plugin/metrics"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
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

// result is how a chain ends, as far as the reply needs to know.
type result struct {
	names []string // the chain as walked, from the question's name (for a positive result, only when stale)
	kind  kind     // kindPositive, kindNXDOMAIN or kindNODATA, when err is nil
	final []dns.RR // the final RRset (shared: copy before use)
	ttl   uint32   // the lowest TTL on the chain
	// stale, when not nil, says the result was built from expired data because a lookup failed so.
	stale error
	// err is a broken chain (*ChainError) or a failed lookup (*LookupError).
	err error
	// scope is the scope prefix length the result holds for (ecs): the longest of its entries'.
	scope uint8
	// aliasMode is set when the chain crossed an HTTPS/SVCB record in AliasMode.
	aliasMode bool
}

// chaser resolves chains.
type chaser struct {
	lookups *lookups
	store   *store
	// flights shares lookups of one name and type; firsts shares questions down the chain.
	flights, firsts singleflight.Group
	// counters are the request path's counters, by server.
	counters       counterCache
	maxChain       int
	minTTL, maxTTL uint32
	maxStale       time.Duration
	now            func() time.Time
	// background ends with the plugin; wg counts the refreshes it runs.
	background context.Context
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

func newChaser(cfg config, l *lookups) *chaser {
	ch := &chaser{lookups: l, store: newStore(cfg.cacheSize), maxChain: cfg.maxChain,
		minTTL: cfg.minTTL, maxTTL: cfg.maxTTL, maxStale: cfg.maxStale, now: time.Now}
	ch.background, ch.stop = context.WithCancel(context.Background())
	return ch
}

// shutdown stops background refreshes and waits for them.
func (ch *chaser) shutdown() {
	ch.stop()
	ch.wg.Wait()
}

// walk follows the chain c from entry e to its end, fetching the entries it lacks. stale, when
// not nil, says e is expired data served because a lookup failed with that error.
func (ch *chaser) walk(ctx context.Context, c *chain, e *entry, qtype uint16, stale error, now time.Time) result {
	var scope uint8 // the longest client network scope of the entries used (ecs)
	aliasMode := false
	for {
		aliasMode = aliasMode || e.aliasMode
		if err := c.extend(e.names, e.remaining(now)); err != nil {
			return result{names: c.path(), err: err}
		}
		switch e.kind {
		case kindBroken:
			// The entry's own chain broke; say it of the whole chain.
			ce := *e.err
			ce.Names = c.path()
			return result{names: ce.Names, err: &ce}
		case kindPositive:
			res := result{kind: e.kind, final: e.final, ttl: c.ttl, stale: stale, scope: max(scope, uint8(max(e.scope.Bits(), 0))), aliasMode: aliasMode}
			if stale != nil {
				res.names = c.path()
			}
			return res
		case kindNXDOMAIN, kindNODATA:
			return result{names: c.path(), kind: e.kind, ttl: c.ttl, stale: stale, scope: max(scope, uint8(max(e.scope.Bits(), 0)))}
		}
		scope = max(scope, uint8(max(e.scope.Bits(), 0)))
		next, st, err := ch.target(ctx, c.last(), qtype, now)
		if err != nil {
			return result{names: c.path(), err: err}
		}
		if next.stored.After(now) {
			now = ch.now() // a lookup took time: the next hops are judged fresh or not at its end
		}
		if st != nil {
			stale = st
		}
		e = next
	}
}

// target returns what is known of name's chain for qtype: a fresh cache entry, else the entry a
// lookup makes (one lookup however many questions wait for it), else, when that lookup fails in a
// way RFC 8767 covers and the cache holds an expired entry still within max_stale, that entry with
// stale set to the failure.
//
//go:noinline
func (ch *chaser) target(ctx context.Context, name string, qtype uint16, now time.Time) (e *entry, stale, err error) {
	sn := ch.lookups.subnet(ctx, name)
	old := ch.store.get(name, qtype, sn)
	if old != nil && old.fresh(now) {
		ch.counters.of(ctx).hits.Inc()
		ch.maybeRefresh(ctx, old, now)
		return old, nil, nil
	}
	ch.counters.of(ctx).misses.Inc()
	if old != nil && old.failedRecently(now, staleRetry) && old.staleUsable(now, ch.maxStale) {
		return old, errStaleRecent, nil
	}
	e, err = ch.fetch(ctx, name, qtype, sn, false)
	if err == nil {
		return e, nil, nil
	}
	var le *LookupError
	if old != nil && errors.As(err, &le) && le.staleAllowed() && old.staleUsable(now, ch.maxStale) {
		old.failedAt.Store(now.UnixNano())
		return old, err, nil
	}
	return nil, nil, err
}

// errStaleRecent stands for the failure of a refresh tried less than staleRetry ago.
var errStaleRecent = errors.New("the last refresh failed less than 30s ago")

// fetch looks name up, makes an entry of the answer and caches it. Concurrent fetches of one name
// and type share one lookup (singleflight). A fetch never waits for another fetch (nested
// questions are refused, see nested.go), so these flights cannot deadlock.
//
// A refresh (force) always looks up; any other fetch first looks in the cache again inside the
// flight, so that a question that missed the cache just before an earlier flight landed does not
// start a second lookup.
func (ch *chaser) fetch(ctx context.Context, name string, qtype uint16, sn *subnet, force bool) (*entry, error) {
	k := lowerASCII(name) + " " + dns.TypeToString[qtype]
	if sn != nil {
		k += " " + sn.prefix.String() // one flight per client network
	}
	v, err, _ := ch.flights.Do(k, func() (any, error) {
		if e := ch.store.get(name, qtype, sn); !force && e != nil && e.fresh(ch.now()) {
			return e, nil
		}
		e, err := ch.lookups.ask(ctx, name, qtype, sn)
		if err != nil {
			return nil, err
		}
		ch.put(e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*entry), nil
}

// put bounds e's TTL and caches it.
func (ch *chaser) put(e *entry) {
	e.ttl = min(max(e.ttl, ch.minTTL), ch.maxTTL)
	e.stored = ch.now()
	ch.store.put(e)
}

// maybeRefresh starts a background refresh of e when it is about to expire, at most one at a time
// per entry, so that names still asked for are refreshed before they expire.
func (ch *chaser) maybeRefresh(ctx context.Context, e *entry, now time.Time) {
	if !e.shouldRefresh(now) || !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	refreshCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	// The refresh outlives the question: keep the context's values (the server, for lookups
	// through it), drop its cancellation, and stop with the plugin.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	stop := context.AfterFunc(ch.background, cancel)
	ch.wg.Add(1)
	go func() {
		defer ch.wg.Done()
		defer stop()
		defer cancel()
		// The refresh asks as the entry was asked, and the resolver is sent that subnet: the
		// entry's network; the asking client's for an answer that held for every network; none
		// for one looked up without a subnet (private). The question's context carries the
		// asking client's subnet, which is not always the entry's.
		var sn *subnet
		switch {
		case e.scope.IsValid():
			sn = &subnet{prefix: e.scope}
		case !e.private:
			sn = ch.lookups.subnet(rctx, e.name)
		}
		rctx := context.WithValue(rctx, subnetKey{}, sn)
		if _, err := ch.fetch(rctx, e.name, e.qtype, sn, true); err != nil {
			e.failedAt.Store(ch.now().UnixNano())
			e.refreshing.Store(false)
		}
	}()
}

// alias returns the fresh cached entry of an alias (a name whose chain goes on) for name and
// qtype, or nil.
func (ch *chaser) alias(name string, qtype uint16) *entry {
	if e := ch.store.get(name, qtype, nil); isAlias(e, ch.now()) {
		return e
	}
	return nil
}

// isAlias reports whether e, an entry of the cache or nil, is an alias's, fresh at now.
func isAlias(e *entry, now time.Time) bool {
	return e != nil && len(e.names) >= 2 && e.fresh(now)
}

// soa returns the SOA of zone, from the cache or a lookup, or nil.
func (ch *chaser) soa(ctx context.Context, zone string) *dns.SOA {
	e, _, err := ch.target(ctx, zone, dns.TypeSOA, ch.now())
	if err != nil || e.kind != kindPositive {
		return nil
	}
	for _, rr := range e.final {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa
		}
	}
	return nil
}
