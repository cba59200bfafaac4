package flatten

import (
	"context"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"

	"github.com/miekg/dns"
)

// Backends built on CoreDNS's plugin.ServiceBackend (kubernetes, etcd) chase a CNAME whose target
// lies in their own zone themselves, and when that chase finds nothing (the target service does
// not exist, or the chain loops back on itself) they drop the CNAME and answer NODATA
// (plugin/backend_lookup.go, A). The broken chain is then invisible: a loop between two
// ExternalName services reads as a name without addresses, and nothing is logged. So when the
// server block holds such a backend, a NODATA answer to an A or AAAA question the plugin handles
// is checked with a CNAME question for the same name, which these backends answer without any
// chase; when the name holds a CNAME, the chain is walked from it, and its loop or dangling target
// is reported like any other. The check costs one more in-memory lookup in the backend, on NODATA
// answers for names in the plugin's zones only (a name outside them may go to a forward block,
// which would cost a question upstream).

// hidesCNAMEs reports whether a handler may hide a CNAME behind a NODATA answer.
func hidesCNAMEs(h plugin.Handler) bool {
	_, ok := h.(plugin.ServiceBackend)
	return ok
}

// isNoData reports whether m is a NODATA answer (RFC 2308 section 2.2): NOERROR with an empty
// answer section.
func isNoData(m *dns.Msg) bool {
	return m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0
}

// unhide asks the rest of the chain for the CNAME at the name of r's question. When there is one,
// it returns nodata (the answer to r) with that CNAME as its answer: the start of the chain the
// backend hid. Otherwise it returns nil. ctx must carry a scope that lets no nested question pass.
func (f *Flatten) unhide(ctx context.Context, w dns.ResponseWriter, r, nodata *dns.Msg) *dns.Msg {
	q := r.Question[0]
	p := new(dns.Msg)
	p.SetQuestion(q.Name, dns.TypeCNAME)
	p.Id = r.Id
	nw := nonwriter.New(w)
	if _, err := plugin.NextOrFailure(f.Name(), f.Next, ctx, nw, p); err != nil || nw.Msg == nil {
		return nil
	}
	for _, rr := range nw.Msg.Answer {
		if cn, ok := rr.(*dns.CNAME); ok && equalFold(cn.Hdr.Name, q.Name) {
			m := nodata.Copy()
			m.Answer = []dns.RR{cn}
			m.Ns = nil
			return m
		}
	}
	return nil
}

// nodataWriter holds back a NODATA reply, for unhide; anything else passes through.
type nodataWriter struct {
	dns.ResponseWriter
	nodata *dns.Msg
}

// WriteMsg implements dns.ResponseWriter.
func (w *nodataWriter) WriteMsg(m *dns.Msg) error {
	if isNoData(m) {
		w.nodata = m
		return nil
	}
	return w.ResponseWriter.WriteMsg(m)
}

// nextUnhidden passes a question the plugin itself asked (a target lookup) to the next plugin,
// replacing a NODATA reply that hides a CNAME with that CNAME.
func (f *Flatten) nextUnhidden(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	nw := &nodataWriter{ResponseWriter: w}
	rcode, err := plugin.NextOrFailure(f.Name(), f.Next, ctx, nw, r)
	if nw.nodata == nil {
		return rcode, err
	}
	if m := f.unhide(ctx, w, r, nw.nodata); m != nil {
		return writeReply(w, m)
	}
	return writeReply(w, nw.nodata)
}
