package flatten

import (
	"context"
	"sync"

	"github.com/miekg/dns"
)

// captureWriter passes every reply straight through to the client, except one whose answer holds a
// CNAME owned by the question's name: that one it keeps for the handler to flatten.
type captureWriter struct {
	dns.ResponseWriter
	qname string
	msg   *dns.Msg
	// holdNoData keeps a NODATA reply in nodata instead of writing it, for unhide.
	holdNoData bool
	nodata     *dns.Msg
	// ctx is the context the next plugin gets: the question's, marked with a scope that lets no
	// nested question pass. It lives here so that it is recycled with the writer.
	ctx scopedContext
}

// scopedContext is a context carrying a *scope, like context.WithValue but without allocating when
// recycled. Nothing may keep it after the call it was made for returns (no plugin keeps the context
// or writer of a question it has answered).
type scopedContext struct {
	context.Context
	s *scope
}

// Value implements context.Context.
func (c *scopedContext) Value(key any) any {
	if _, ok := key.(scopeKey); ok {
		return c.s
	}
	return c.Context.Value(key)
}

// closed is the scope of a question the plugin waits on the next plugin to answer: no nested
// question passes. It is never changed.
var closed = &scope{}

// WriteMsg implements dns.ResponseWriter.
func (w *captureWriter) WriteMsg(m *dns.Msg) error {
	if startsChain(m, w.qname) {
		w.msg = m
		return nil
	}
	if w.holdNoData && isNoData(m) {
		w.nodata = m
		return nil
	}
	return w.ResponseWriter.WriteMsg(m)
}

// writers recycles captureWriters: on ordinary traffic the plugin then allocates nothing.
var writers = sync.Pool{New: func() any { return new(captureWriter) }}

func getWriter(ctx context.Context, w dns.ResponseWriter, qname string) *captureWriter {
	cw := writers.Get().(*captureWriter)
	cw.ResponseWriter, cw.qname, cw.msg, cw.nodata = w, qname, nil, nil
	cw.ctx = scopedContext{Context: ctx, s: closed}
	return cw
}

func putWriter(cw *captureWriter) {
	*cw = captureWriter{}
	writers.Put(cw)
}
