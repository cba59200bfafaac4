// Package target resolves the targets of CNAME chains for the flatten plugin: the cache of answers
// per name, type and client network (Entry), one lookup however many questions wait for it
// (singleflight), answers served stale when a refresh fails (RFC 8767), the bound on lookups in
// flight (max_lookups), refreshes before expiry, and the routes a lookup takes: in-memory questions
// to the server block's own plugins for names in the plugin's zones, the resolver option's servers
// or the server itself for the rest. It returns a chain.Result and never writes to a client.
package target

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/resolver"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

const (
	// staleRetry is how long after a failed refresh stale data is served without trying again
	// (RFC 8767 section 5, the "failure recheck timer": 30 seconds).
	staleRetry = 30 * time.Second
	// refreshTimeout bounds a background refresh.
	refreshTimeout = 10 * time.Second
)

// Config is what the Chaser is built from: the plugin's configuration, as far as chains go.
type Config struct {
	// Zones are the plugin's zones: their names are asked of Next, in memory.
	Zones chain.Zones
	// Next answers questions for names in Zones: the server block's plugins after flatten.
	Next plugin.Handler
	// Outside answers questions for other names; nil: the resolver option's Resolvers when set,
	// else the server itself (listening at Self, host:port, "" for none).
	Outside   Outside
	Resolvers []string
	Self      string
	// Limits bound every chain walked.
	Limits chain.Limits
	// MinTTL and MaxTTL bound the TTLs of cached entries; MaxStale is how long past expiry an
	// entry may be served when its refresh fails (0: never).
	MinTTL, MaxTTL uint32
	MaxStale       time.Duration
	// CacheSize bounds the entries cached; MaxLookups the lookups in flight.
	CacheSize, MaxLookups int
	// ECS passes client subnets to the resolver option's servers (see ecs.go).
	ECS bool
	// ServiceBackend is set when a backend of the block may hide a CNAME behind NODATA (see
	// hidden.go).
	ServiceBackend bool
}

