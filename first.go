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
// It looks like a TCP client's writer (see ownWriter): a backend that chases the CNAME's target
// through the server then gets the whole target RRset, never one cut to the client's buffer
// without TC on the way (file drops the TC bit of what it chases), since CoreDNS sizes replies by
// the transport first (request.Size). A question that leaves the process is sized by its own EDNS
// buffer, though (a DNS-over-QUIC upstream behind forward cuts to it): a chain's start is asked for
// again with a 64 KiB buffer (see ask).
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
	// noOPT says the question was widened for a client that sent no OPT record.
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
// the additional section of any ordinary question (the OPT, and a TSIG or a cookie-less extra).
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
	for _, rr := range r.Extra {
		if o, ok := rr.(*dns.OPT); ok {
			w.opt = *o // its header (version, flags) and options
			continue
		}
		w.m.Extra = append(w.m.Extra, rr)
	}
	w.opt.SetUDPSize(dns.MaxMsgSize)
	w.m.Extra = append(w.m.Extra, &w.opt)
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
		return ch.ask(ctx, w, r, false)
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
		return ch.ask(ctx, w, r, true)
	})
	res := v.(firstAnswer)
	if !leader && res.entry == nil && res.err == nil {
		// The leader's answer was no chain, and went to the leader's client: ask for ours.
		return ch.ask(ctx, w, r, true)
	}
	return res, err
}

// pass sends r down the chain once, widened or as the client sent it, and returns what the writer
// kept.
func (ch *chaser) pass(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, wide bool) (cw *captureWriter, rcode int, err error) {
	cw = &captureWriter{ResponseWriter: w, qname: r.Question[0].Name, l: ch.lookups, ctx: markedContext{Context: ctx, m: closed}}
	q := r
	if wide {
		cw.noOPT = r.IsEdns0() == nil
		q = widened(r)
	}
	rcode, err = plugin.NextOrFailure(pluginName, ch.lookups.next, &cw.ctx, cw, q)
	return cw, rcode, err
}

// ask sends r down the chain. With wide (a name likely to be an alias: the apex, a name listed or
// known), the question goes down with a 64 KiB buffer at once; otherwise ('all' mode's ordinary
// names) as the client sent it, so that an ordinary answer costs nothing more, and, when the
// answer starts a chain, once more with the wide buffer: its target records may have been cut to
// the client's buffer without TC on the way.
func (ch *chaser) ask(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, wide bool) (firstAnswer, error) {
	q := r.Question[0]
	cw, rcode, err := ch.pass(ctx, w, r, wide)
	if cw.msg != nil && !wide {
		cw, rcode, err = ch.pass(ctx, w, r, true)
	}
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
