package flatten

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Kind says what is wrong with a CNAME chain.
type Kind int

const (
	// Loop: a name appears twice on the chain (RFC 1034 section 3.6.2: "CNAME chains should be
	// followed and CNAME loops signalled as an error").
	Loop Kind = iota
	// TooLong: the chain has more CNAME hops than max_chain allows.
	TooLong
	// MultipleCNAME: one name owns CNAMEs with different targets (RFC 2181 section 10.1 allows one).
	MultipleCNAME
)

// ChainError is a CNAME chain the plugin refuses to answer from. Names is the chain as walked,
// ending with the name that broke it.
type ChainError struct {
	Kind  Kind
	Names []string
	Max   int // max_chain, for TooLong
}

// maxShown bounds how many names an error text lists, so that it fits any reply.
const maxShown = 8

// Error returns the text operators see in logs and clients see as the extended error's EXTRA-TEXT.
func (e *ChainError) Error() string {
	switch e.Kind {
	case Loop:
		return "CNAME loop: " + path(e.Names)
	case TooLong:
		return fmt.Sprintf("CNAME chain longer than max_chain %d: %s", e.Max, path(e.Names))
	default:
		return "more than one CNAME at " + e.Names[len(e.Names)-1] + " (RFC 2181 10.1): " + path(e.Names)
	}
}

// path joins names with arrows, eliding the middle of long chains.
func path(names []string) string {
	if len(names) > maxShown {
		head := strings.Join(names[:maxShown/2], " -> ")
		tail := strings.Join(names[len(names)-maxShown/2+1:], " -> ")
		return fmt.Sprintf("%s -> ...(%d more)... -> %s", head, len(names)-maxShown+1, tail)
	}
	return strings.Join(names, " -> ")
}

// LookupError is a failed lookup of a chain's target.
type LookupError struct {
	Name  string
	Qtype uint16
	Rcode int   // the upstream's rcode when it answered
	Err   error // the transport's error when it did not
}

func (e *LookupError) Error() string {
	q := e.Name + " " + dns.TypeToString[e.Qtype]
	switch {
	case e.Err != nil:
		return "lookup of target " + q + " failed: " + e.Err.Error()
	case e.Rcode == dns.RcodeRefused:
		return "lookup of target " + q + " was refused: this server does not serve it; add a forward or resolver for it"
	case e.Rcode < 0:
		return "lookup of target " + q + " got no answer"
	default:
		return "lookup of target " + q + " answered " + dns.RcodeToString[e.Rcode]
	}
}

// cause is the metric label for a failed lookup.
func (e *LookupError) cause() string {
	switch {
	case e.Err != nil:
		if _, busy := e.Err.(errBusy); busy {
			return "busy"
		}
		return "error"
	case e.Rcode < 0:
		return "no_answer"
	default:
		return strings.ToLower(dns.RcodeToString[e.Rcode])
	}
}

// infoCode chooses the RFC 8914 extended error for err. Loops and long chains have no code of their
// own, so they are "Other" (0) with a text naming the chain; a target the upstream could not resolve
// is "No Reachable Authority" (22); a transport failure is "Network Error" (23).
func infoCode(err error) uint16 {
	if le, ok := err.(*LookupError); ok {
		if _, busy := le.Err.(errBusy); busy {
			return dns.ExtendedErrorCodeOther
		}
		if le.Err != nil || le.Rcode < 0 {
			return dns.ExtendedErrorCodeNetworkError
		}
		return dns.ExtendedErrorCodeNoReachableAuthority
	}
	return dns.ExtendedErrorCodeOther
}

// servfail builds the SERVFAIL reply to r for err, with an extended error (RFC 8914) when the
// client speaks EDNS; without EDNS there is nowhere to put it (RFC 6891 section 7).
func servfail(r *dns.Msg, err error) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	addEDE(r, m, infoCode(err), err.Error())
	return m
}

// addEDE adds an extended error to m when the question r carries an OPT record.
func addEDE(r, m *dns.Msg, code uint16, text string) {
	o := r.IsEdns0()
	if o == nil {
		return
	}
	mo := m.IsEdns0()
	if mo == nil {
		m.SetEdns0(o.UDPSize(), o.Do())
		mo = m.IsEdns0()
	}
	mo.Option = append(mo.Option, &dns.EDNS0_EDE{InfoCode: code, ExtraText: text})
}
