package flatten

// Questions the plugin sends on its own behalf carry a mark in their context. While the plugin
// waits on its server block's plugins, a backend may send a question of its own back through the
// server to chase a CNAME target (file, auto and kubernetes do, through CoreDNS's upstream). The
// plugin refuses such nested questions, so the backend answers with the CNAME alone and the plugin
// resolves the target itself: through its cache, with one lookup for any number of questions, and
// never waiting on another lookup, which keeps the shared lookups free of deadlocks on a CNAME
// loop. (A refused nested question never reaches a client; CoreDNS's request metrics count it
// with rcode REFUSED.)
//
// A lookup the plugin sends through the whole server for a name another server block serves is
// marked with that name: the first flatten it meets (in that other block) passes it to its own
// backends once, unflattened, and refuses what they send back in turn.

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// mark is carried in the context of a question the plugin sent.
type mark struct {
	// pending is the name of a lookup sent through the whole server; "" when nothing may pass.
	pending string
	passed  atomic.Bool
}

type markKey struct{}

// closed marks the questions the plugin sends down its own block's chain: nothing nested passes.
var closed = &mark{}

// markOf returns the mark of ctx, or nil for a client's question.
func markOf(ctx context.Context) *mark {
	m, _ := ctx.Value(markKey{}).(*mark)
	return m
}

// passes reports whether a question for qname under this mark is the pending lookup, arriving for
// the first time; it may then pass.
func (m *mark) passes(qname string) bool {
	return m.pending != "" && equalFold(m.pending, qname) && m.passed.CompareAndSwap(false, true)
}

// markedContext is context.WithValue(parent, markKey{}, m), as a type of its own so that it can live
// inside the writer that carries it (one allocation for both). It is never recycled: a plugin may
// keep a question's context after answering it (cache's background refresh does).
type markedContext struct {
	context.Context
	m *mark
}

// Value implements context.Context.
func (c *markedContext) Value(key any) any {
	if _, ok := key.(markKey); ok {
		return c.m
	}
	return c.Context.Value(key)
}

// ownWriter is the client of a question the plugin asks its server block's plugins on its own
// behalf: it keeps the reply. It looks like a TCP client with a 64 KiB buffer (the question says
// so in its EDNS record), so nothing on the way cuts the reply to fit a datagram: not the server's
// scrub writer when a backend chases a target through the server, and not forward, which then asks
// its upstream over TCP. The reply never leaves the process.
type ownWriter struct {
	msg *dns.Msg
}

// ownAddr is the address an own question comes from: the server asking itself.
var ownAddr net.Addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}

// ownQuestion returns the plugin's own question for name and qtype: a 64 KiB EDNS buffer, no DO.
func ownQuestion(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(dns.MaxMsgSize, false)
	return m
}

// askHandler asks h, in memory, the plugin's own question for name and qtype, and returns the
// reply h wrote, or one with the rcode h returned. ctx must carry the closed mark, so that nothing
// nested passes.
func askHandler(ctx context.Context, h plugin.Handler, name string, qtype uint16) (*dns.Msg, error) {
	req := ownQuestion(name, qtype)
	w := &ownWriter{}
	rcode, err := plugin.NextOrFailure(pluginName, h, ctx, w, req)
	if w.msg != nil {
		return w.msg, nil
	}
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	return m, nil
}

func (w *ownWriter) LocalAddr() net.Addr  { return ownAddr }
func (w *ownWriter) RemoteAddr() net.Addr { return ownAddr }

// WriteMsg keeps the reply.
func (w *ownWriter) WriteMsg(m *dns.Msg) error {
	w.msg = m
	return nil
}

// Write keeps a packed reply.
func (w *ownWriter) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return 0, err
	}
	w.msg = m
	return len(b), nil
}

func (w *ownWriter) Close() error        { return nil }
func (w *ownWriter) TsigStatus() error   { return nil }
func (w *ownWriter) TsigTimersOnly(bool) {}
func (w *ownWriter) Hijack()             {}
