// Package flatten is a CoreDNS plugin that flattens CNAME chains into addresses and refuses
// broken chains (loops, over-long chains) with a clear error.
package flatten

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/coredns/coredns/request"
	"github.com/dnsflatten/flatten/plugin/rules"

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
		rcode, err := plugin.NextOrFailure(f.Name(), f.Next, &cw.ctx, cw, r)
		res := first{msg: cw.msg, rcode: rcode}
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

// compose walks the chain c from entry e to its end, fetching the entries it lacks, and returns the
// reply to the question in state, and whether the chain ended in records of the question's type.
// captured is the first answer when there was one: it may carry the zone's SOA.
//
// stale, when not nil, says e is expired data served because its refresh failed with that error:
// the reply is then a stale answer (RFC 8767), as it is when any later entry on the chain is.
func (f *Flatten) compose(ctx context.Context, state request.Request, c *chain, e *entry, captured *dns.Msg, stale error) (*dns.Msg, bool) {
	r := state.Req
	qtype := r.Question[0].Qtype
	now := f.now()
	for {
		if err := c.extend(e.names, e.remaining(now)); err != nil {
			return f.refuse(ctx, r, err), false
		}
		switch e.kind {
		case kindPositive:
			flattenedCount.WithLabelValues(metrics.WithServer(ctx), dns.TypeToString[qtype]).Inc()
			if stale != nil {
				return f.staleReply(ctx, r, synthesize(r, e.final, staleTTL), c, stale), true
			}
			return synthesize(r, e.final, c.ttl), true
		case kindNXDOMAIN, kindNODATA:
			m := f.noData(ctx, state, captured, c, e.kind == kindNXDOMAIN)
			if stale != nil {
				for _, rr := range m.Ns {
					rr.Header().Ttl = min(rr.Header().Ttl, staleTTL)
				}
				return f.staleReply(ctx, r, m, c, stale), false
			}
			return m, false
		}
		next, st, err := f.target(ctx, state, c.last(), qtype)
		if err != nil {
			return f.refuse(ctx, r, err), false
		}
		if st != nil {
			stale = st
		}
		e = next
	}
}

// staleReply adds extended error 3 (Stale Answer, RFC 8914) to a reply built from expired data.
func (f *Flatten) staleReply(ctx context.Context, r, m *dns.Msg, c *chain, err error) *dns.Msg {
	staleCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	addEDE(r, m, dns.ExtendedErrorCodeStaleAnswer, "refresh of "+c.last()+" failed: "+err.Error())
	if f.logs.allow(c.last(), errStale) {
		log.Warningf("%s: serving stale data: %s", c.last(), err)
	}
	return m
}

var errStale = errors.New("stale")

// declared answers a question for a declared alias (alias NAME TARGET). When TARGET does not resolve
// to records of the question's type, the zone's own records at NAME, if any, are the answer (the
// ANAME draft's sibling address records).
func (f *Flatten) declared(ctx context.Context, state request.Request, target string) *dns.Msg {
	q := state.Req.Question[0]
	c := newChain(q.Name, f.MaxChain)
	var (
		m  *dns.Msg
		ok bool
	)
	if err := c.extend([]string{c.last(), target}, maxTTL); err != nil {
		m = f.refuse(ctx, state.Req, err)
	} else if e, stale, err := f.target(ctx, state, target, q.Qtype); err != nil {
		m = f.refuse(ctx, state.Req, err)
	} else {
		m, ok = f.compose(ctx, state, c, e, nil, stale)
	}
	if ok {
		return m
	}
	nw := nonwriter.New(state.W)
	plugin.NextOrFailure(f.Name(), f.Next, context.WithValue(ctx, scopeKey{}, closed), nw, state.Req)
	if nw.Msg != nil && hasType(nw.Msg.Answer, q.Name, q.Qtype) {
		return nw.Msg
	}
	return m
}

// hasType reports whether rrs hold a record of qtype owned by name.
func hasType(rrs []dns.RR, name string, qtype uint16) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype && equalFold(rr.Header().Name, name) {
			return true
		}
	}
	return false
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

