package flatten

// The request path, in one file: a question enters ServeDNS once and leaves once.
//
//	decide (decide.go, pure) -> ask the next plugin, capturing an answer that starts a chain
//	(capture.go) -> resolve the chain (plugin/target) -> compose the reply (plugin/reply) -> write
//
// Only this file and capture.go write to the client.

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/dnssec"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"
	"github.com/coredns/coredns/request"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/own"
	"github.com/dnsflatten/flatten/plugin/reply"
	"github.com/dnsflatten/flatten/plugin/target"

	"github.com/miekg/dns"
	ot "github.com/opentracing/opentracing-go"
)

// ServeDNS implements plugin.Handler. A question the plugin passes on (most, in every mode) goes
// down the chain from this frame, which is kept small: the plugins below run on nearly as much of
// the question goroutine's stack as without flatten. A goroutine that outgrows its stack has all of
// it copied, frame by frame, which would cost a passed-on question as much as the rest of its way
// through the server.
func (f *Flatten) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	ctx, down, back, m, rcode, err := f.serve(ctx, w, r)
	switch {
	case m != nil:
		return f.write(ctx, w, r, m)
	case down == nil:
		return rcode, err
	}
	if ot.SpanFromContext(ctx) == nil {
		// Outside a trace the next plugin is called from this frame, as dns64 calls its own
		// with a writer of its own: plugin.NextOrFailure would add its frame (208 bytes) and a
		// writer of its own (an allocation) to every question passed on, for the span a trace
		// opens, and for the metrics plugin's record of the plugin that wrote the reply, which
		// only the writer the metrics plugin hands to the plugin right after it sets. serve
		// returns down only when there is a next plugin.
		rcode, err = f.Next.ServeDNS(ctx, down, r)
	} else {
		rcode, err = plugin.NextOrFailure(pluginName, f.Next, ctx, down, r)
	}
	if back != nil {
		return back.back(rcode, err)
	}
	return rcode, err
}

