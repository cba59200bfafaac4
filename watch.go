package flatten

// Names in the plugin's zones that it does not flatten still pass under its eyes: an answer that
// starts a CNAME chain ending in NXDOMAIN is a dangling CNAME, the seed of a subdomain takeover,
// whether or not it is flattened. Such answers go to the client untouched, and are reported.

import (
	"context"

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

// watch passes r to the next plugin, reporting a dangling chain in its answer. The writer is new
// for every question, never recycled: a plugin down the chain may keep it after answering (cache's
// background refresh of a stale entry does), and would then use another question's.
func (f *Flatten) watch(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	ww := &watchWriter{ResponseWriter: w, ctx: ctx, qname: r.Question[0].Name, qtype: r.Question[0].Qtype, report: f.report}
	return plugin.NextOrFailure(f.Name(), f.Next, ctx, ww, r)
}
