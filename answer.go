package flatten

// The replies the plugin writes: flattened answers composed from cache entries, NODATA, SERVFAIL
// with an extended error, stale answers, declared aliases, and an apex's own records.

import (
	"context"
	"errors"
	"fmt"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"
	"github.com/coredns/coredns/request"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// compose walks the chain c from entry e to its end, fetching the entries it lacks, and returns the
// reply to the question in state, and whether the chain ended in records of the question's type.
// captured is the first answer when there was one: it may carry the zone's SOA.
//
// stale, when not nil, says e is expired data served because its refresh failed with that error:
// the reply is then a stale answer (RFC 8767), as it is when any later entry on the chain is.
func (f *Flatten) compose(ctx context.Context, state request.Request, c *chain, e *entry, captured *dns.Msg, stale error) (*dns.Msg, bool) {
	r := state.Req
	qtype := r.Question[0].Qtype
	now := f.now()
	for {
		if err := c.extend(e.names, e.remaining(now)); err != nil {
			return f.refuse(ctx, r, err), false
		}
		switch e.kind {
		case kindPositive:
			flattenedCount.WithLabelValues(metrics.WithServer(ctx), dns.TypeToString[qtype]).Inc()
			if stale != nil {
				return f.staleReply(ctx, r, synthesize(r, e.final, staleTTL), c, stale), true
			}
			return synthesize(r, e.final, c.ttl), true
		case kindNXDOMAIN, kindNODATA:
			m := f.noData(ctx, state, captured, c, e.kind == kindNXDOMAIN)
			if stale != nil {
				for _, rr := range m.Ns {
					rr.Header().Ttl = min(rr.Header().Ttl, staleTTL)
				}
				return f.staleReply(ctx, r, m, c, stale), false
			}
			return m, false
		}
		next, st, err := f.target(ctx, state, c.last(), qtype)
		if err != nil {
			return f.refuse(ctx, r, err), false
		}
		if st != nil {
			stale = st
		}
		e = next
	}
}

// staleReply adds extended error 3 (Stale Answer, RFC 8914) to a reply built from expired data.
func (f *Flatten) staleReply(ctx context.Context, r, m *dns.Msg, c *chain, err error) *dns.Msg {
	staleCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	addEDE(r, m, dns.ExtendedErrorCodeStaleAnswer, "refresh of "+c.last()+" failed: "+err.Error())
	if f.logs.allow(c.last(), errStale) {
		log.Warningf("%s: serving stale data: %s", c.last(), err)
	}
	return m
}

var errStale = errors.New("stale")

// declared answers a question for a declared alias (alias NAME TARGET). When TARGET does not resolve
// to records of the question's type, the zone's own records at NAME, if any, are the answer (the
// ANAME draft's sibling address records).
func (f *Flatten) declared(ctx context.Context, state request.Request, target string) *dns.Msg {
	q := state.Req.Question[0]
	c := newChain(q.Name, f.MaxChain)
	var (
		m  *dns.Msg
		ok bool
	)
	if err := c.extend([]string{c.last(), target}, maxTTL); err != nil {
		m = f.refuse(ctx, state.Req, err)
	} else if e, stale, err := f.target(ctx, state, target, q.Qtype); err != nil {
		m = f.refuse(ctx, state.Req, err)
	} else {
		m, ok = f.compose(ctx, state, c, e, nil, stale)
	}
	if ok {
		return m
	}
	nw := nonwriter.New(state.W)
	plugin.NextOrFailure(f.Name(), f.Next, context.WithValue(ctx, scopeKey{}, closed), nw, state.Req)
	if nw.Msg != nil && hasType(nw.Msg.Answer, q.Name, q.Qtype) {
		return nw.Msg
	}
	return m
}

// hasType reports whether rrs hold a record of qtype owned by name.
func hasType(rrs []dns.RR, name string, qtype uint16) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype && equalFold(rr.Header().Name, name) {
			return true
		}
	}
	return false
}

