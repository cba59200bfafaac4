package flatten

import (
	"sync"

	"github.com/miekg/dns"
)

// captureWriter passes every reply straight through to the client, except one whose answer holds a
// CNAME owned by the question's name: that one it keeps for the handler to flatten.
type captureWriter struct {
	dns.ResponseWriter
	qname string
	msg   *dns.Msg
}

// WriteMsg implements dns.ResponseWriter.
func (w *captureWriter) WriteMsg(m *dns.Msg) error {
	if startsChain(m, w.qname) {
		w.msg = m
		return nil
	}
	return w.ResponseWriter.WriteMsg(m)
}

// writers recycles captureWriters: on ordinary traffic the plugin then allocates nothing.
var writers = sync.Pool{New: func() any { return new(captureWriter) }}

func getWriter(w dns.ResponseWriter, qname string) *captureWriter {
	cw := writers.Get().(*captureWriter)
	cw.ResponseWriter, cw.qname, cw.msg = w, qname, nil
	return cw
}

func putWriter(cw *captureWriter) {
	cw.ResponseWriter, cw.msg, cw.qname = nil, nil, ""
	writers.Put(cw)
}
