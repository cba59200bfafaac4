// Package flatten is a CoreDNS plugin that flattens CNAME chains into addresses and refuses
// broken chains (loops, over-long chains) with a clear error.
package flatten

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

var log = clog.NewWithPlugin(pluginName)

// Mode selects which names' CNAMEs are flattened.
type Mode int

const (
	// Apex flattens a CNAME at a zone's apex only (the default).
	Apex Mode = iota
	// All flattens every CNAME answer in the zones.
	All
	// Names flattens exactly the listed owner names.
	Names
)

// Flatten is the plugin. Its configuration fields are set by setup and never change while it
// serves.
type Flatten struct {
	Next plugin.Handler

	// Zones are the zones whose names may be flattened: lower-case, fully qualified.
	Zones []string
	// Mode chooses the eligible names in Zones.
	Mode Mode
	// Names are the owner names flattened in Names mode: lower-case, fully qualified.
	Names map[string]struct{}
	// Aliases are the declared aliases (alias NAME TARGET): lower-case NAME to fully qualified TARGET.
	Aliases map[string]string
	// MaxChain is the number of CNAME hops allowed on one chain.
	MaxChain int
	// MinTTL and MaxTTL bound the TTLs of cached entries and so of synthesized answers.
	MinTTL, MaxTTL uint32
	// MaxStale is how long after expiry an entry may be served when its refresh fails; 0 never.
	MaxStale time.Duration
	// CacheSize is the number of entries the cache holds at most.
	CacheSize int
	// Dangling is the reply to an alias whose target does not exist: dns.RcodeSuccess (NODATA, the
	// default), dns.RcodeNameError or dns.RcodeServerFailure.
	Dangling int
	// MaxLookups bounds the target lookups in flight at once; a question that needs one more gets
	// SERVFAIL (or a stale answer) at once instead of piling up.
	MaxLookups int
	// AuditInterval is how often the zones' serials are checked for a new audit; 0 audits at
	// start-up only.
	AuditInterval time.Duration

	// Lookup resolves names through this server; Resolver, when set, resolves names outside Zones.
	Lookup   Lookuper
	Resolver Lookuper

	cache *targets
	slots chan struct{} // one per lookup in flight, MaxLookups in all
	// group shares lookups; firsts shares questions down the plugin chain.
	group, firsts singleflight.Group
	logs          *limiter
	now           func() time.Time

	// stopCtx is cancelled on shutdown; wg counts background refreshes.
	stopCtx context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	ready   atomic.Bool
	// unhiding is set when a backend of the server block may hide a CNAME behind NODATA (see
	// hidden.go).
	unhiding atomic.Bool

	// The audit's state: only its goroutine touches transferers and audited; apexes is read by
	// every question.
	transferers []transfer.Transferer
	audited     map[string]auditZone
	apexes      atomic.Pointer[map[string]apexRecords]
}

// Defaults.
const (
	defaultMinTTL    = 5
	defaultMaxTTL    = 3600
	defaultMaxStale  = 24 * time.Hour
	defaultCacheSize = 10000
	// defaultMaxLookups: lookups take a few milliseconds; 256 at once is thousands a second.
	defaultMaxLookups = 256
)

// New returns a Flatten with the defaults: apex mode, max_chain 10, lookups through this server.
func New(zones []string) *Flatten {
	f := &Flatten{
		Zones:         zones,
		MaxChain:      defaultMaxChain,
		MinTTL:        defaultMinTTL,
		MaxTTL:        defaultMaxTTL,
		MaxStale:      defaultMaxStale,
		CacheSize:     defaultCacheSize,
		Lookup:        self{up: upstreamNew()},
		Dangling:      dns.RcodeSuccess,
		MaxLookups:    defaultMaxLookups,
		AuditInterval: defaultAuditInterval,
		logs:          newLimiter(time.Minute),
		now:           time.Now,
	}
	f.init()
	return f
}

// init makes the plugin's state from its configuration.
func (f *Flatten) init() {
	f.cache = newTargets(f.CacheSize)
	f.slots = make(chan struct{}, max(f.MaxLookups, 1))
	f.stopCtx, f.stop = context.WithCancel(context.Background())
}

// shutdown stops background refreshes and waits for them.
func (f *Flatten) shutdown() {
	f.stop()
	f.wg.Wait()
}