// serve answers r; or returns m, the reply to write (a warm flattened answer, written from
// ServeDNS's frame); or says how the question goes on down the chain: with the context and writer
// down (never nil: CoreDNS gives every plugin a writer), and, for all mode's pass-through, back,
// the writer that resolves a chain in its answer once it is back.
//
//go:noinline
func (f *Flatten) serve(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (_ context.Context, down dns.ResponseWriter, back *captureWriter, m *dns.Msg, rcode int, err error) {
	f.audit.Start() // started once the instance serves (startAudits); a no-op after the first
	act, alias := f.policy.decide(r)
	if f.Next == nil && act != flattenAlias {
		// Alone in its block there is nothing to flatten but a declared alias, whose target the
		// plugin resolves itself: answer the rest as the block would without the plugin, REFUSED
		// (CoreDNS's answer for a block with no plugins), never SERVFAIL.
		return nil, nil, nil, nil, dns.RcodeRefused, nil
	}
	if act == pass {
		return ctx, w, nil, nil, 0, nil
	}
	if m := own.MarkOf(ctx); m != nil && chain.Flattened(r.Question[0].Qtype) {
		rcode, err = nested(ctx, f, w, r, m)
		return nil, nil, nil, nil, rcode, err
	}
	if f.policy.ecs && (act == flattenName || act == flattenAlias) {
		ctx = target.WithSubnet(ctx, target.ClientSubnet(w, r, f.policy.ecsClient))
	}
	q := question{f: f, ctx: ctx, w: w, r: r}
	switch act {
	case watch:
		return ctx, q.watcher(), nil, nil, 0, nil
	case belowOther:
		if !f.audit.AliasApex(r.Question[0].Name) {
			// Passed on from ServeDNS's frame, as every question the plugin does not answer.
			return ctx, q.watcher(), nil, nil, 0, nil
		}
		rcode, err = q.apex()
	case apexOther:
		rcode, err = q.apex()
	case aliasOther:
		rcode, err = q.aliasOther()
	case flattenAlias:
		rcode, err = q.alias(alias)
	case flattenName:
		qs := r.Question[0]
		e := f.chase.Get(qs.Name, qs.Qtype, nil)
		if e == nil && f.policy.passesFirst(qs.Qtype) {
			// Most names in all mode are no alias: the question goes on down the chain, and a
			// chain in its answer is resolved once it is back (see captureWriter).
			cw := q.capture()
			return &cw.ctx, cw, cw, nil, 0, nil
		}
		m, rcode, err = q.name(e)
		return nil, nil, nil, m, rcode, err
	default: // passAddress
		return ctx, w, nil, nil, 0, nil
	}
	return nil, nil, nil, nil, rcode, err
}

// nested answers a question the plugin itself caused (see plugin/own): its own lookup through the
// server, which passes once to the block's backends, or a backend chasing a CNAME, which is
// refused.
func nested(ctx context.Context, f *Flatten, w dns.ResponseWriter, r *dns.Msg, m *own.Mark) (int, error) {
	q := r.Question[0]
	if !m.Passes(q.Name) {
		return dns.RcodeRefused, nil
	}
	msg, err := f.chase.Ask(ctx, q.Name, q.Qtype)
	if err != nil {
		return dns.RcodeServerFailure, err
	}
	msg = msg.Copy()
	msg.Id, msg.Question = r.Id, r.Question
	return dns.RcodeSuccess, writeMsg(w, msg)
}

// question is one client question on its way through the plugin: what each step of its answer
// needs. It is passed by value, so that it stays on the stack.
type question struct {
	f   *Flatten
	ctx context.Context
	w   dns.ResponseWriter
	r   *dns.Msg
}

// name answers an address question at a name that is flattened when it is an alias; e is the
// name's cache entry, if any. A warm flattened answer is returned to be written (m); any other
// reply is written here.
func (q question) name(e *target.Entry) (*dns.Msg, int, error) {
	// Warm: the name is known to be an alias, and what it leads to is cached.
	if e != nil {
		now := q.f.chase.Now() // once per question: the clock is slow to read on some machines
		if target.IsAlias(e, now) && !q.keepSigned(e.Signed) {
			return q.warm(e, now)
		}
	}
	rcode, err := q.cold()
	return nil, rcode, err
}

// warm answers from the cache. It is the hot path: kept short, and with small stack frames (the
// rest is in functions that are never inlined here), so that a question's goroutine seldom has to
// grow its stack; the flattened reply is returned, for ServeDNS to write from its own frame (the
// write path, packing an HTTPS record most of all, is deep).
func (q question) warm(e *target.Entry, now time.Time) (*dns.Msg, int, error) {
	qs := q.r.Question[0]
	res := q.f.chase.Warm(q.ctx, e, qs.Name, qs.Qtype, now)
	res.Recursive = e.Recursive
	if res.Err != nil || res.End != chain.Positive || res.Stale != nil {
		rcode, err := q.reply(res, false)
		return nil, rcode, err
	}
	q.f.counters.Of(q.ctx).answered(qs.Qtype, res.AliasMode)
	m := reply.Flattened(q.r, res.TTL, res.Final)
	asRecursive(m, res.Recursive)
	q.scope(m, res.Scope)
	return m, dns.RcodeSuccess, nil
}

// asRecursive gives m, a reply the plugin composed, the flags of a recursive answer when the
// question's own answer came from a recursive resolver (a block that forwards): RA set, AA clear
// (RFC 1035 section 4.1.1), as the client gets them from the block without the plugin.
func asRecursive(m *dns.Msg, recursive bool) {
	if recursive {
		m.Authoritative, m.RecursionAvailable = false, true
	}
}

// cold answers a question whose chain is not cached, at a name known to be an alias or that may
// be one (apex, names; all mode passes its other names on from ServeDNS): it asks the rest of the
// chain, and concurrent questions share one question down the chain while it runs.
//
//go:noinline
func (q question) cold() (int, error) {
	qs := q.r.Question[0]
	ch := q.f.chase
	if qs.Qtype == dns.TypeANY || q.f.policy.probeFirst {
		// Is the name an alias? A CNAME question, which no backend chases, and an HTTPS one for
		// AliasMode: for ANY, whose answer needs two chains, and with targets, where no name
		// outside the zones allowed may be looked up, not even by a backend.
		m := ch.Probe(own.With(q.ctx, own.Closed), qs.Name, true, true)
		if m == nil {
			return q.watch()
		}
		to, _ := chain.Target(m.Answer[0])
		if qs.Qtype == dns.TypeANY {
			return q.any(to, m.Answer[0].Header().Ttl, false, m.Answer[0].Header().Rrtype != dns.TypeCNAME)
		}
		e, err := ch.Store(qs.Name, qs.Qtype, m, 0) // one record the probe found: no chase in it
		if err != nil {
			return q.reply(chain.Result{Names: []string{chain.Lower(qs.Name)}, Err: err}, false)
		}
		return q.reply(q.walk(e), false)
	}
	return q.resolve(q.first())
}

// resolve answers the question from the first answer of the rest of the plugin chain: a chain it
// started is walked, a pre-signed one passed on as it is; without a chain, the answer already
// went to the client.
func (q question) resolve(fa firstAnswer, err error) (int, error) {
	qs := q.r.Question[0]
	switch {
	case fa.err != nil:
		return q.reply(chain.Result{Names: []string{chain.Lower(qs.Name)}, Err: fa.err}, false)
	case fa.entry == nil:
		return fa.rcode, err
	}
	if q.keepSigned(fa.entry.Signed) {
		// A pre-signed zone's chain is only verifiable as signed (RFC 4035 section 3.1.1): a
		// client that asks for DNSSEC gets it unchanged, with every CNAME and RRSIG.
		m := fa.msg.Copy()
		m.Id, m.Question = q.r.Id, q.r.Question
		return dns.RcodeSuccess, writeMsg(q.w, m)
	}
	return q.reply(q.walk(fa.entry), false)
}

// walk walks the question's chain from e.
func (q question) walk(e *target.Entry) chain.Result {
	var c chain.Chain
	q.f.chase.Chain(&c, q.r.Question[0].Name)
	res := q.f.chase.Walk(q.ctx, &c, e, q.r.Question[0].Qtype, nil, q.f.chase.Now())
	res.Recursive = e.Recursive
	return res
}

// keepSigned reports whether a pre-signed zone's answer (a chain, or an apex's, signed says)
// goes to a DNSSEC client as the zone gives it: a synthesized record or NODATA has no signature a
// validator could check, unless the server block signs the name's zone online (its dnssec plugin
// then signs the reply).
func (q question) keepSigned(signed bool) bool {
	return signed && isDO(q.r) && !q.f.sign.signs(q.r.Question[0].Name)
}

// alias answers an address question at a declared alias of to. When to does not resolve to records
// of the type (it fails, does not exist or has none), the zone's own records at the name, if any,
// are the answer: the ANAME draft's sibling address records. A stale answer comes before that
// fallback; a fallback for a failed lookup is marked as one (reply.Fallback), one for a broken
// chain is reported.
func (q question) alias(to string) (int, error) {
	qs := q.r.Question[0]
	if qs.Qtype == dns.TypeANY {
		return q.any(to, chain.MaxTTL, true, false)
	}
	res := q.f.chase.From(q.ctx, qs.Name, to, chain.MaxTTL, qs.Qtype)
	if res.Err != nil || res.End != chain.Positive {
		if m := q.zoneAnswer(); m != nil {
			var le *chain.LookupError
			switch {
			case errors.As(res.Err, &le):
				q.f.report.Fallback(q.ctx, qs.Name, qs.Qtype, le, reply.StaleTTL)
				m = reply.Fallback(q.r, m, le, bufSize(q.w, q.r))
			case res.Err != nil:
				// A loop or a chain too long is a fact about the data, reported as such; the
				// zone's records stand in as they are.
				q.f.report.Broken(q.ctx, qs.Name, qs.Qtype, res.Err)
			}
			return dns.RcodeSuccess, writeMsg(q.w, m)
		}
	}
	if res.Err == nil && res.End == chain.Positive && reply.ServiceType(qs.Qtype) && !q.addressesFrom(to) {
		// A ServiceMode record's "." means "the owner's own addresses": here the alias's addresses
		// are not the target's, so the record names the target instead (RFC 9460 2.5).
		res.Final = reply.OwnerTargets(res.Final)
	}
	return q.reply(res, true)
}

// addressesFrom reports whether the declared alias answers A or AAAA with to's addresses (and not
// with the zone's own).
func (q question) addressesFrom(to string) bool {
	for _, qtype := range [2]uint16{dns.TypeA, dns.TypeAAAA} {
		if res := q.f.chase.From(q.ctx, q.r.Question[0].Name, to, chain.MaxTTL, qtype); res.Err == nil && res.End == chain.Positive {
			return true
		}
	}
	return false
}

// any answers ANY at an alias of to (a hop of TTL hop) with to's A and AAAA records (as PowerDNS
// answers ANY at an ALIAS), never the CNAME. aliasMode says the alias is an AliasMode record.
func (q question) any(to string, hop uint32, declared, aliasMode bool) (int, error) {
	qs := q.r.Question[0]
	var sets [][]dns.RR
	var last chain.Result
	ttl := uint32(chain.MaxTTL)
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		res := q.f.chase.From(q.ctx, qs.Name, to, hop, qtype)
		if res.Err != nil {
			return q.reply(res, declared)
		}
		if res.End == chain.Positive {
			sets = append(sets, res.Final)
			ttl = min(ttl, res.TTL)
		}
		aliasMode = aliasMode || res.AliasMode
		last = res
	}
	if len(sets) == 0 {
		return q.reply(last, declared)
	}
	q.f.counters.Of(q.ctx).answered(qs.Qtype, aliasMode)
	return q.write(reply.Flattened(q.r, ttl, sets...))
}

