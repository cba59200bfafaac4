package flatten

// Names in the plugin's zones that it does not flatten still pass under its eyes: an answer that
// starts a CNAME chain ending in NXDOMAIN is a dangling CNAME, the seed of a subdomain takeover,
// whether or not it is flattened. Such answers go to the client untouched, and are reported.

import (
	"context"
	"sync"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// watchWriter passes every reply through, reporting one that starts a dangling chain.
type watchWriter struct {
	dns.ResponseWriter
	ctx    context.Context
	qname  string
	qtype  uint16
	report *reporter
}

// WriteMsg implements dns.ResponseWriter.
func (w *watchWriter) WriteMsg(m *dns.Msg) error {
	if m.Rcode == dns.RcodeNameError && len(m.Answer) > 0 {
		c := newChain(w.qname, maxMaxChain)
		if final, err := c.follow(m.Answer, w.qtype); err == nil && final == nil && c.hops() > 0 {
			w.report.dangling(w.ctx, c.names)
		}
	}
	return w.ResponseWriter.WriteMsg(m)
}

var watchers = sync.Pool{New: func() any { return new(watchWriter) }}

// watch passes r to the next plugin, reporting a dangling chain in its answer.
func (f *Flatten) watch(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	ww := watchers.Get().(*watchWriter)
	*ww = watchWriter{ResponseWriter: w, ctx: ctx, qname: r.Question[0].Name, qtype: r.Question[0].Qtype, report: f.report}
	rcode, err := plugin.NextOrFailure(f.Name(), f.Next, ctx, ww, r)
	*ww = watchWriter{}
	watchers.Put(ww)
	return rcode, err
}
