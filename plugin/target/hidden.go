package target

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

	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/own"

	"github.com/miekg/dns"
)

// Hides reports what m, a reply to a question for addresses at a name in the plugin's zones, may
// hide: a CNAME, an AliasMode record.
func (ch *Chaser) Hides(m *dns.Msg) (cname, aliasMode bool) { return ch.lookups.hides(m) }

func (l *lookups) hides(m *dns.Msg) (cname, aliasMode bool) {
	if len(m.Answer) > 0 || len(m.Question) != 1 || !chain.Flattened(m.Question[0].Qtype) || !l.zones.Holds(m.Question[0].Name) {
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
// or nil.
func (l *lookups) unhide(ctx context.Context, m *dns.Msg) dns.RR {
	cname, aliasMode := l.hides(m)
	if !cname && !aliasMode {
		return nil
	}
	return l.probe(ctx, m.Question[0].Name, cname, aliasMode)
}

// probe asks the block's plugins for name's CNAME (when cname) and its HTTPS record in AliasMode
// (when aliasMode), and returns the first found, or nil.
func (l *lookups) probe(ctx context.Context, name string, cname, aliasMode bool) dns.RR {
	for _, qtype := range [2]uint16{dns.TypeCNAME, dns.TypeHTTPS} {
		if qtype == dns.TypeCNAME && !cname || qtype == dns.TypeHTTPS && !aliasMode {
			continue
		}
		m, _, err := own.Ask(ctx, l.next, name, qtype)
		if err != nil {
			continue
		}
		for _, rr := range m.Answer {
			if _, ok := chain.Target(rr); ok && rr.Header().Rrtype == qtype && chain.Equal(rr.Header().Name, name) {
				return rr
			}
		}
	}
	return nil
}

// Probe probes name for an alias (a CNAME when cname, an AliasMode record when aliasMode) and
// returns an answer that starts its chain, or nil.
func (ch *Chaser) Probe(ctx context.Context, name string, cname, aliasMode bool) *dns.Msg {
	if !cname && !aliasMode {
		return nil
	}
	rr := ch.lookups.probe(ctx, name, cname, aliasMode)
	if rr == nil {
		return nil
	}
	m := new(dns.Msg)
	m.Response, m.Answer = true, []dns.RR{rr}
	return m
}