// reply composes the reply from res, reports what it met, and writes it. declared says the name is
// a declared alias.
//
//go:noinline
func (q question) reply(res chain.Result, declared bool) (int, error) {
	qs := q.r.Question[0]
	var soa *dns.SOA
	rcode := q.f.dangling
	switch {
	case res.Err != nil:
		q.f.report.Broken(q.ctx, qs.Name, qs.Qtype, res.Err)
	case res.End == chain.Positive:
		q.f.counters.Of(q.ctx).answered(qs.Qtype, res.AliasMode)
	default:
		soa = q.soa(res)
		if res.End == chain.NXDOMAIN {
			q.f.report.Dangling(q.ctx, res.Names)
			// A name that owns other records (an apex, a declared alias, a CNAME owner with names
			// below it) is never answered NXDOMAIN, which would deny them all (RFC 8020).
			if rcode == dns.RcodeNameError && (declared || q.f.policy.zones.Apex(qs.Name) || q.f.audit.Owns(qs.Name)) {
				rcode = dns.RcodeSuccess
			}
		}
	}
	size := 0 // the client's room, read only for a reply that may carry an extended error
	if res.Err != nil || res.End != chain.Positive || res.Stale != nil {
		size = bufSize(q.w, q.r)
	}
	m := reply.For(q.r, res, size, soa, rcode)
	asRecursive(m, res.Recursive)
	if res.Err == nil {
		if res.Stale != nil {
			q.f.report.Stale(q.ctx, res.Last(), res.Stale)
		}
		q.scope(m, res.Scope)
	}
	return q.write(m)
}

