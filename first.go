package flatten

// The client's own question down the plugin chain: the answer goes straight to the client unless
// it starts a chain at the question's name (or may hide one), which the plugin then resolves.

import (
	"context"
	"net"
	"sync"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// captureWriter passes every reply straight through to the client, except one that starts a chain
// at the question's name, which it keeps; and, when the lookups say a reply may hide a CNAME
// (SERVFAIL from file, NODATA from a service backend), that one too, for a probe.
//
// The question goes down the chain as the client sent it, so that an answer that starts no chain
// reaches the client exactly as it would without the plugin. The writer looks like a TCP client's
// (see ownWriter): a backend that chases the CNAME's target through the server then gets the whole
// target RRset, never one cut to the client's buffer without TC on the way (file drops the TC bit
// of what it chases; through forward the chase goes upstream over TCP). CoreDNS sizes every reply
// by the transport before the question's EDNS buffer (request.Size), so no wider question is
// needed; the server's scrub writer still fits every reply to the client's own buffer as it leaves.
type captureWriter struct {
	dns.ResponseWriter
	qname string
	l     *lookups
	msg   *dns.Msg // a chain's start
	held  *dns.Msg // a reply that may hide a chain
	wrote bool
	// ctx is the context the next plugin gets: the question's, with nested questions refused. It
	// lives here so that it is recycled with the writer.
	ctx markedContext
}

// RemoteAddr is the client's address, as a TCP client.
func (w *captureWriter) RemoteAddr() net.Addr {
	if a, ok := w.ResponseWriter.RemoteAddr().(*net.UDPAddr); ok {
		return &net.TCPAddr{IP: a.IP, Port: a.Port, Zone: a.Zone}
	}
	return w.ResponseWriter.RemoteAddr()
}

// WriteMsg implements dns.ResponseWriter.
func (w *captureWriter) WriteMsg(m *dns.Msg) error {
	w.wrote = true
	switch {
	case startsChain(m, w.qname):
		w.msg = m
		return nil
	}
	if cname, aliasMode := w.l.hides(m); cname || aliasMode {
		w.held = m
		return nil
	}
	return w.ResponseWriter.WriteMsg(m)
}

// writers recycles captureWriters: ordinary traffic then allocates nothing here.
var writers = sync.Pool{New: func() any { return new(captureWriter) }}

// startsChain reports whether m answers qname with a CNAME owned by qname: the only answers the
// plugin changes.
func startsChain(m *dns.Msg, qname string) bool {
	for _, rr := range m.Answer {
		if h := rr.Header(); h.Rrtype == dns.TypeCNAME && equalFold(h.Name, qname) {
			return true
		}
	}
	return false
}

// firstAnswer is the client's question's answer from the rest of the plugin chain, when it starts a
// chain: its entry, and the answer itself (for a client that wants a pre-signed chain as it is).
// Without a chain, the answer went to the client, and rcode and err are what the chain returned.
type firstAnswer struct {
	entry *entry
	msg   *dns.Msg
	err   error // the answer starts a chain but says nothing usable of it
	rcode int
}

// first sends r down the plugin chain. With dedupe, concurrent questions for one name, type and DO
// bit share one question down the chain, so that a backend's CNAME chase happens once however many
// clients ask at once; the entry is cached before the flight lands.
func (ch *chaser) first(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, dedupe bool) (firstAnswer, error) {
	q := r.Question[0]
	if !dedupe {
		return ch.ask(ctx, w, r)
	}
	leader := false
	k := lowerASCII(q.Name) + " " + dns.TypeToString[q.Qtype]
	if o := r.IsEdns0(); o != nil && o.Do() {
		k += " do"
	}
	v, err, _ := ch.firsts.Do(k, func() (any, error) {
		leader = true
		if e := ch.alias(q.Name, q.Qtype); e != nil {
			return firstAnswer{entry: e}, nil // stored by a flight that landed just before
		}
		return ch.ask(ctx, w, r)
	})
	res := v.(firstAnswer)
	if !leader && res.entry == nil && res.err == nil {
		// The leader's answer was no chain, and went to the leader's client: ask for ours.
		return ch.ask(ctx, w, r)
	}
	return res, err
}

// ask sends r down the chain once.
func (ch *chaser) ask(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (firstAnswer, error) {
	q := r.Question[0]
	cw := writers.Get().(*captureWriter)
	*cw = captureWriter{ResponseWriter: w, qname: q.Name, l: ch.lookups, ctx: markedContext{Context: ctx, m: closed}}
	rcode, err := plugin.NextOrFailure(pluginName, ch.lookups.next, &cw.ctx, cw, r)
	msg, held, wrote := cw.msg, cw.held, cw.wrote
	*cw = captureWriter{}
	writers.Put(cw)

	if msg == nil {
		cname := !wrote && rcode == dns.RcodeServerFailure // file's bare SERVFAIL for a short loop
		aliasMode := false
		if held != nil {
			cname, aliasMode = ch.lookups.hides(held)
		}
		if alias := ch.probeAlias(ctx, q.Name, cname, aliasMode); alias != nil {
			msg = alias
		} else if held != nil {
			return firstAnswer{rcode: dns.RcodeSuccess}, writeMsg(w, held)
		}
	}
	if msg == nil {
		return firstAnswer{rcode: rcode}, err
	}
	e, err := toEntry(q.Name, q.Qtype, msg, ch.maxChain, "")
	if err != nil {
		return firstAnswer{msg: msg, err: err}, nil
	}
	ch.put(e)
	return firstAnswer{entry: e, msg: msg}, nil
}

// probeAlias probes name for an alias (see probe.go) and returns an answer that starts its chain,
// or nil.
func (ch *chaser) probeAlias(ctx context.Context, name string, cname, aliasMode bool) *dns.Msg {
	if !cname && !aliasMode {
		return nil
	}
	rr := ch.lookups.probe(&markedContext{Context: ctx, m: closed}, name, cname, aliasMode)
	if rr == nil {
		return nil
	}
	m := new(dns.Msg)
	m.Response, m.Answer = true, []dns.RR{rr}
	return m
}

// writeMsg writes m to w as a plugin's last word.
func writeMsg(w dns.ResponseWriter, m *dns.Msg) error {
	if err := w.WriteMsg(m); err != nil {
		return plugin.Error(pluginName, err)
	}
	return nil
}
