package flatten

// Aliases an answer does not show. A question for a name's addresses may get no answer although
// the name is an alias:
//   - SERVFAIL without an answer: the file plugin answers a CNAME at its own name, or a loop of two
//     names, with its own bare SERVFAIL before any chain is seen;
//   - NODATA from a service backend (kubernetes, etcd): it chases a CNAME into its own zone itself
//     and, when the chase finds nothing (a missing service, or two services pointing at each
//     other), drops the CNAME (plugin/backend_lookup.go);
//   - NODATA at a name that declares itself an alias the standards-track way, with an HTTPS record
//     in AliasMode (priority 0, RFC 9460 section 2.4.2) and no addresses of its own: clients that
//     ignore AliasMode (most browsers today) still need the target's addresses there.
// Such answers are probed: a CNAME question, which backends answer without any chase, and an HTTPS
// question for AliasMode. Probes are in-memory questions to the server block's own plugins, made
// only for names in the plugin's zones.

import (
	"context"

	"github.com/coredns/coredns/plugin"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// hides reports what a reply to a question for addresses at a name in the plugin's zones may hide:
// a CNAME, an AliasMode record.
func (l *lookups) hides(m *dns.Msg) (cname, aliasMode bool) {
	if len(m.Answer) > 0 || len(m.Question) != 1 || !flattenedType(m.Question[0].Qtype) || !l.inZones(m.Question[0].Name) {
		return false, false
	}
	switch m.Rcode {
	case dns.RcodeServerFailure:
		return true, false
	case dns.RcodeSuccess:
		return l.serviceBackend, m.Question[0].Qtype != dns.TypeHTTPS && m.Question[0].Qtype != dns.TypeSVCB
	}
	return false, false
}

// unhide probes for the alias m, a reply for a name's addresses, may hide, and returns its record,
// or nil. ctx must carry the closed mark.
func (l *lookups) unhide(ctx context.Context, m *dns.Msg) dns.RR {
	cname, aliasMode := l.hides(m)
	if !cname && !aliasMode {
		return nil
	}
	return l.probe(ctx, m.Question[0].Name, cname, aliasMode)
}

// probe asks the block's plugins for name's CNAME (when cname) and its HTTPS record in AliasMode
// (when aliasMode), and returns the first found, or nil. ctx must carry the closed mark.
func (l *lookups) probe(ctx context.Context, name string, cname, aliasMode bool) dns.RR {
	for _, qtype := range [2]uint16{dns.TypeCNAME, dns.TypeHTTPS} {
		if qtype == dns.TypeCNAME && !cname || qtype == dns.TypeHTTPS && !aliasMode {
			continue
		}
		w := &ownWriter{}
		if _, err := plugin.NextOrFailure(pluginName, l.next, ctx, w, ownQuestion(name, qtype)); err != nil || w.msg == nil {
			continue
		}
		for _, rr := range w.msg.Answer {
			if _, ok := rules.AliasTarget(rr); ok && rr.Header().Rrtype == qtype && equalFold(rr.Header().Name, name) {
				return rr
			}
		}
	}
	return nil
}