// soa returns the SOA for a negative reply to the question, for negative caching (RFC 2308
// section 3): that of a zone holding the question's name. The chain's end brought one when its
// last name is in such a zone; else it is the plugin's zone's, looked up (cached). 'flatten .'
// names every name, not a zone: a block that forwards has no SOA of the root to give, and asking
// its upstream for one would be a question the client never asked, so the chain's end's is used.
func (q question) soa(res chain.Result) *dns.SOA {
	qname := q.r.Question[0].Name
	if res.SOA != nil && chain.In(qname, res.SOA.Hdr.Name) {
		return res.SOA
	}
	if zone := q.f.policy.zones.Match(qname); zone != "." {
		return q.f.chase.SOA(q.ctx, zone)
	}
	return res.SOA
}

// scope adds the client's subnet and the scope the answer holds for to m (ecs).
func (q question) scope(m *dns.Msg, scope uint8) {
	if !q.f.policy.ecs {
		return
	}
	if sn := target.SubnetOf(q.ctx); sn != nil {
		reply.WithScope(q.r, m, sn.Sent, scope)
	}
}

// aliasOther answers another type at a declared alias: the zone's own records, but a declared alias
// exists for every type, so where the zone has no such name the reply is NODATA with the SOA, not
// NXDOMAIN (a name that answers A cannot be nonexistent for MX).
func (q question) aliasOther() (int, error) {
	nw := nonwriter.New(q.w)
	rcode, err := plugin.NextOrFailure(pluginName, q.f.Next, own.With(q.ctx, own.Closed), nw, q.r)
	if nw.Msg == nil {
		return rcode, err
	}
	m := nw.Msg
	if m.Rcode != dns.RcodeNameError {
		return dns.RcodeSuccess, writeMsg(q.w, m)
	}
	soa := chain.FirstSOA(m.Ns)
	if soa == nil {
		if zone := q.f.policy.zones.Match(q.r.Question[0].Name); zone != "." {
			soa = q.f.chase.SOA(q.ctx, zone) // not the root's, as question.soa says
		}
	}
	return q.write(reply.Negative(q.r, dns.RcodeSuccess, soa, chain.MaxTTL))
}