// refuse answers a broken chain or a failed lookup with SERVFAIL and an extended error, logs it
// (once a minute per question name and problem) and counts it.
func (f *Flatten) refuse(ctx context.Context, r *dns.Msg, err error) *dns.Msg {
	server := metrics.WithServer(ctx)
	var ce *ChainError
	if errors.As(err, &ce) {
		rule := map[Kind]string{Loop: rules.RuleLoop, TooLong: rules.RuleTooLong, MultipleCNAME: rules.RuleMultiple}[ce.Kind]
		switch ce.Kind {
		case Loop:
			loopCount.WithLabelValues(server).Inc()
		case TooLong:
			tooLongCount.WithLabelValues(server).Inc()
		}
		findingCount.WithLabelValues(rule, ruleSeverity[rule].String()).Inc()
	}
	if f.logs.allow(r.Question[0].Name, err) {
		log.Warningf("%s %s: %s", r.Question[0].Name, dns.TypeToString[r.Question[0].Qtype], err)
	}
	return servfail(r, err)
}

// noData builds the NODATA reply for an alias whose target does not exist (dangling: logged and
// counted, since a CNAME into a name someone else may register is a subdomain-takeover risk) or has
// no records of the type. The SOA is the alias zone's: from the first answer when it carries one
// (the file plugin puts it there), else from the zone's apex (cached like any lookup).
func (f *Flatten) noData(ctx context.Context, state request.Request, captured *dns.Msg, c *chain, dangling bool) *dns.Msg {
	qname := state.Req.Question[0].Name
	rcode := dns.RcodeSuccess
	if dangling {
		danglingCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
		rule, risk := rules.RuleDangling, ""
		if p, ok := rules.DefaultSuffixes.Match(c.last()); ok && (p.Claim == rules.Vulnerable || p.Claim == rules.Edge) {
			rule, risk = rules.RuleTakeover, ": subdomain-takeover risk, names under "+p.Suffix+" can be claimed by anyone"
		}
		findingCount.WithLabelValues(rule, ruleSeverity[rule].String()).Inc()
		if f.logs.allow(qname, errDangling) {
			log.Warningf("%s: dangling alias: target %s does not exist (NXDOMAIN)%s: %s", qname, c.last(), risk, path(c.names))
		}
		rcode = f.Dangling
		if rcode == dns.RcodeServerFailure {
			return servfail(state.Req, fmt.Errorf("dangling alias: target %s does not exist: %s", c.last(), path(c.names)))
		}
	}
	var soa *dns.SOA
	if captured != nil {
		soa = findSOA(captured.Ns, qname)
	}
	if zone := plugin.Zones(f.Zones).Matches(qname); soa == nil && zone != "" {
		if e, _, err := f.target(ctx, state, zone, dns.TypeSOA); err == nil && e.kind == kindPositive {
			soa = findSOA(e.final, qname)
		}
	}
	m := nodata(state.Req, soa, c.ttl)
	m.Rcode = rcode
	return m
}

// ruleSeverity is the severity of the findings the plugin sees in live answers, as the rules give
// them.
var ruleSeverity = map[string]rules.Severity{
	rules.RuleLoop: rules.Error, rules.RuleTooLong: rules.Warning, rules.RuleMultiple: rules.Error,
	rules.RuleDangling: rules.Warning, rules.RuleTakeover: rules.Critical,
}

// apexReply answers a question at an apex that holds a CNAME beside other data from the audit's
// copy of the apex: its records of the type, or NODATA with its SOA.
func apexReply(r *dns.Msg, at apexRecords) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	qtype := r.Question[0].Qtype
	if rrs := at[qtype]; len(rrs) > 0 {
		m.Answer = rrs
		if o := r.IsEdns0(); o != nil && o.Do() {
			for _, sig := range at[dns.TypeRRSIG] {
				if sig.(*dns.RRSIG).TypeCovered == qtype {
					m.Answer = append(m.Answer, sig)
				}
			}
		}
		return m
	}
	if soa := at[dns.TypeSOA]; len(soa) > 0 {
		m.Ns = []dns.RR{nodata(r, soa[0].(*dns.SOA), maxTTL).Ns[0]}
	}
	return m
}

var errDangling = errors.New("dangling")

// errBusy is a lookup refused because max_lookups are in flight.
type errBusy struct{ max int }

func (e errBusy) Error() string {
	return fmt.Sprintf("%d lookups in flight, the max_lookups limit: not started", e.max)
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
