package flatten

// The client's own question down the plugin chain: the answer goes straight to the client unless
// it starts a chain at the question's name (or may hide one), which the plugin then resolves.

import (
	"context"
	"net"
	"slices"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// captureWriter passes every reply straight through to the client, except one that starts a chain
// at the question's name, which it keeps; and, when the lookups say a reply may hide a CNAME
// (SERVFAIL from file, NODATA from a service backend), that one too, for a probe.
//
// The question it carries down the chain is the client's with a 64 KiB EDNS buffer, and it looks
// like a TCP client (see ownWriter), so that no target RRset is cut to the client's buffer on the
// way, where the TC bit may be lost (file drops it from what it chases): CoreDNS sizes a reply
// inside the process by the transport first (request.Size), a question that leaves it (forward to
// a DNS-over-QUIC upstream) by its own buffer. Asking first with the client's own buffer and again
// only for a chain would not do: a cache below would keep the cut answer under the same key. The
// server's scrub writer still fits every reply to the client's own buffer as it leaves.
//
// A writer is never recycled, nor is the context it carries: a plugin down the chain may keep both
// after answering (cache's background refresh of a stale entry does), and would then use another
// question's.
type captureWriter struct {
	dns.ResponseWriter
	qname string
	l     *lookups
	msg   *dns.Msg // a chain's start
	held  *dns.Msg // a reply that may hide a chain
	wrote bool
	// noOPT says the client sent no OPT record: the widened question's has to go.
	noOPT bool
	// ctx is the context the next plugin gets: the question's, with nested questions refused.
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
	return w.ResponseWriter.WriteMsg(forClient(m, w.noOPT))
}

// forClient returns m, a reply to a question the plugin widened, as the client may get it: with
// noOPT, the client sent no EDNS and gets no OPT record (RFC 6891 section 7), though an upstream
// answered the EDNS the plugin added.
func forClient(m *dns.Msg, noOPT bool) *dns.Msg {
	if !noOPT || m.IsEdns0() == nil {
		return m
	}
	cp := *m
	cp.Extra = slices.DeleteFunc(slices.Clone(m.Extra), func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeOPT })
	return &cp
}

// wideQuestion is a widened question in one allocation: the message, its OPT record and room for
// the additional section of an ordinary question (the OPT, and a TSIG).
// It is never recycled: nothing in CoreDNS forbids a plugin down the chain to keep the question
// after answering it (cache copies it for its prefetch, but a third-party plugin may not).
type wideQuestion struct {
	m     dns.Msg
	opt   dns.OPT
	extra [2]dns.RR
}

// widened returns r with a 64 KiB EDNS buffer, its DO and CD bits and EDNS options kept. The copy
// is shallow: only the OPT record, the one part that changes, is new; the rest is shared with r,
// which nothing writes to.
func widened(r *dns.Msg) *dns.Msg {
	w := &wideQuestion{m: *r}
	w.opt.Hdr = dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}
	w.m.Extra = w.extra[:0]
	var tsig dns.RR
	for _, rr := range r.Extra {
		switch rr := rr.(type) {
		case *dns.OPT:
			w.opt = *rr // its header (version, flags) and options
		case *dns.TSIG:
			tsig = rr
		default:
			w.m.Extra = append(w.m.Extra, rr)
		}
	}
	w.opt.SetUDPSize(dns.MaxMsgSize)
	w.m.Extra = append(w.m.Extra, &w.opt)
	if tsig != nil {
		w.m.Extra = append(w.m.Extra, tsig) // a TSIG is the last record (RFC 8945 section 5.1)
	}
	return &w.m
}

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

// ask sends r down the chain once, widened.
func (ch *chaser) ask(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (firstAnswer, error) {
	q := r.Question[0]
	cw := &captureWriter{ResponseWriter: w, qname: q.Name, l: ch.lookups, noOPT: r.IsEdns0() == nil, ctx: markedContext{Context: ctx, m: closed}}
	rcode, err := plugin.NextOrFailure(pluginName, ch.lookups.next, &cw.ctx, cw, widened(r))
	msg, held, wrote := cw.msg, cw.held, cw.wrote

	if msg == nil {
		cname := !wrote && rcode == dns.RcodeServerFailure // file's bare SERVFAIL for a short loop
		aliasMode := false
		if held != nil {
			cname, aliasMode = ch.lookups.hides(held)
		}
		if alias := ch.probeAlias(ctx, q.Name, cname, aliasMode); alias != nil {
			msg = alias
		} else if held != nil {
			return firstAnswer{rcode: dns.RcodeSuccess}, writeMsg(w, forClient(held, cw.noOPT))
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
