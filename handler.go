// Package flatten is a CoreDNS plugin that flattens CNAME chains into addresses and refuses
// broken chains (loops, over-long chains) with a clear error. See docs/ARCHITECTURE.md for how a
// question crosses it.
package flatten

import (
	"context"
	"errors"
	"time"

	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"
	"github.com/coredns/coredns/request"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

var log = clog.NewWithPlugin(pluginName)

const pluginName = "flatten"

// Flatten is the plugin: the wiring of its stages. A question enters ServeDNS once and leaves once:
// decide (policy) -> resolve the chain (chaser) -> compose the reply (flatten.go) -> write.
type Flatten struct {
	Next plugin.Handler

	policy *policy
	chase  *chaser
	audit  *auditor
	report *reporter
	sign   *signer // the server block's dnssec plugin, or nil
	// dangling is the dangling option; expand is expand_transfer.
	dangling int
	expand   bool
}

// Name implements plugin.Handler.
func (f *Flatten) Name() string { return pluginName }

// ServeDNS implements plugin.Handler.
func (f *Flatten) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	act, target := f.policy.decide(r)
	if act == pass {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	if m := markOf(ctx); m != nil && flattenedType(r.Question[0].Qtype) {
		return f.nested(ctx, w, r, m)
	}
	if f.policy.ecs && (act == flattenName || act == flattenAlias) {
		ctx = withSubnet(ctx, clientSubnet(w, r, f.policy.ecsClient))
	}
	switch act {
	case watch:
		return f.watch(ctx, w, r)
	case apexOther:
		return f.siblings(ctx, w, r)
	case aliasOther:
		return f.aliasOther(ctx, w, r)
	case flattenAlias:
		return f.flattenAlias(ctx, w, r, target)
	case flattenName:
		return f.flattenName(ctx, w, r)
	}
	return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r) // passAddress
}

// nested answers a question the plugin itself caused: its own lookup through the server, which
// passes once to the backends, or a backend chasing a CNAME, which is refused (see nested.go).
func (f *Flatten) nested(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, m *mark) (int, error) {
	q := r.Question[0]
	if !m.passes(q.Name) {
		return dns.RcodeRefused, nil
	}
	msg, err := f.chase.lookups.askNext(ctx, q.Name, q.Qtype)
	if err != nil {
		return dns.RcodeServerFailure, err
	}
	msg = msg.Copy()
	msg.Id, msg.Question = r.Id, r.Question
	return dns.RcodeSuccess, writeMsg(w, msg)
}

// flattenName answers an address question at a name that is flattened when it is an alias.
func (f *Flatten) flattenName(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	q := r.Question[0]
	// Warm: the name is known to be an alias, and what it leads to is cached.
	e := f.chase.store.get(q.Name, q.Qtype, nil)
	if e != nil {
		now := f.chase.now() // once per question: the clock is slow to read on some machines
		if isAlias(e, now) && !f.keepSigned(e, isDO(r)) {
			return f.warm(ctx, w, r, e, now)
		}
	}
	return f.cold(ctx, w, r, e != nil)
}

// warm answers from the cache. It is the hot path: kept short, and with small stack frames (the
// rest is in functions that are never inlined here), so that a question's goroutine seldom has to
// grow its stack.
func (f *Flatten) warm(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, e *entry, now time.Time) (int, error) {
	ch := f.chase
	counters := ch.counters.of(ctx)
	counters.hits.Inc()
	ch.maybeRefresh(ctx, e, now)
	var c chain
	f.policy.chain(&c, r.Question[0].Name)
	res := ch.walk(ctx, &c, e, r.Question[0].Qtype, nil, now)
	if res.err != nil || res.kind != kindPositive || res.stale != nil {
		return f.reply(ctx, w, r, res, false)
	}
	counters.flattenedOf(r.Question[0].Qtype).Inc()
	if res.aliasMode {
		counters.aliasMode.Inc()
	}
	m := flattened(r, res.ttl, res.final)
	if f.policy.ecs {
		withScope(ctx, r, m, res.scope)
	}
	return f.write(ctx, w, r, m)
}

// cold answers a question whose chain is not cached: it asks the rest of the chain. Questions for
// a name known to be an alias (or that may be one: apex, names) share one question down the chain
// while it runs.
//
//go:noinline
func (f *Flatten) cold(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, known bool) (int, error) {
	q := r.Question[0]
	ch := f.chase
	if q.Qtype == dns.TypeANY || f.policy.probeFirst {
		// Is the name an alias? A CNAME question, which no backend chases, and an HTTPS one for
		// AliasMode: for ANY, whose answer needs two chains, and with targets, where no name
		// outside the zones allowed may be looked up, not even by a backend.
		m := ch.probeAlias(ctx, q.Name, true, true)
		if m == nil {
			return f.watch(ctx, w, r)
		}
		target, _ := rules.AliasTarget(m.Answer[0])
		if q.Qtype == dns.TypeANY {
			return f.flattenAny(ctx, w, r, target, m.Answer[0].Header().Ttl, false, m.Answer[0].Header().Rrtype != dns.TypeCNAME)
		}
		e, err := toEntry(q.Name, q.Qtype, m, f.policy.maxChain, "")
		if err != nil {
			return f.reply(ctx, w, r, result{names: []string{lowerASCII(q.Name)}, err: err}, false)
		}
		ch.put(e)
		c := new(chain)
		f.policy.chain(c, q.Name)
		return f.reply(ctx, w, r, ch.walk(ctx, c, e, q.Qtype, nil, ch.now()), false)
	}
	dedupe := f.policy.mode != All || known
	fa, err := ch.first(ctx, w, r, dedupe)
	switch {
	case fa.err != nil:
		return f.reply(ctx, w, r, result{names: []string{lowerASCII(q.Name)}, err: fa.err}, false)
	case fa.entry == nil:
		return fa.rcode, err
	}
	if f.keepSigned(fa.entry, isDO(r)) {
		// A pre-signed zone's chain is only verifiable as signed (RFC 4035 section 3.1.1): a
		// client that asks for DNSSEC gets it unchanged, with every CNAME and RRSIG.
		m := fa.msg.Copy()
		m.Id, m.Question = r.Id, r.Question
		return dns.RcodeSuccess, writeMsg(w, m)
	}
	c := new(chain)
	f.policy.chain(c, q.Name)
	return f.reply(ctx, w, r, ch.walk(ctx, c, fa.entry, q.Qtype, nil, ch.now()), false)
}

