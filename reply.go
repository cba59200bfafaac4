package flatten

// From a chain's result to the reply: which reply a result gets (flattened, NODATA, NXDOMAIN,
// SERVFAIL, stale), the live findings it reports, and the questions whose reply needs more than one
// chain (ANY) or none (other types at a declared alias or an apex).

import (
	"context"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"

	"github.com/miekg/dns"
)

// reply composes the reply to r from res, reports what it met, and writes it. declared says the
// name is a declared alias.
//
//go:noinline
func (f *Flatten) reply(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, res result, declared bool) (int, error) {
	q := r.Question[0]
	var m *dns.Msg
	switch {
	case res.err != nil:
		f.report.broken(ctx, q.Name, q.Qtype, res.err)
		m = servfail(r, bufSize(w, r), infoCode(res.err), errorTexts(res.err)...)
	case res.kind == kindPositive:
		counters := f.chase.counters.of(ctx)
		counters.flattenedOf(q.Qtype).Inc()
		if res.aliasMode {
			counters.aliasMode.Inc()
		}
		ttl := res.ttl
		if res.stale != nil {
			ttl = staleTTL
		}
		m = flattened(r, ttl, res.final)
	default:
		m = f.negative(ctx, r, res, declared, bufSize(w, r))
	}
	if res.stale != nil && res.err == nil {
		f.stale(ctx, r, m, res, bufSize(w, r))
	}
	if res.err == nil {
		withScope(ctx, r, m, res.scope)
	}
	return f.write(ctx, w, r, m)
}

// errorTexts returns the texts of err for an extended error, fullest first (see withEDE).
func errorTexts(err error) []string {
	if ce, ok := err.(*ChainError); ok {
		return []string{ce.Error(), ce.short()}
	}
	return []string{err.Error()}
}

// negative builds the reply for a chain that ends without records of the type. A target that does
// not exist (dangling: a CNAME into a name someone else may register is a subdomain-takeover risk)
// is reported, and answered as the dangling option says, with an extended error saying why; but a
// name that owns other records (an apex, a declared alias, a CNAME owner with names below it) is
// never answered NXDOMAIN, which would deny them all (RFC 8020). The SOA is the alias zone's.
func (f *Flatten) negative(ctx context.Context, r *dns.Msg, res result, declared bool, size int) *dns.Msg {
	q := r.Question[0]
	soa := f.chase.soa(ctx, f.policy.zone(q.Name))
	if res.kind == kindNODATA {
		return negative(r, dns.RcodeSuccess, soa, res.ttl)
	}
	f.report.dangling(ctx, res.names)
	text := "dangling alias: target " + res.names[len(res.names)-1] + " does not exist (NXDOMAIN): " + path(res.names, maxShown)
	short := "dangling alias: target " + res.names[len(res.names)-1] + " does not exist (NXDOMAIN)"
	rcode := f.dangling
	if rcode == dns.RcodeNameError && (declared || f.policy.isApex(q.Name) || f.audit.snapshot().owns(q.Name)) {
		rcode = dns.RcodeSuccess
	}
	if rcode == dns.RcodeServerFailure {
		return servfail(r, size, dns.ExtendedErrorCodeOther, text, short)
	}
	m := negative(r, rcode, soa, res.ttl)
	withEDE(r, m, size, dns.ExtendedErrorCodeOther, text, short)
	return m
}

// stale marks a reply built from expired data (RFC 8767): TTL 30 and extended error 3 (Stale
// Answer) naming the target and the failure.
func (f *Flatten) stale(ctx context.Context, r, m *dns.Msg, res result, size int) {
	last := res.names[len(res.names)-1]
	f.report.stale(ctx, last, res.stale)
	for _, rr := range m.Ns {
		rr.Header().Ttl = min(rr.Header().Ttl, staleTTL)
	}
	withEDE(r, m, size, dns.ExtendedErrorCodeStaleAnswer, "refresh of "+last+" failed: "+res.stale.Error())
}

// fallback returns m, the zone's own answer at a declared alias, marked as standing in for a target
// whose lookup failed (err) with no stale answer left. It is a degraded answer, as a stale one is:
// its records get TTL 30 at most (RFC 8767 section 4), so that resolvers ask again soon after the
// target is back rather than keep the fallback for the zone's TTL, and an extended error names the
// failure. m's records are the backend's (a zone's own records, shared): the reply gets copies.
func (f *Flatten) fallback(ctx context.Context, r, m *dns.Msg, err *LookupError, size int) *dns.Msg {
	q := r.Question[0]
	f.report.fallback(ctx, q.Name, q.Qtype, err)
	out := m.Copy()
	for _, section := range [][]dns.RR{out.Answer, out.Ns} {
		for _, rr := range section {
			rr.Header().Ttl = min(rr.Header().Ttl, staleTTL)
		}
	}
	texts := errorTexts(err)
	for i := range texts {
		texts[i] += "; answered from the zone's own records"
	}
	withEDE(r, out, size, infoCode(err), texts...)
	return out
}

// flattenAny answers ANY at an alias of target (a hop of TTL hop) with the target's A and AAAA
// records (as PowerDNS answers ANY at an ALIAS), never the CNAME. aliasMode says the alias is an
// AliasMode record.
func (f *Flatten) flattenAny(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, target string, hop uint32, declared, aliasMode bool) (int, error) {
	q := r.Question[0]
	var sets [][]dns.RR
	var last result
	ttl := uint32(maxTTL)
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		res := f.resolveFrom(ctx, q.Name, target, hop, qtype)
		if res.err != nil {
			return f.reply(ctx, w, r, res, declared)
		}
		if res.kind == kindPositive {
			sets = append(sets, res.final)
			ttl = min(ttl, res.ttl)
		}
		aliasMode = aliasMode || res.aliasMode
		last = res
	}
	if len(sets) == 0 {
		return f.reply(ctx, w, r, last, declared)
	}
	counters := f.chase.counters.of(ctx)
	counters.flattenedOf(q.Qtype).Inc()
	if aliasMode {
		counters.aliasMode.Inc()
	}
	return f.write(ctx, w, r, flattened(r, ttl, sets...))
}

// aliasOther answers another type at a declared alias: the zone's own records, but a declared alias
// exists for every type, so where the zone has no such name the reply is NODATA with the SOA, not
// NXDOMAIN (a name that answers A cannot be nonexistent for MX).
func (f *Flatten) aliasOther(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	nw := nonwriter.New(w)
	rcode, err := plugin.NextOrFailure(f.Name(), f.Next, &markedContext{Context: ctx, m: closed}, nw, r)
	if nw.Msg == nil {
		return rcode, err
	}
	m := nw.Msg
	if m.Rcode == dns.RcodeNameError {
		soa := firstSOA(m.Ns)
		if soa == nil {
			soa = f.chase.soa(ctx, f.policy.zone(r.Question[0].Name))
		}
		m = negative(r, dns.RcodeSuccess, soa, maxTTL)
		return f.write(ctx, w, r, m)
	}
	return dns.RcodeSuccess, writeMsg(w, m)
}
