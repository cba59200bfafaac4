// Package own is the flatten plugin's own questions: those it asks its server block's plugins, in
// memory, on its own behalf (a target in its zones, a probe for a hidden alias, a service of the
// kubernetes plugin, a zone's serial).
//
// Such a question carries a Mark in its context. While the plugin waits on its block's plugins, a
// backend may send a question of its own back through the server to chase a CNAME target (file,
// auto and kubernetes do, through CoreDNS's upstream). The plugin refuses such nested questions, so
// the backend answers with the CNAME alone and the plugin resolves the target itself: through its
// cache, with one lookup for any number of questions, and never waiting on another lookup, which
// keeps the shared lookups free of deadlocks on a CNAME loop. (A refused nested question never
// reaches a client; CoreDNS's request metrics count it with rcode REFUSED.)
//
// A lookup the plugin sends through the whole server for a name another server block serves is
// marked with that name: the first flatten it meets (in that other block) passes it to its own
// backends once, unflattened, and refuses what they send back in turn.
package own

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// Mark is carried in the context of a question the plugin sent.
type Mark struct {
	// pending is the name of a lookup sent through the whole server; "" when nothing may pass.
	pending string
	passed  atomic.Bool
}

// Pending returns the mark of a lookup of name sent through the whole server: the first flatten
// it meets passes it on once.
func Pending(name string) *Mark { return &Mark{pending: name} }

// Closed marks the questions the plugin sends down its own block's chain: nothing nested passes.
var Closed = &Mark{}

type markKey struct{}

// MarkOf returns the mark of ctx, or nil for a client's question.
func MarkOf(ctx context.Context) *Mark {
	m, _ := ctx.Value(markKey{}).(*Mark)
	return m
}

// Passes reports whether a question for qname under this mark is the pending lookup, arriving for
// the first time; it may then pass.
func (m *Mark) Passes(qname string) bool {
	return m.pending != "" && chain.Equal(m.pending, qname) && m.passed.CompareAndSwap(false, true)
}

// Context is context.WithValue(parent, markKey{}, mark), as a type of its own so that it can live
// inside the writer that carries it (one allocation for both). It is never recycled: a plugin may
// keep a question's context after answering it (cache's background refresh does).
type Context struct {
	context.Context
	Mark *Mark
}

// With returns ctx carrying m.
func With(ctx context.Context, m *Mark) *Context { return &Context{Context: ctx, Mark: m} }

// Value implements context.Context.
func (c *Context) Value(key any) any {
	if _, ok := key.(markKey); ok {
		return c.Mark
	}
	return c.Context.Value(key)
}

// Writer is the client of a question the plugin asks its server block's plugins on its own
// behalf: it keeps the reply, which never leaves the process. It looks like a UDP client, as a
// stub resolver first asks, so that a plugin that leaves the process (forward) asks its upstream
// the way it would for a client, over UDP, or like a TCP client (TCP set) when the UDP reply was
// truncated: CoreDNS sizes replies by the transport first (request.Size), and forward goes
// upstream by it.
type Writer struct {
	Msg *dns.Msg
	TCP bool
}

// The addresses an own question comes from: the server asking itself.
var (
	udpAddr net.Addr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	tcpAddr net.Addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
)

// BufSize is the EDNS buffer of an own question over UDP (the DNS flag day 2020 value, which
// avoids IP fragmentation when forward sends it on; larger answers come over TCP).
const BufSize = 1232

// Question returns the plugin's own question for name and qtype, with an EDNS buffer of size
// bytes and no DO.
func Question(name string, qtype uint16, size uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(size, false)
	return m
}

// Ask asks h, in memory, the plugin's own question for name and qtype, with nested questions
// refused, and returns the reply h wrote, or one with the rcode h returned, and the buffer of the
// question it answered. It asks as a UDP client with a buffer of BufSize bytes, and again as a TCP
// client with 64 KiB when that reply is truncated (RFC 7766 section 5): a cache below never keeps a
// truncated reply, so the second question reaches the backend.
func Ask(ctx context.Context, h plugin.Handler, name string, qtype uint16) (m *dns.Msg, size int, err error) {
	if MarkOf(ctx) != Closed {
		ctx = With(ctx, Closed)
	}
	m, err = ask(ctx, h, Question(name, qtype, BufSize), false)
	if err == nil && m.Truncated {
		m, err = ask(ctx, h, Question(name, qtype, dns.MaxMsgSize), true)
		return m, dns.MaxMsgSize, err
	}
	return m, BufSize, err
}

// ask asks h req as a UDP or a TCP client.
func ask(ctx context.Context, h plugin.Handler, req *dns.Msg, tcp bool) (*dns.Msg, error) {
	w := &Writer{TCP: tcp}
	rcode, err := plugin.NextOrFailure("flatten", h, ctx, w, req)
	if w.Msg != nil {
		return w.Msg, nil
	}
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	return m, nil
}

// LocalAddr implements dns.ResponseWriter.
func (w *Writer) LocalAddr() net.Addr { return w.RemoteAddr() }

// RemoteAddr implements dns.ResponseWriter: a UDP client, or a TCP one.
func (w *Writer) RemoteAddr() net.Addr {
	if w.TCP {
		return tcpAddr
	}
	return udpAddr
}

// WriteMsg keeps the reply.
func (w *Writer) WriteMsg(m *dns.Msg) error {
	w.Msg = m
	return nil
}

// Write keeps a packed reply.
func (w *Writer) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return 0, err
	}
	w.Msg = m
	return len(b), nil
}

// Close implements dns.ResponseWriter.
func (w *Writer) Close() error { return nil }

// TsigStatus implements dns.ResponseWriter.
func (w *Writer) TsigStatus() error { return nil }

// TsigTimersOnly implements dns.ResponseWriter.
func (w *Writer) TsigTimersOnly(bool) {}

// Hijack implements dns.ResponseWriter.
func (w *Writer) Hijack() {}