// keepSigned reports whether a chain from a pre-signed zone goes to a DNSSEC client unchanged: a
// synthesized record has no signature a validator could check, unless the server block signs
// online (its dnssec plugin then signs the flattened reply).
func (f *Flatten) keepSigned(e *entry, do bool) bool {
	return do && e.signed && f.sign == nil
}

// flattenAlias answers an address question at a declared alias. When the target does not resolve
// to records of the type (it fails, does not exist or has none), the zone's own records at the
// name, if any, are the answer: the ANAME draft's sibling address records. A stale answer comes
// before that fallback; a fallback for a failed lookup is marked as one (see fallback), one for a
// broken chain is reported.
func (f *Flatten) flattenAlias(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, target string) (int, error) {
	q := r.Question[0]
	if q.Qtype == dns.TypeANY {
		return f.flattenAny(ctx, w, r, target, maxTTL, true, false)
	}
	res := f.resolveFrom(ctx, q.Name, target, maxTTL, q.Qtype)
	if res.err != nil || res.kind != kindPositive {
		if m := f.zoneAnswer(ctx, w, r); m != nil {
			var le *LookupError
			switch {
			case errors.As(res.err, &le):
				m = f.fallback(ctx, r, m, le, bufSize(w, r))
			case res.err != nil:
				// A loop or a chain too long is a fact about the data, reported as such; the
				// zone's records stand in as they are.
				f.report.broken(ctx, q.Name, q.Qtype, res.err)
			}
			return dns.RcodeSuccess, writeMsg(w, m)
		}
	}
	if res.err == nil && res.kind == kindPositive && serviceType(q.Qtype) && !f.addressesFrom(ctx, q.Name, target) {
		// A ServiceMode record's "." means "the owner's own addresses": here the alias's addresses
		// are not the target's, so the record names the target instead (RFC 9460 2.5).
		res.final = ownerTargets(res.final)
	}
	return f.reply(ctx, w, r, res, true)
}

// addressesFrom reports whether the declared alias name answers A or AAAA with target's addresses
// (and not with the zone's own).
func (f *Flatten) addressesFrom(ctx context.Context, name, target string) bool {
	for _, qtype := range [2]uint16{dns.TypeA, dns.TypeAAAA} {
		if res := f.resolveFrom(ctx, name, target, maxTTL, qtype); res.err == nil && res.kind == kindPositive {
			return true
		}
	}
	return false
}

// resolveFrom resolves the chain of qname, an alias of target (a hop of TTL ttl), for qtype.
func (f *Flatten) resolveFrom(ctx context.Context, qname, target string, ttl uint32, qtype uint16) result {
	var c chain
	f.policy.chain(&c, qname)
	if err := c.step(lowerASCII(target)); err != nil {
		return result{names: c.path(), err: err}
	}
	c.lower(ttl)
	now := f.chase.now()
	e, stale, err := f.chase.target(ctx, target, qtype, now)
	if err != nil {
		return result{names: c.path(), err: err}
	}
	if e.stored.After(now) {
		now = f.chase.now() // a lookup took time
	}
	return f.chase.walk(ctx, &c, e, qtype, stale, now)
}

// zoneAnswer returns the zone's own answer to r when it holds records of the type at the name, or
// nil.
func (f *Flatten) zoneAnswer(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
	nw := nonwriter.New(w)
	if _, err := plugin.NextOrFailure(f.Name(), f.Next, &markedContext{Context: ctx, m: closed}, nw, r); err != nil || nw.Msg == nil {
		return nil
	}
	q := r.Question[0]
	for _, rr := range nw.Msg.Answer {
		if h := rr.Header(); h.Rrtype == q.Qtype && equalFold(h.Name, q.Name) {
			return nw.Msg
		}
	}
	return nil
}

// write writes m, the reply to r, through the block's dnssec plugin when the client asked for
// DNSSEC, and returns what the server expects after a plugin has written.
func (f *Flatten) write(ctx context.Context, w dns.ResponseWriter, r, m *dns.Msg) (int, error) {
	if f.sign != nil && isDO(r) {
		return f.sign.write(ctx, w, r, m)
	}
	return dns.RcodeSuccess, writeMsg(w, m)
}

// isDO reports whether r asks for DNSSEC records.
func isDO(r *dns.Msg) bool {
	o := r.IsEdns0()
	return o != nil && o.Do()
}

// bufSize is the room the client has for a reply: its EDNS buffer over UDP (512 bytes without
// EDNS), 64 KiB over TCP.
func bufSize(w dns.ResponseWriter, r *dns.Msg) int {
	state := request.Request{W: w, Req: r}
	return state.Size()
}