// Chaser resolves chains.
type Chaser struct {
	lookups  *lookups
	resolver *resolver.Resolver // the resolver option's client, or nil
	store    *store
	failures *failures
	// flights shares lookups of one name and type; firsts shares questions down the chain.
	flights, firsts singleflight.Group
	counters        *counters
	limits          chain.Limits
	minTTL, maxTTL  uint32
	maxStale        time.Duration
	// Now is the clock; tests stand in for it.
	Now func() time.Time
	// background ends with the plugin; wg counts the refreshes it runs.
	background context.Context
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

// New returns a Chaser for cfg. Start must be called before the first lookup outside the zones
// through the resolver option.
func New(cfg Config) *Chaser {
	l := &lookups{next: cfg.Next, zones: cfg.Zones, outside: cfg.Outside, slots: make(chan struct{}, cfg.MaxLookups),
		maxChain: cfg.Limits.Max, serviceBackend: cfg.ServiceBackend}
	ch := &Chaser{lookups: l, store: newStore(cfg.CacheSize), failures: newFailures(cfg.CacheSize), counters: newCounters(), limits: cfg.Limits,
		minTTL: cfg.MinTTL, maxTTL: cfg.MaxTTL, maxStale: cfg.MaxStale, Now: time.Now}
	if len(cfg.Resolvers) > 0 {
		ch.resolver = resolver.New(cfg.Resolvers)
		l.ecs = cfg.ECS
		if l.outside == nil {
			l.outside = Resolving{ch.resolver}
		}
	}
	if l.outside == nil {
		l.outside = NewSelf(cfg.Self)
	}
	ch.background, ch.stop = context.WithCancel(context.Background())
	return ch
}

// Start starts the resolver option's connections.
func (ch *Chaser) Start() {
	if ch.resolver != nil {
		ch.resolver.Start()
	}
}

// Stop stops the background refreshes and waits for them, then closes the resolver option's
// connections.
func (ch *Chaser) Stop() {
	ch.stop()
	ch.wg.Wait()
	if ch.resolver != nil {
		ch.resolver.Stop()
	}
}

// Settle waits for the background refreshes running now.
func (ch *Chaser) Settle() { ch.wg.Wait() }

// Resolver returns the resolver option's client, or nil.
func (ch *Chaser) Resolver() *resolver.Resolver { return ch.resolver }

// Slots returns the lookup slots (max_lookups), which the audit's questions share.
func (ch *Chaser) Slots() chan struct{} { return ch.lookups.slots }

// Background returns the context of work that outlives a question: it ends with the plugin.
func (ch *Chaser) Background() context.Context { return ch.background }

// Chain starts c, the chain of a question for qname, within the plugin's limits.
func (ch *Chaser) Chain(c *chain.Chain, qname string) { c.Start(qname, ch.limits) }

// Get returns the cached entry for name and qtype (for a client network with sn), fresh or not,
// or nil.
func (ch *Chaser) Get(name string, qtype uint16, sn *Subnet) *Entry {
	return ch.store.get(name, qtype, sn)
}

// Warm walks the chain of r's question from e, a fresh cached alias entry: the hot path.
func (ch *Chaser) Warm(ctx context.Context, e *Entry, qname string, qtype uint16, now time.Time) chain.Result {
	ch.counters.Of(ctx).hits.Inc()
	ch.refresh(ctx, e, now)
	var c chain.Chain
	c.Start(qname, ch.limits)
	return ch.Walk(ctx, &c, e, qtype, nil, now)
}

// Walk follows the chain c from entry e to its end, fetching the entries it lacks. stale, when
// not nil, says e is expired data served because a lookup failed with that error.
//
// Walk is on the path of every warm flattened answer: its frame is kept small (the results are
// composed out of line, in walked), so that the question's goroutine seldom has to grow its stack.
func (ch *Chaser) Walk(ctx context.Context, c *chain.Chain, e *Entry, qtype uint16, stale error, now time.Time) chain.Result {
	w := walked{stale: stale}
	for {
		w.aliasMode = w.aliasMode || e.AliasMode
		if err := c.Extend(e.Names, e.remaining(now)); err != nil {
			return failed(c, err)
		}
		w.scope = max(w.scope, uint8(max(e.Scope.Bits(), 0))) // #nosec G115 -- a prefix length fits a byte
		if e.End != chain.Continues {
			return w.result(c, e)
		}
		next, st, err := ch.Target(ctx, c.Last(), qtype, now)
		if err != nil {
			return failed(c, err)
		}
		if next.stored.After(now) {
			now = ch.Now() // a lookup took time: the next hops are judged fresh or not at its end
		}
		if st != nil {
			w.stale = st
		}
		e = next
	}
}

// walked is what a walk gathers on its way: the longest client network scope of the entries used
// (ecs), whether it followed an AliasMode record, and the lookup error that made it serve stale
// data, if any.
type walked struct {
	stale     error
	scope     uint8
	aliasMode bool
}

// result is the result of the walk of c, ended at e.
//
//go:noinline
func (w walked) result(c *chain.Chain, e *Entry) chain.Result {
	switch e.End {
	case chain.Broken:
		// The entry's own chain broke; say it of the whole chain.
		ce := *e.Err
		ce.Names = c.Path()
		return chain.Result{Names: ce.Names, Err: &ce}
	case chain.Positive:
		res := chain.Result{End: e.End, Final: e.Final, TTL: c.TTL(), Stale: w.stale, Scope: w.scope, AliasMode: w.aliasMode}
		if w.stale != nil {
			res.Names = c.Path()
		}
		return res
	}
	return chain.Result{Names: c.Path(), End: e.End, TTL: c.TTL(), Stale: w.stale, Scope: w.scope, SOA: e.SOA}
}

// failed is the result of a walk of c that failed with err.
//
//go:noinline
func failed(c *chain.Chain, err error) chain.Result {
	return chain.Result{Names: c.Path(), Err: err}
}

// From resolves the chain of qname, an alias of target (a hop of TTL ttl), for qtype: a declared
// alias, or an alias whose record the caller read itself.
func (ch *Chaser) From(ctx context.Context, qname, target string, ttl uint32, qtype uint16) chain.Result {
	var c chain.Chain
	c.Start(qname, ch.limits)
	if err := c.Step(chain.Lower(target)); err != nil {
		return chain.Result{Names: c.Path(), Err: err}
	}
	c.Lower(ttl)
	now := ch.Now()
	e, stale, err := ch.Target(ctx, target, qtype, now)
	if err != nil {
		return chain.Result{Names: c.Path(), Err: err}
	}
	if e.stored.After(now) {
		now = ch.Now() // a lookup took time
	}
	return ch.Walk(ctx, &c, e, qtype, stale, now)
}

// Target returns what is known of name's chain for qtype: a fresh cache entry, else the entry a
// lookup makes (one lookup however many questions wait for it; none while a failure of the name is
// held, see fetch), else, when that lookup fails in a way RFC 8767 covers and the cache holds an
// expired entry still within max_stale, that entry with stale set to the failure.
//
//go:noinline
func (ch *Chaser) Target(ctx context.Context, name string, qtype uint16, now time.Time) (e *Entry, stale, err error) {
	sn := ch.lookups.subnet(ctx, name)
	old := ch.store.get(name, qtype, sn)
	if old != nil && old.Fresh(now) {
		ch.counters.Of(ctx).hits.Inc()
		ch.refresh(ctx, old, now)
		return old, nil, nil
	}
	ch.counters.Of(ctx).misses.Inc()
	if old != nil && old.failedRecently(now, staleRetry) && old.staleUsable(now, ch.maxStale) {
		return old, errStaleRecent, nil
	}
	e, err = ch.fetch(ctx, name, qtype, sn, false)
	if err == nil {
		return e, nil, nil
	}
	var le *chain.LookupError
	if old != nil && errors.As(err, &le) && le.StaleAllowed() && old.staleUsable(now, ch.maxStale) {
		old.failedAt.Store(now.UnixNano())
		return old, err, nil
	}
	return nil, nil, err
}

// errStaleRecent stands for the failure of a refresh tried less than staleRetry ago.
var errStaleRecent = errors.New("the last refresh failed less than 30s ago")

// fetch looks name up, makes an entry of the answer and caches it. Concurrent fetches of one name
// and type share one lookup (singleflight). A fetch never waits for another fetch (nested
// questions are refused, see plugin/own), so these flights cannot deadlock.
//
// A refresh (force) always looks up; any other fetch first looks in the cache again inside the
// flight, so that a question that missed the cache just before an earlier flight landed does not
// start a second lookup, and returns at once the failure of a name outside the zones (or one a
// root block's plugins refuse) still held (failures.go). Every failed lookup of such a name is held, a refresh's included: a refresh that
// fails makes the questions of the next moments wait for no lookup of their own either.
func (ch *Chaser) fetch(ctx context.Context, name string, qtype uint16, sn *Subnet, force bool) (*Entry, error) {
	k := chain.Lower(name) + " " + dns.TypeToString[qtype]
	if sn != nil {
		k += " " + sn.prefix.String() // one flight per client network
	}
	// A failure of a lookup asked outside the block's plugins is held a moment (failures.go): a
	// name outside the zones, or one a root block's plugins refuse. A zone's own is asked again.
	mayHold := ch.lookups.mayGoOutside(name)
	var scope netip.Prefix
	if sn != nil {
		scope = sn.prefix
	}
	v, err, _ := ch.flights.Do(k, func() (any, error) {
		if e := ch.store.get(name, qtype, sn); !force && e != nil && e.Fresh(ch.Now()) {
			return e, nil
		}
		if mayHold && !force {
			if err := ch.failures.get(name, qtype, scope, ch.Now()); err != nil {
				return nil, err
			}
		}
		e, outside, err := ch.lookups.ask(ctx, name, qtype, sn)
		if err != nil {
			// A lookup cut short by its own question's end (the client gone, the server
			// stopping) says nothing of the name: it is not held for other questions.
			if mayHold && outside && ctx.Err() == nil { // not a name below a delegation in a zone
				ch.failures.add(name, qtype, scope, err, ch.Now())
			}
			return nil, err
		}
		if mayHold {
			ch.failures.forget(name, qtype, scope)
		}
		ch.put(e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Entry), nil
}

// Store caches what m, an answer of the block's own plugins to a question for name and qtype with a
// buffer of size bytes that the caller sent down the chain itself, says of name's chain, and
// returns the entry. The answer is read as far as it speaks for (see lookups.from). An answer that
// says nothing usable of name is a *chain.LookupError; a broken chain is stored (a fact about the
// data) and returned.
func (ch *Chaser) Store(name string, qtype uint16, m *dns.Msg, size int) (*Entry, error) {
	a, err := chain.Read(name, qtype, m, ch.lookups.from(name, m, size))
	if err != nil {
		return nil, err
	}
	e := &Entry{Answer: a}
	ch.put(e)
	return e, nil
}

// Fetch looks name up for qtype (one lookup however many questions ask at once), caches the entry
// and returns it: for a name whose answer down the chain came truncated, which a cache below never
// keeps, so the lookup's own question (asked again over TCP when its reply is truncated too)
// reaches the backend.
func (ch *Chaser) Fetch(ctx context.Context, name string, qtype uint16) (*Entry, error) {
	return ch.fetch(ctx, name, qtype, nil, false)
}

// put bounds e's TTL and caches it.
func (ch *Chaser) put(e *Entry) {
	e.TTL = min(max(e.TTL, ch.minTTL), ch.maxTTL)
	e.stored = ch.Now()
	ch.store.put(e)
}

// refresh starts a background refresh of e when it is about to expire, at most one at a time per
// entry, so that names still asked for are refreshed before they expire.
func (ch *Chaser) refresh(ctx context.Context, e *Entry, now time.Time) {
	if !e.shouldRefresh(now) || !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	refreshCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	// The refresh outlives the question: keep the context's values (the server, for lookups
	// through it), drop its cancellation, and stop with the plugin.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	stop := context.AfterFunc(ch.background, cancel)
	ch.wg.Go(func() {
		defer stop()
		defer cancel()
		// The refresh asks as the entry was asked, and the resolver is sent that subnet: the
		// entry's network; the asking client's for an answer that held for every network; none
		// for one looked up without a subnet (private). The question's context carries the
		// asking client's subnet, which is not always the entry's.
		var sn *Subnet
		switch {
		case e.Scope.IsValid():
			sn = &Subnet{prefix: e.Scope}
		case !e.private:
			sn = ch.lookups.subnet(rctx, e.Name)
		}
		rctx := context.WithValue(rctx, subnetKey{}, sn)
		if _, err := ch.fetch(rctx, e.Name, e.Qtype, sn, true); err != nil {
			e.failedAt.Store(ch.Now().UnixNano())
			e.refreshing.Store(false)
		}
	})
}

// First shares one question down the chain among concurrent questions for one name, type and DO
// bit (key), so that a backend's CNAME chase happens once however many clients ask at once. ask
// runs in the leader only, unless a flight that landed just before cached name's alias entry.
// leader reports whether ask ran for this caller.
func (ch *Chaser) First(key, name string, qtype uint16, ask func() (any, error)) (v any, leader bool, err error) {
	v, err, _ = ch.firsts.Do(key, func() (any, error) {
		leader = true
		if e := ch.store.get(name, qtype, nil); IsAlias(e, ch.Now()) {
			return e, nil // stored by a flight that landed just before
		}
		return ask()
	})
	return v, leader, err
}

// Ask asks the server block's plugins for name and qtype in memory, as the plugin's own question,
// with an alias their reply may hide probed for (see hidden.go).
func (ch *Chaser) Ask(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m, _, err := ch.lookups.askNext(ctx, name, qtype)
	return m, err
}

// Serial returns the serial the zone's plugin serves for origin now: an in-memory SOA question.
func (ch *Chaser) Serial(ctx context.Context, origin string) (uint32, bool) {
	m, _, err := ch.lookups.askNext(ctx, origin, dns.TypeSOA)
	if err != nil || m == nil {
		return 0, false
	}
	for _, rr := range m.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial, true
		}
	}
	return 0, false
}

// SOA returns the SOA of zone, from the cache or a lookup, or nil.
func (ch *Chaser) SOA(ctx context.Context, zone string) *dns.SOA {
	e, _, err := ch.Target(ctx, zone, dns.TypeSOA, ch.Now())
	if err != nil || e.End != chain.Positive {
		return nil
	}
	for _, rr := range e.Final {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa
		}
	}
	return nil
}

// Purge drops every entry for a name in zone: the zone changed, and its aliases may have.
func (ch *Chaser) Purge(zone string) { ch.store.purge(zone) }

// Len returns the number of entries cached.
func (ch *Chaser) Len() int { return ch.store.len() }