// apex answers a question for another type at an apex that holds a CNAME (alone, or beside MX, TXT,
// ...: the layout users bring from providers that flatten apex CNAMEs) from the zone's own records
// for that type, NODATA when it has none, not with the CNAME that the file plugin gives for every
// type. A DO question at a pre-signed apex for a type it lacks, with no dnssec plugin to sign a
// reply, gets the zone's signed answer: a NODATA there could carry no proof a validator accepts,
// the apex's NSEC listing the CNAME (RFC 4035 5.4). A type it holds comes with its signatures.
func (q question) apex() (int, error) {
	records := q.f.audit.Apex(q.ctx, q.r.Question[0].Name)
	if records == nil || len(records[q.r.Question[0].Qtype]) == 0 && q.keepSigned(len(records[dns.TypeRRSIG]) > 0) {
		return q.watch()
	}
	var soa *dns.SOA
	if s := records[dns.TypeSOA]; len(s) > 0 {
		soa, _ = s[0].(*dns.SOA)
	}
	return q.write(reply.Sibling(q.r, records[q.r.Question[0].Qtype], records[dns.TypeRRSIG], soa))
}

// zoneAnswer returns the zone's own answer to the question when it holds records of the type at
// the name, or nil.
func (q question) zoneAnswer() *dns.Msg {
	nw := nonwriter.New(q.w)
	if _, err := plugin.NextOrFailure(pluginName, q.f.Next, own.With(q.ctx, own.Closed), nw, q.r); err != nil || nw.Msg == nil {
		return nil
	}
	qs := q.r.Question[0]
	for _, rr := range nw.Msg.Answer {
		if h := rr.Header(); h.Rrtype == qs.Qtype && chain.Equal(h.Name, qs.Name) {
			return nw.Msg
		}
	}
	return nil
}

// write writes m, the reply, through the block's dnssec plugin when the client asked for DNSSEC,
// and returns what the server expects after a plugin has written.
func (q question) write(m *dns.Msg) (int, error) {
	return q.f.write(q.ctx, q.w, q.r, m)
}

// write writes m, the reply to r, to w: see question.write.
func (f *Flatten) write(ctx context.Context, w dns.ResponseWriter, r, m *dns.Msg) (int, error) {
	if f.sign != nil && isDO(r) {
		return f.sign.write(ctx, w, r, m)
	}
	return dns.RcodeSuccess, writeMsg(w, m)
}

// signer signs the replies the plugin composes with the server block's dnssec plugin. The plugin
// sits above dnssec in CoreDNS's order (so that its replies, and their extended errors, go straight
// to the client), so it hands each reply to dnssec as if it were the next plugin's answer.
type signer struct {
	d dnssec.Dnssec
	// zones are the zones d signs; nil for every zone.
	zones plugin.Zones
}

// newSigner returns the signer of the block's dnssec plugin d. The zones it signs (a block may
// serve a pre-signed zone beside one it signs) are d's own, which dnssec keeps unexported: they
// are read by reflection, and when that fails (a CoreDNS that renamed the field), every zone is
// taken to be signed, as before the zones were read.
func newSigner(d dnssec.Dnssec) *signer {
	s := &signer{d: d}
	v := reflect.ValueOf(d).FieldByName("zones")
	if !v.IsValid() || v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.String {
		log.Warning("the dnssec plugin's zones could not be read: every zone of the block is taken to be signed online, and a pre-signed zone's DNSSEC answers are flattened unsigned")
		return s
	}
	s.zones = make(plugin.Zones, v.Len())
	for i := range s.zones {
		s.zones[i] = v.Index(i).String()
	}
	return s
}

// signs reports whether s signs the replies for name; false for a nil s (a block without dnssec).
func (s *signer) signs(name string) bool {
	return s != nil && (s.zones == nil || s.zones.Matches(name) != "")
}

// write writes m, the reply to r, through the dnssec plugin: it signs it when r asks for DNSSEC
// and the name is in its zones, and passes it on otherwise.
func (s *signer) write(ctx context.Context, w dns.ResponseWriter, r, m *dns.Msg) (int, error) {
	d := s.d // a copy: its Next answers with m
	d.Next = plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
		return dns.RcodeSuccess, writeMsg(w, m)
	})
	return d.ServeDNS(ctx, w, r)
}

// writeMsg writes m to w as a plugin's last word.
func writeMsg(w dns.ResponseWriter, m *dns.Msg) error {
	if err := w.WriteMsg(m); err != nil {
		return plugin.Error(pluginName, err)
	}
	return nil
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
