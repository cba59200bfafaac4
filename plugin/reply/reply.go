// Package reply composes the flatten plugin's replies: pure functions on *dns.Msg, testable
// without a server. The flattened answer, NODATA and NXDOMAIN with the zone's SOA, SERVFAIL with
// an extended error (RFC 8914), stale and degraded answers, other types at an apex, each fitted
// to the client's buffer. Nothing here writes to a client, logs or counts: the plugin's handler
// does, with what these return.
package reply

import (
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// StaleTTL is the TTL of a stale or degraded answer (RFC 8767 section 4 suggests 30 seconds).
const StaleTTL = 30

// For composes the reply to r from res, the end of its chain, for a client with room for size
// bytes (read only for an extended error: a positive, fresh result carries none): the flattened records, NODATA with soa (the alias zone's), a dangling target's reply
// with rcode dangling (see Dangling), or SERVFAIL with an extended error; marked stale when res
// was built from expired data.
func For(r *dns.Msg, res chain.Result, size int, soa *dns.SOA, dangling int) *dns.Msg {
	var m *dns.Msg
	switch {
	case res.Err != nil:
		return Servfail(r, size, InfoCode(res.Err), Texts(res.Err)...)
	case res.End == chain.Positive:
		ttl := res.TTL
		if res.Stale != nil {
			ttl = StaleTTL
		}
		m = Flattened(r, ttl, res.Final)
	case res.End == chain.NODATA:
		m = Negative(r, dns.RcodeSuccess, soa, res.TTL)
	default:
		m = Dangling(r, res.Names, dangling, soa, res.TTL, size)
	}
	if res.Stale != nil {
		Stale(r, m, res.Last(), res.Stale, size)
	}
	return m
}

// Flattened builds the reply to r from the final RRsets: every record a copy (the cache and the
// zone keep theirs), owned by the question's name as the client spelled it (0x20 mixed case
// survives), with TTL ttl. The AA bit is set: the server is authoritative for the alias.
func Flattened(r *dns.Msg, ttl uint32, sets ...[]dns.RR) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	n := 0
	for _, set := range sets {
		n += len(set)
	}
	m.Answer = make([]dns.RR, 0, n)
	qname := r.Question[0].Name
	for _, set := range sets {
		for _, rr := range set {
			cp := owned(rr)
			cp.Header().Name = qname
			cp.Header().Ttl = ttl
			m.Answer = append(m.Answer, cp)
		}
	}
	if n > 1 {
		m.Answer = dns.Dedup(m.Answer, nil)
	}
	return m
}

// owned returns a record of its own to rename and re-time: a copy of rr's struct for addresses
// and service bindings (their address bytes and SvcParams are never written to, so they are
// shared), a deep copy for other types.
func owned(rr dns.RR) dns.RR {
	switch rr := rr.(type) {
	case *dns.A:
		cp := *rr
		return &cp
	case *dns.AAAA:
		cp := *rr
		return &cp
	case *dns.HTTPS:
		cp := *rr
		return &cp
	case *dns.SVCB:
		cp := *rr
		return &cp
	}
	return dns.Copy(rr)
}

// ServiceType reports whether t is an RFC 9460 service binding type.
func ServiceType(t uint16) bool { return t == dns.TypeHTTPS || t == dns.TypeSVCB }

// OwnerTargets returns copies of the HTTPS or SVCB records in rrs in which a ServiceMode record's
// TargetName "." (the owner, RFC 9460 2.5) is the owner's name: for a reply owned by another name,
// whose addresses are not the owner's.
func OwnerTargets(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = rr
		if svcb := chain.SVCB(rr); svcb == nil || svcb.Priority == 0 || svcb.Target != "." {
			continue
		}
		cp := dns.Copy(rr)
		chain.SVCB(cp).Target = rr.Header().Name
		out[i] = cp
	}
	return out
}

// Negative builds the reply to r for a chain that ends without records of the type: NOERROR with
// an empty answer (NODATA, RFC 2308 section 2.2) or NXDOMAIN, with the zone's SOA in the authority
// section for negative caching. The SOA's TTL is the lowest of its own TTL, its MINIMUM field (RFC
// 2308 section 5) and ttl, so that a resolver comes back no later than the alias itself may change.
func Negative(r *dns.Msg, rcode int, soa *dns.SOA, ttl uint32) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(r, rcode)
	m.Authoritative = true
	if soa != nil {
		cp := dns.Copy(soa).(*dns.SOA)
		cp.Hdr.Ttl = min(cp.Hdr.Ttl, cp.Minttl, ttl)
		m.Ns = []dns.RR{cp}
	}
	return m
}