// Name implements plugin.Handler.
func (f *Flatten) Name() string { return pluginName }

// scope marks the context of a question the plugin itself has sent down the plugin chain: a
// self-lookup, or the question it is waiting on the next plugin to answer.
type scope struct {
	// pending is the name the plugin asked for, which may pass once; "" when nothing may.
	pending string
}

type scopeKey struct{}

// ServeDNS implements plugin.Handler.
func (f *Flatten) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if len(r.Question) != 1 {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	q := r.Question[0]
	if (q.Qtype != dns.TypeA && q.Qtype != dns.TypeAAAA) || q.Qclass != dns.ClassINET {
		// An apex that holds a CNAME beside other data (known from the audit): its other records
		// are the answer, not the CNAME that the file plugin gives for every type.
		if idx := f.apexes.Load(); idx != nil && q.Qclass == dns.ClassINET && !apexNative(q.Qtype) {
			if at, ok := (*idx)[lowerASCII(q.Name)]; ok {
				return writeReply(w, apexReply(r, at))
			}
		}
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}

	// A question asked while the plugin waits on the plugin chain. The name it asked for passes
	// once. Anything else is a backend (file, auto, kubernetes, ...) chasing a CNAME target through
	// this server: refuse it, so that the backend answers with the CNAME alone and the plugin
	// resolves the target itself, through its cache and with one lookup for any number of
	// questions. Every lookup is then a leaf that never waits on another.
	if s, ok := ctx.Value(scopeKey{}).(*scope); ok {
		if s.pending != "" && equalFold(s.pending, q.Name) {
			s.pending = ""
			if f.unhiding.Load() && f.inZones(q.Name) {
				return f.nextUnhidden(ctx, w, r)
			}
			return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
		}
		return dns.RcodeRefused, nil
	}

	state := request.Request{W: w, Req: r}
	if target, ok := f.Aliases[lowerASCII(q.Name)]; ok {
		return writeReply(w, f.declared(ctx, state, target))
	}
	if !f.eligible(q.Name) {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}

	// Warm path: the name is known to be an alias and what it leads to is cached.
	e := f.cache.get(q.Name, q.Qtype)
	if e != nil && (len(e.names) < 2 || e.signed && state.Do()) {
		e = nil
	}
	if e != nil {
		if now := f.now(); e.fresh(now) {
			cacheHits.WithLabelValues(metrics.WithServer(ctx)).Inc()
			f.maybeRefresh(ctx, state, e, now)
			m, _ := f.compose(ctx, state, newChain(q.Name, f.MaxChain), e, nil, nil)
			return writeReply(w, m)
		}
	}

	// Cold path: ask the rest of the chain. Questions for a name known to be an alias (or that
	// may be one: apex, names) share one question down the chain while it runs.
	dedupe := f.Mode != All || e != nil
	first, err := f.firstAnswer(ctx, w, r, dedupe)
	if first.cached != nil {
		m, _ := f.compose(ctx, state, newChain(q.Name, f.MaxChain), first.cached, nil, nil)
		return writeReply(w, m)
	}
	if first.msg == nil {
		return first.rcode, err
	}
	// A pre-signed zone's chain is only verifiable as signed (RFC 4035 section 3.1.1); a client
	// that asks for DNSSEC gets it unchanged, with every CNAME and RRSIG.
	if first.entry == nil && first.err == nil {
		m := first.msg.Copy()
		m.Id, m.Question = r.Id, r.Question
		return writeReply(w, m)
	}
	if first.err != nil {
		return writeReply(w, f.refuse(ctx, r, first.err))
	}
	m, _ := f.compose(ctx, state, newChain(q.Name, f.MaxChain), first.entry, first.msg, nil)
	return writeReply(w, m)
}

// first is the first answer to a question from the rest of the plugin chain.
type first struct {
	msg   *dns.Msg // the answer when it starts a chain; nil when it was written to the client
	entry *entry   // what msg says of the chain; nil for a pre-signed chain asked with DO
	err   error    // a chain broken inside msg
	rcode int      // what the chain returned, when msg is nil
	// cached is a fresh entry that an earlier flight stored just before this one started: the
	// answer comes from it, and nothing was asked.
	cached *entry
}

