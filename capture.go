package flatten

// The client's question down the plugin chain, with the writers that see the next plugin's reply:
// captureWriter keeps a reply that starts a chain (the plugin resolves it) and passes every other
// straight to the client; watchWriter passes every reply, reporting one that starts a dangling
// chain.

import (
	"context"

	"github.com/coredns/coredns/plugin"
	"github.com/dnsflatten/flatten/plugin/audit"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/own"
	"github.com/dnsflatten/flatten/plugin/target"

	"github.com/miekg/dns"
)

// captureWriter passes every reply straight through to the client, except one that starts a chain
// at the question's name, which it keeps; and, when a reply may hide a CNAME (SERVFAIL from file,
// NODATA from a service backend), that one too, for a probe.
//
// The question it carries down the chain is the client's as sent, and it looks like the client (its
// transport, its buffer): a plugin that leaves the process (forward) asks its upstream as it would
// without flatten, over UDP for a UDP client, and only a reply with TC is asked again (over TCP,
// see question.ask). Nothing the plugin keeps is cut without saying so: a chain that leaves the
// zone of an authoritative answer is read only as far as that zone (see plugin/target, Store), the
// rest looked up name by name; a truncated answer is never read, nor kept by a cache below.
//
// A writer is never recycled, nor is the context it carries: a plugin down the chain may keep both
// after answering (cache's background refresh of a stale entry does), and would then use another
// question's.
type captureWriter struct {
	dns.ResponseWriter
	qname string
	chase *target.Chaser
	msg   *dns.Msg // a chain's start
	held  *dns.Msg // a reply that may hide a chain
	wrote bool
	// ctx is the context the next plugin gets: the question's, with nested questions refused.
	ctx own.Context
}

// WriteMsg implements dns.ResponseWriter.
func (w *captureWriter) WriteMsg(m *dns.Msg) error {
	w.wrote = true
	if chain.StartsChain(m, w.qname) {
		w.msg = m
		return nil
	}
	if cname, aliasMode := w.chase.Hides(m); cname || aliasMode {
		w.held = m
		return nil
	}
	return w.ResponseWriter.WriteMsg(m)
}

// firstAnswer is the client's question's answer from the rest of the plugin chain, when it starts a
// chain: its entry, and the answer itself (for a client that wants a pre-signed chain as it is).
// Without a chain, the answer went to the client, and rcode and err are what the chain returned.
type firstAnswer struct {
	entry *target.Entry
	msg   *dns.Msg
	err   error // the answer starts a chain but says nothing usable of it
	rcode int
}

// first sends the question down the plugin chain. With dedupe, concurrent questions for one name,
// type and DO bit share one question down the chain, so that a backend's CNAME chase happens once
// however many clients ask at once; the entry is cached before the flight lands.
func (q question) first(dedupe bool) (firstAnswer, error) {
	if !dedupe {
		return q.ask()
	}
	qs := q.r.Question[0]
	k := chain.Lower(qs.Name) + " " + dns.TypeToString[qs.Qtype]
	if isDO(q.r) {
		k += " do"
	}
	v, leader, err := q.f.chase.First(k, qs.Name, qs.Qtype, func() (any, error) { return q.ask() })
	fa, _ := v.(firstAnswer)
	if e, ok := v.(*target.Entry); ok {
		fa = firstAnswer{entry: e} // stored by a flight that landed just before
	}
	if !leader && fa.entry == nil && fa.err == nil {
		// The leader's answer was no chain, and went to the leader's client: ask for ours.
		return q.ask()
	}
	return fa, err
}

// ask sends the question down the chain once, as the client sent it, and keeps its answer when it
// starts a chain (or hides one, which a probe then finds); any other answer goes to the client.
func (q question) ask() (firstAnswer, error) {
	qs := q.r.Question[0]
	ch := q.f.chase
	cw := &captureWriter{ResponseWriter: q.w, qname: qs.Name, chase: ch, ctx: own.Context{Context: q.ctx, Mark: own.Closed}}
	rcode, err := plugin.NextOrFailure(pluginName, q.f.Next, &cw.ctx, cw, q.r)
	msg, held := cw.msg, cw.held
	if msg == nil {
		cname := !cw.wrote && rcode == dns.RcodeServerFailure // file's bare SERVFAIL for a short loop
		aliasMode := false
		if held != nil {
			cname, aliasMode = ch.Hides(held)
		}
		if alias := ch.Probe(&cw.ctx, qs.Name, cname, aliasMode); alias != nil {
			msg = alias
		} else if held != nil {
			return firstAnswer{rcode: dns.RcodeSuccess}, writeMsg(q.w, held)
		}
	}
	if msg == nil {
		return firstAnswer{rcode: rcode}, err
	}
	if msg.Truncated {
		// The chain's records did not fit the client's buffer: the plugin's own lookup asks for
		// them whole (over TCP when its own reply is truncated too; no cache keeps a truncated
		// reply), and the reply is fitted to the client's buffer, or truncated, as it leaves.
		e, err := ch.Fetch(&cw.ctx, qs.Name, qs.Qtype)
		if err != nil {
			return firstAnswer{msg: msg, err: err}, nil
		}
		return firstAnswer{entry: e, msg: msg}, nil
	}
	e, err := ch.Store(qs.Name, qs.Qtype, msg, bufSize(q.w, q.r))
	if err != nil {
		return firstAnswer{msg: msg, err: err}, nil
	}
	return firstAnswer{entry: e, msg: msg}, nil
}

// watchWriter passes every reply through, reporting one that starts a dangling chain: a CNAME
// chain ending in NXDOMAIN is the seed of a subdomain takeover, whether or not it is flattened.
type watchWriter struct {
	dns.ResponseWriter
	ctx    context.Context
	q      dns.Question
	report *audit.Reporter
}

// WriteMsg implements dns.ResponseWriter.
func (w *watchWriter) WriteMsg(m *dns.Msg) error {
	if m.Rcode == dns.RcodeNameError && len(m.Answer) > 0 {
		c := chain.New(w.q.Name, chain.Limits{Max: maxMaxChain})
		if final, err := c.Follow(m.Answer, w.q.Qtype); err == nil && final == nil && c.Hops() > 0 {
			w.report.Dangling(w.ctx, c.Names())
		}
	}
	return w.ResponseWriter.WriteMsg(m)
}

// watch passes the question to the next plugin, reporting a dangling chain in its answer. The
// writer is new for every question, never recycled: a plugin down the chain may keep it after
// answering (cache's background refresh of a stale entry does), and would then use another
// question's.
func (q question) watch() (int, error) {
	ww := &watchWriter{ResponseWriter: q.w, ctx: q.ctx, q: q.r.Question[0], report: q.f.report}
	return plugin.NextOrFailure(pluginName, q.f.Next, q.ctx, ww, q.r)
}
