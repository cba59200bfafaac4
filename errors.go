package flatten

// What can go wrong on a chain: the chain itself is broken (a fact about the data, never served
// stale), or a lookup of a target failed (served stale when the cache holds an older answer).

import (
	"fmt"
	"strings"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// Kind says what is wrong with a CNAME chain.
type Kind int

const (
	// Loop: a name appears twice on the chain (RFC 1034 section 3.6.2).
	Loop Kind = iota
	// TooLong: the chain has more CNAME hops than max_chain allows.
	TooLong
	// MultipleCNAME: one name owns CNAMEs with different targets (RFC 2181 section 10.1).
	MultipleCNAME
	// Prohibited: the chain leaves the zones the targets option allows.
	Prohibited
)

// ChainError is a CNAME chain the plugin refuses to answer from. Names is the chain as walked,
// ending with the name that broke it.
type ChainError struct {
	Kind  Kind
	Names []string
	Max   int // max_chain, for TooLong
	// Targets are the CNAMEs' targets, for MultipleCNAME.
	Targets []string
	// Allowed are the zones the targets option allows beside the plugin's, for Prohibited.
	Allowed []string
}

// Error returns the text operators see in logs and clients in the extended error.
func (e *ChainError) Error() string { return e.text(path(e.Names, maxShown)) }

// short is the same text with only the chain's first and last names, for a small reply.
func (e *ChainError) short() string { return e.text(path(e.Names, 2)) }

func (e *ChainError) text(chain string) string {
	switch e.Kind {
	case Loop:
		return "CNAME loop: " + chain
	case TooLong:
		return fmt.Sprintf("CNAME chain longer than max_chain %d: %s", e.Max, chain)
	case Prohibited:
		return "target " + e.Names[len(e.Names)-1] + " is outside the zones allowed (targets): not followed: " + chain
	default:
		return "more than one CNAME at " + e.Names[len(e.Names)-1] + " (RFC 2181 10.1): " + chain
	}
}

// finding is the validation finding the chain breaks, as the rules word it.
func (e *ChainError) finding() rules.Finding {
	switch e.Kind {
	case Loop:
		return rules.LoopFinding(e.Names, "")
	case TooLong:
		return rules.LongChainFinding(e.Names, e.Max)
	case Prohibited:
		return rules.NotAllowedFinding(e.Names, "", e.Allowed)
	default:
		return rules.MultipleFinding(e.Names[len(e.Names)-1], "", e.Targets)
	}
}

// maxShown bounds how many names a text lists.
const maxShown = 8

// path joins names with arrows, keeping the first and last of long chains and saying how many were
// left out between them: at most shown names (at least 2).
func path(names []string, shown int) string {
	if len(names) <= shown {
		return strings.Join(names, " -> ")
	}
	head := strings.Join(names[:shown/2], " -> ")
	tail := strings.Join(names[len(names)-(shown-shown/2):], " -> ")
	return fmt.Sprintf("%s -> ...(%d more)... -> %s", head, len(names)-shown, tail)
}

// Cause says why a lookup of a chain's target failed.
type Cause int

const (
	// Unreachable: the lookup got no reply, or failed in transport.
	Unreachable Cause = iota
	// Failed: the reply's rcode was an error (SERVFAIL, REFUSED, ...).
	Failed
	// Referral: the reply was a referral (RFC 2308 2.2), not an answer: the server asked is
	// not recursive, or the name is delegated and nothing here resolves it.
	Referral
	// Busy: max_lookups lookups were already in flight.
	Busy
)

// LookupError is a failed lookup of a chain's target.
type LookupError struct {
	Name  string
	Qtype uint16
	Cause Cause
	Rcode int    // the rcode answered, for Failed
	Via   string // who was asked: a resolver's address, or "" for this server
	Zone  string // the delegation's name, for Referral
	Err   error  // the transport's error, for Unreachable
}

func (e *LookupError) Error() string {
	q := e.Name + " " + dns.TypeToString[e.Qtype]
	switch e.Cause {
	case Referral:
		if e.Via != "" {
			return "resolver " + e.Via + " answered " + q + " with a referral to " + e.Zone + ": it is not a recursive resolver"
		}
		return "lookup of target " + q + " got a referral to " + e.Zone + ": the name is delegated and this server does not resolve it; add a forward or resolver for it"
	case Busy:
		return fmt.Sprintf("%s not looked up: max_lookups lookups already in flight", q)
	case Failed:
		if e.Rcode == dns.RcodeRefused && e.Via == "" {
			return "lookup of target " + q + " was refused: this server does not serve it; add a forward or resolver for it"
		}
		return "lookup of target " + q + " answered " + dns.RcodeToString[e.Rcode] + e.via()
	default:
		if e.Err != nil {
			return "lookup of target " + q + " failed: " + e.Err.Error()
		}
		return "lookup of target " + q + " got no answer" + e.via()
	}
}

func (e *LookupError) via() string {
	if e.Via == "" {
		return ""
	}
	return " (resolver " + e.Via + ")"
}

// cause is the metric label for a failed lookup.
func (e *LookupError) cause() string {
	switch e.Cause {
	case Referral:
		return "referral"
	case Busy:
		return "busy"
	case Failed:
		return strings.ToLower(dns.RcodeToString[e.Rcode])
	}
	if e.Err != nil {
		return "error"
	}
	return "no_answer"
}

// staleAllowed reports whether an older answer may stand in for this failure (RFC 8767 section 4:
// when the authorities cannot be reached, or answer SERVFAIL, REFUSED or time out). A referral is a
// mistake in the configuration, not an outage: it is reported as it is.
func (e *LookupError) staleAllowed() bool { return e.Cause != Referral }

// infoCode chooses the RFC 8914 extended error for err. Loops and long chains have no code of their
// own, so they are "Other" (0) with a text naming the chain; a chain the targets option does not
// allow to be followed is "Prohibited" (18); a target the upstream could not resolve
// or that only a delegation knows is "No Reachable Authority" (22); a transport failure is "Network
// Error" (23).
func infoCode(err error) uint16 {
	if ce, ok := err.(*ChainError); ok && ce.Kind == Prohibited {
		return dns.ExtendedErrorCodeProhibited
	}
	le, ok := err.(*LookupError)
	switch {
	case !ok || le.Cause == Busy:
		return dns.ExtendedErrorCodeOther
	case le.Cause == Unreachable:
		return dns.ExtendedErrorCodeNetworkError
	default:
		return dns.ExtendedErrorCodeNoReachableAuthority
	}
}
