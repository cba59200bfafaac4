package reply

// Extended errors (RFC 8914): which code a failure gets, and its text fitted to the client's buffer.

import (
	"unicode/utf8"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// Servfail builds SERVFAIL for r with an extended error, fitted to size bytes (see WithEDE).
func Servfail(r *dns.Msg, size int, code uint16, texts ...string) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	WithEDE(r, m, size, code, texts...)
	return m
}

// WithEDE adds an extended error (RFC 8914) to m, the reply to r, when r carries an OPT record
// (without one the client has no room for it: RFC 6891 section 7). The reply must fit the
// client's buffer of size bytes without being truncated: texts are tried from the first (the
// fullest) to the last, and the last is cut if even it does not fit.
func WithEDE(r, m *dns.Msg, size int, code uint16, texts ...string) {
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

// Texts returns the texts of err for an extended error, fullest first (see WithEDE).
func Texts(err error) []string {
	if ce, ok := err.(*chain.Error); ok {
		return []string{ce.Error(), ce.Short()}
	}
	return []string{err.Error()}
}

// InfoCode chooses the RFC 8914 extended error for err. Loops and long chains have no code of their
// own, so they are "Other" (0) with a text naming the chain; a chain the targets option does not
// allow to be followed is "Prohibited" (18); a target the upstream could not resolve or that only a
// delegation knows is "No Reachable Authority" (22); a transport failure is "Network Error" (23).
func InfoCode(err error) uint16 {
	if ce, ok := err.(*chain.Error); ok && ce.Kind == chain.Prohibited {
		return dns.ExtendedErrorCodeProhibited
	}
	le, ok := err.(*chain.LookupError)
	switch {
	case !ok || le.Cause == chain.Busy:
		return dns.ExtendedErrorCodeOther
	case le.Cause == chain.Unreachable:
		return dns.ExtendedErrorCodeNetworkError
	default:
		return dns.ExtendedErrorCodeNoReachableAuthority
	}
}
