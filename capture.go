package flatten

// The client's question down the plugin chain, with the writers that see the next plugin's reply:
// captureWriter keeps a reply that starts a chain (the plugin resolves it) and passes every other
// straight to the client; watchWriter passes every reply, reporting one that starts a dangling
// chain.

import (
	"context"
	"sync"

	"github.com/coredns/coredns/plugin"
	"github.com/dnsflatten/flatten/plugin/audit"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/own"
	"github.com/dnsflatten/flatten/plugin/target"

	"github.com/miekg/dns"
)

// captureWriter keeps the next plugin's reply until the question is back from the chain: a reply
// that starts a chain at the question's name (the plugin resolves it); when a reply may hide a CNAME
// (SERVFAIL from file, NODATA from a service backend), that one, for a probe; and any other reply,
// which flush then writes to the client as it is.
//
// The client's reply is written from the plugin's own frame, not from below the plugins down the
// chain: written from there, its write path (packing, the socket) would add its depth to theirs,
// and a question's goroutine would have to grow its stack again (a growth copies every frame, and
// costs a pass-through as much as the rest of its work). A second reply, or one written after the
// question is back (a plugin that answers late), goes out as it comes, in order.
//
// The question it carries down the chain is the client's as sent, and it looks like the client (its
// transport, its buffer): a plugin that leaves the process (forward) asks its upstream as it would
// without flatten, over UDP for a UDP client, and only a reply with TC is asked again (over TCP,
// see question.answer). Nothing the plugin keeps is cut without saying so: a chain that leaves the
// zone of an authoritative answer is read only as far as that zone (see plugin/target, Store), the
// rest looked up name by name; a truncated answer is never read, nor kept by a cache below.
//
// A writer is never recycled, nor is the context it carries: a plugin down the chain may keep both
// after answering (cache's background refresh of a stale entry does), and would then use another
// question's.
type captureWriter struct {
	dns.ResponseWriter
	q  question
	qs dns.Question // the question as sent, read before the chain runs
	// ctx is the context the next plugin gets: the question's, with nested questions refused.
	ctx own.Context

	mu sync.Mutex
	// What the chain wrote, fixed once flushed: then every write goes straight to the client.
	msg   *dns.Msg // a chain's start
	held  *dns.Msg // a reply that may hide a chain
	reply *dns.Msg // any other reply, written by flush
	wrote bool
	done  bool
}

// capture returns the writer the question goes down the chain with.
func (q question) capture() *captureWriter {
	return &captureWriter{ResponseWriter: q.w, q: q, qs: q.r.Question[0], ctx: own.Context{Context: q.ctx, Mark: own.Closed}}
}

// WriteMsg implements dns.ResponseWriter.
func (w *captureWriter) WriteMsg(m *dns.Msg) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return w.ResponseWriter.WriteMsg(m)
	}
	w.wrote = true
	w.writeReply()
	switch {
	case chain.StartsChain(m, w.qs.Name):
		w.msg = m
	case w.hides(m):
		w.held = m
	case w.msg != nil || w.held != nil:
		return w.ResponseWriter.WriteMsg(m) // one more reply after the kept one: out in order
	default:
		w.reply = m
	}
	return nil
}

// hides reports whether m may hide a chain that a probe finds.
func (w *captureWriter) hides(m *dns.Msg) bool {
	cname, aliasMode := w.q.f.chase.Hides(m)
	return cname || aliasMode
}

// Write implements dns.ResponseWriter: raw bytes go out after any reply kept before them.
func (w *captureWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeReply()
	return w.ResponseWriter.Write(b)
}

// writeReply writes the plain reply kept, if any. w.mu is held. The write's error goes where the
// plugin that wrote the reply would have let it go: nowhere (file, forward and cache drop it), the
// more so as that plugin's write has long returned; the question's rcode and error stay the next
// plugin's, as without flatten.
func (w *captureWriter) writeReply() {
	if m := w.reply; m != nil {
		w.reply = nil
		w.ResponseWriter.WriteMsg(m) //nolint:errcheck // see above
	}
}

// flush writes the plain reply kept, once the question is back from the chain, and fixes what the
// writer holds: later writes go straight to the client.
func (w *captureWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	w.writeReply()
}

// plain reports whether the chain's answer, flushed, was a plain one, now written (or none, and the
// chain's rcode says so): nothing to resolve, nothing to probe.
func (w *captureWriter) plain(rcode int) bool {
	return w.msg == nil && w.held == nil && (w.wrote || rcode != dns.RcodeServerFailure)
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

// first sends the question down the plugin chain for a name that is, or may be, an alias (all
// mode's other names go down from ServeDNS, see policy.passesFirst): concurrent questions for one name, type and DO bit share one question down
// the chain, so that a backend's CNAME chase happens once however many clients ask at once; the
// entry is cached before the flight lands.
func (q question) first() (firstAnswer, error) {
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
	cw := q.capture()
	rcode, err := plugin.NextOrFailure(pluginName, q.f.Next, &cw.ctx, cw, q.r)
	cw.flush()
	return q.answer(cw, rcode, err)
}

// back answers the question once it is back from the chain with w, all mode's pass-through (see
// Flatten.ServeDNS): a plain answer, or none, is the client's; a chain, or what may hide one, is
// resolved.
//
//go:noinline
func (w *captureWriter) back(rcode int, err error) (int, error) {
	if w.flush(); w.plain(rcode) {
		return rcode, err
	}
	return w.q.resolve(w.q.answer(w, rcode, err))
}

// answer is what the chain's answer, back in cw and flushed, says of the question: a chain, whose
// entry it stores (or fetches whole, when the answer was truncated); a chain a probe finds behind a
// reply that may hide one; or none, the answer having gone to the client.
//
//go:noinline
func (q question) answer(cw *captureWriter, rcode int, err error) (firstAnswer, error) {
	qs := cw.qs
	ch := q.f.chase
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
		w.dangling(m)
	}
	return w.ResponseWriter.WriteMsg(m)
}

// dangling reports the chain in m, an NXDOMAIN answer, when it starts at the question's name. Out
// of line: its chain would weigh on the stack of every reply's write (see ServeDNS).
//
//go:noinline
func (w *watchWriter) dangling(m *dns.Msg) {
	var c chain.Chain
	c.Start(w.q.Name, chain.Limits{Max: maxMaxChain})
	if final, err := c.Follow(m.Answer, w.q.Qtype); err == nil && final == nil && c.Hops() > 0 {
		w.report.Dangling(w.ctx, c.Names())
	}
}

// watch passes the question to the next plugin, reporting a dangling chain in its answer. The
// writer is new for every question, never recycled: a plugin down the chain may keep it after
// answering (cache's background refresh of a stale entry does), and would then use another
// question's.
func (q question) watch() (int, error) {
	return plugin.NextOrFailure(pluginName, q.f.Next, q.ctx, q.watcher(), q.r)
}

// watcher returns the writer a question goes down the chain with when its answer is watched.
func (q question) watcher() *watchWriter {
	return &watchWriter{ResponseWriter: q.w, ctx: q.ctx, q: q.r.Question[0], report: q.f.report}
}