// refuse answers a broken chain or a failed lookup with SERVFAIL and an extended error, logs it
// (once a minute per question name and problem) and counts it.
func (f *Flatten) refuse(ctx context.Context, r *dns.Msg, err error) *dns.Msg {
	server := metrics.WithServer(ctx)
	var ce *ChainError
	if errors.As(err, &ce) {
		rule := map[Kind]string{Loop: rules.RuleLoop, TooLong: rules.RuleTooLong, MultipleCNAME: rules.RuleMultiple}[ce.Kind]
		switch ce.Kind {
		case Loop:
			loopCount.WithLabelValues(server).Inc()
		case TooLong:
			tooLongCount.WithLabelValues(server).Inc()
		}
		findingCount.WithLabelValues(rule, ruleSeverity[rule].String()).Inc()
	}
	if f.logs.allow(r.Question[0].Name, err) {
		log.Warningf("%s %s: %s", r.Question[0].Name, dns.TypeToString[r.Question[0].Qtype], err)
	}
	return servfail(r, err)
}

// noData builds the NODATA reply for an alias whose target does not exist (dangling: logged and
// counted, since a CNAME into a name someone else may register is a subdomain-takeover risk) or has
// no records of the type. The SOA is the alias zone's: from the first answer when it carries one
// (the file plugin puts it there), else from the zone's apex (cached like any lookup).
func (f *Flatten) noData(ctx context.Context, state request.Request, captured *dns.Msg, c *chain, dangling bool) *dns.Msg {
	qname := state.Req.Question[0].Name
	rcode := dns.RcodeSuccess
	if dangling {
		danglingCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
		rule, risk := rules.RuleDangling, ""
		if p, ok := rules.DefaultSuffixes.Match(c.last()); ok && (p.Claim == rules.Vulnerable || p.Claim == rules.Edge) {
			rule, risk = rules.RuleTakeover, ": subdomain-takeover risk, names under "+p.Suffix+" can be claimed by anyone"
		}
		findingCount.WithLabelValues(rule, ruleSeverity[rule].String()).Inc()
		if f.logs.allow(qname, errDangling) {
			log.Warningf("%s: dangling alias: target %s does not exist (NXDOMAIN)%s: %s", qname, c.last(), risk, path(c.names))
		}
		rcode = f.Dangling
		if rcode == dns.RcodeServerFailure {
			return servfail(state.Req, fmt.Errorf("dangling alias: target %s does not exist: %s", c.last(), path(c.names)))
		}
	}
	var soa *dns.SOA
	if captured != nil {
		soa = findSOA(captured.Ns, qname)
	}
	if zone := plugin.Zones(f.Zones).Matches(qname); soa == nil && zone != "" {
		if e, _, err := f.target(ctx, state, zone, dns.TypeSOA); err == nil && e.kind == kindPositive {
			soa = findSOA(e.final, qname)
		}
	}
	m := nodata(state.Req, soa, c.ttl)
	m.Rcode = rcode
	return m
}

// ruleSeverity is the severity of the findings the plugin sees in live answers, as the rules give
// them.
var ruleSeverity = map[string]rules.Severity{
	rules.RuleLoop: rules.Error, rules.RuleTooLong: rules.Warning, rules.RuleMultiple: rules.Error,
	rules.RuleDangling: rules.Warning, rules.RuleTakeover: rules.Critical,
}

// apexReply answers a question at an apex that holds a CNAME beside other data from the audit's
// copy of the apex: its records of the type, or NODATA with its SOA.
func apexReply(r *dns.Msg, at apexRecords) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	qtype := r.Question[0].Qtype
	if rrs := at[qtype]; len(rrs) > 0 {
		m.Answer = rrs
		if o := r.IsEdns0(); o != nil && o.Do() {
			for _, sig := range at[dns.TypeRRSIG] {
				if sig.(*dns.RRSIG).TypeCovered == qtype {
					m.Answer = append(m.Answer, sig)
				}
			}
		}
		return m
	}
	if soa := at[dns.TypeSOA]; len(soa) > 0 {
		m.Ns = []dns.RR{nodata(r, soa[0].(*dns.SOA), maxTTL).Ns[0]}
	}
	return m
}

var errDangling = errors.New("dangling")

// errBusy is a lookup refused because max_lookups are in flight.
type errBusy struct{ max int }

func (e errBusy) Error() string {
	return fmt.Sprintf("%d lookups in flight, the max_lookups limit: not started", e.max)
}
