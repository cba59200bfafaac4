package flatten

// Stage 3 of a question: compose the reply. Pure functions on *dns.Msg, testable without a server:
// the flattened answer, NODATA and NXDOMAIN, SERVFAIL with an extended error, each fitted to the
// client's buffer.

import (
	"unicode/utf8"

	"github.com/miekg/dns"
)

// flattened builds the reply to r from the final RRsets: every record a copy (the cache and the zone
// keep theirs), owned by the question's name as the client spelled it (0x20 mixed case survives),
// with TTL ttl. The AA bit is set: the server is authoritative for the alias.
func flattened(r *dns.Msg, ttl uint32, sets ...[]dns.RR) *dns.Msg {
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

// serviceType reports whether t is an RFC 9460 service binding type.
func serviceType(t uint16) bool { return t == dns.TypeHTTPS || t == dns.TypeSVCB }

// ownerTargets returns copies of the HTTPS or SVCB records in rrs in which a ServiceMode record's
// TargetName "." (the owner, RFC 9460 2.5) is the owner's name: for a reply owned by another name,
// whose addresses are not the owner's.
func ownerTargets(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = rr
		var svcb *dns.SVCB
		switch rr := rr.(type) {
		case *dns.HTTPS:
			svcb = &rr.SVCB
		case *dns.SVCB:
			svcb = rr
		}
		if svcb == nil || svcb.Priority == 0 || svcb.Target != "." {
			continue
		}
		cp := dns.Copy(rr)
		switch cp := cp.(type) {
		case *dns.HTTPS:
			cp.Target = rr.Header().Name
		case *dns.SVCB:
			cp.Target = rr.Header().Name
		}
		out[i] = cp
	}
	return out
}

// negative builds the reply to r for a chain that ends without records of the type: NOERROR with an
// empty answer (NODATA, RFC 2308 section 2.2) or NXDOMAIN, with the zone's SOA in the authority
// section for negative caching. The SOA's TTL is the lowest of its own TTL, its MINIMUM field (RFC
// 2308 section 5) and ttl, so that a resolver comes back no later than the alias itself may change.
func negative(r *dns.Msg, rcode int, soa *dns.SOA, ttl uint32) *dns.Msg {
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

// servfail builds SERVFAIL for r with an extended error, fitted to size bytes (see withEDE).
func servfail(r *dns.Msg, size int, code uint16, texts ...string) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	withEDE(r, m, size, code, texts...)
	return m
}

// withEDE adds an extended error (RFC 8914) to m, the reply to r, when r carries an OPT record
// (without one the client has no room for it: RFC 6891 section 7). The reply must fit the
// client's buffer of size bytes without being truncated: texts are tried from the first (the
// fullest) to the last, and the last is cut if even it does not fit.
func withEDE(r, m *dns.Msg, size int, code uint16, texts ...string) {
	o := r.IsEdns0()
	if o == nil || len(texts) == 0 {
		return
	}
	mo := m.IsEdns0()
	if mo == nil {
		m.SetEdns0(o.UDPSize(), o.Do())
		mo = m.IsEdns0()
	}
	ede := &dns.EDNS0_EDE{InfoCode: code}
	mo.Option = append(mo.Option, ede)
	for _, text := range texts {
		ede.ExtraText = text
		if m.Len() <= size {
			return
		}
	}
	over := m.Len() - size
	text := ede.ExtraText
	cut := max(len(text)-over-len("..."), 0)
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	ede.ExtraText = text[:cut] + "..."
	if m.Len() > size {
		ede.ExtraText = ""
	}
}

// sibling builds the reply to r from a zone's own records of the type at the name (copies), with
// their signatures for a client that asked for DNSSEC; NODATA with the SOA when there are none.
func sibling(r *dns.Msg, rrs, sigs []dns.RR, soa *dns.SOA) *dns.Msg {
	if len(rrs) == 0 {
		return negative(r, dns.RcodeSuccess, soa, maxTTL)
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