// firstAnswer sends the question down the plugin chain, writing any answer that does not start a
// chain straight to the client. With dedupe, concurrent questions for one name, type and DO bit
// share one question down the chain, so that a backend's CNAME chase (the file plugin asking a
// forward block for the target) happens once however many clients ask at once; the entry is cached
// before the flight lands, so no later question starts another.
func (f *Flatten) firstAnswer(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, dedupe bool) (first, error) {
	q := r.Question[0]
	o := r.IsEdns0()
	do := o != nil && o.Do()
	call := func() (first, error) {
		cw := getWriter(ctx, w, q.Name)
		cw.holdNoData = f.unhiding.Load() && f.inZones(q.Name)
		rcode, err := plugin.NextOrFailure(f.Name(), f.Next, &cw.ctx, cw, r)
		res := first{msg: cw.msg, rcode: rcode}
		if cw.nodata != nil {
			if m := f.unhide(&cw.ctx, w, r, cw.nodata); m != nil {
				res.msg = m
			} else {
				res.rcode, err = writeReply(w, cw.nodata)
			}
		}
		putWriter(cw)
		if res.msg == nil || (do && hasRRSIG(res.msg.Answer)) {
			return res, err
		}
		res.entry, res.err = toEntry(q.Name, q.Qtype, res.msg, f.MaxChain)
		if res.err == nil {
			f.store(res.entry)
		}
		return res, nil
	}
	if !dedupe {
		return call()
	}
	leader := false
	k := lowerASCII(q.Name) + " " + dns.TypeToString[q.Qtype]
	if do {
		k += " do"
	}
	v, err, _ := f.firsts.Do(k, func() (any, error) {
		leader = true
		if e := f.cache.get(q.Name, q.Qtype); e != nil && len(e.names) > 1 && !(e.signed && do) && e.fresh(f.now()) {
			return first{cached: e}, nil
		}
		return call()
	})
	res := v.(first)
	if !leader && res.msg == nil {
		// The leader's answer was no chain, and went to the leader's client: ask for ours.
		return call()
	}
	return res, err
}

// writeReply writes m and returns what the server expects after a plugin has written.
func writeReply(w dns.ResponseWriter, m *dns.Msg) (int, error) {
	if err := w.WriteMsg(m); err != nil {
		return dns.RcodeServerFailure, plugin.Error(pluginName, err)
	}
	return dns.RcodeSuccess, nil
}

// lookup resolves name: through the resolvers when they are set and name is outside the plugin's
// zones, else through this server. It times the lookup and turns "nothing answered" into an error.
func (f *Flatten) lookup(ctx context.Context, state request.Request, name string, qtype uint16) (*dns.Msg, error) {
	server := metrics.WithServer(ctx)
	via := f.Lookup
	if f.Resolver != nil && !f.inZones(name) {
		via = f.Resolver
	}
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	default:
		lookupFailures.WithLabelValues(server, "busy").Inc()
		return nil, &LookupError{Name: name, Qtype: qtype, Err: errBusy{f.MaxLookups}}
	}
	ctx = context.WithValue(ctx, scopeKey{}, &scope{pending: name})
	start := time.Now()
	m, err := via.Lookup(ctx, state, name, qtype)
	lookupDuration.WithLabelValues(server).Observe(time.Since(start).Seconds())
	lookupCount.WithLabelValues(server).Inc()
	switch {
	case err != nil:
		err = &LookupError{Name: name, Qtype: qtype, Err: err}
	case m == nil:
		err = &LookupError{Name: name, Qtype: qtype, Rcode: -1}
	default:
		return m, nil
	}
	lookupFailures.WithLabelValues(server, err.(*LookupError).cause()).Inc()
	return nil, err
}

// eligible reports whether a question for qname may be flattened.
func (f *Flatten) eligible(qname string) bool {
	switch f.Mode {
	case Apex:
		for _, z := range f.Zones {
			if equalFold(z, qname) {
				return true
			}
		}
		return false
	case Names:
		_, ok := f.Names[lowerASCII(qname)]
		return ok
	default:
		return f.inZones(qname)
	}
}

// inZones reports whether name is inside one of the plugin's zones.
func (f *Flatten) inZones(name string) bool {
	for _, z := range f.Zones {
		if inZone(name, z) {
			return true
		}
	}
	return false
}