// Dangling builds the reply to r for a chain (names) whose last name does not exist: a CNAME into
// a name someone else may register is a subdomain-takeover risk. rcode is what the dangling option
// says (NODATA, NXDOMAIN or SERVFAIL); the caller makes it NODATA at a name that owns other records
// (RFC 8020). An extended error says why.
func Dangling(r *dns.Msg, names []string, rcode int, soa *dns.SOA, ttl uint32, size int) *dns.Msg {
	last := names[len(names)-1]
	text := "dangling alias: target " + last + " does not exist (NXDOMAIN): " + chain.Path(names, chain.MaxShown)
	short := "dangling alias: target " + last + " does not exist (NXDOMAIN)"
	if rcode == dns.RcodeServerFailure {
		return Servfail(r, size, dns.ExtendedErrorCodeOther, text, short)
	}
	m := Negative(r, rcode, soa, ttl)
	WithEDE(r, m, size, dns.ExtendedErrorCodeOther, text, short)
	return m
}

// Stale marks m, a reply to r built from expired data because the refresh of last failed with
// err (RFC 8767): TTL 30 on its authority records (the answer's are set by For) and extended error
// 3 (Stale Answer) naming the target and the failure.
func Stale(r, m *dns.Msg, last string, err error, size int) {
	for _, rr := range m.Ns {
		rr.Header().Ttl = min(rr.Header().Ttl, StaleTTL)
	}
	WithEDE(r, m, size, dns.ExtendedErrorCodeStaleAnswer, "refresh of "+last+" failed: "+err.Error())
}

// Fallback returns m, the zone's own answer to r at a declared alias, marked as standing in for a
// target whose lookup failed (err) with no stale answer left. It is a degraded answer, as a stale
// one is: its records get TTL 30 at most (RFC 8767 section 4), so that resolvers ask again soon
// after the target is back rather than keep the fallback for the zone's TTL, and an extended error
// names the failure. m's records are the backend's (a zone's own records, shared): the reply gets
// copies.
func Fallback(r, m *dns.Msg, err *chain.LookupError, size int) *dns.Msg {
	out := m.Copy()
	for _, section := range [][]dns.RR{out.Answer, out.Ns} {
		for _, rr := range section {
			rr.Header().Ttl = min(rr.Header().Ttl, StaleTTL)
		}
	}
	texts := Texts(err)
	for i := range texts {
		texts[i] += "; answered from the zone's own records"
	}
	WithEDE(r, out, size, InfoCode(err), texts...)
	return out
}

// Sibling builds the reply to r from a zone's own records of the type at the name (copies), with
// their signatures for a client that asked for DNSSEC; NODATA with the SOA when there are none.
func Sibling(r *dns.Msg, rrs, sigs []dns.RR, soa *dns.SOA) *dns.Msg {
	if len(rrs) == 0 {
		return Negative(r, dns.RcodeSuccess, soa, chain.MaxTTL)
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.Answer = make([]dns.RR, 0, len(rrs)+len(sigs))
	for _, rr := range rrs {
		m.Answer = append(m.Answer, dns.Copy(rr))
	}
	if o := r.IsEdns0(); o != nil && o.Do() {
		for _, sig := range sigs {
			if sig.(*dns.RRSIG).TypeCovered == r.Question[0].Qtype {
				m.Answer = append(m.Answer, dns.Copy(sig))
			}
		}
	}
	return m
}

// WithScope adds to m, the reply to r, the client's ECS option sent with the scope the answer
// holds for (RFC 7871 section 7.2.1); nothing when the client sent none (sent is nil).
func WithScope(r, m *dns.Msg, sent *dns.EDNS0_SUBNET, scope uint8) {
	if sent == nil {
		return
	}
	o := r.IsEdns0()
	mo := m.IsEdns0()
	if mo == nil {
		m.SetEdns0(o.UDPSize(), o.Do())
		mo = m.IsEdns0()
	}
	back := *sent
	back.SourceScope = scope
	mo.Option = append(mo.Option, &back)
}
