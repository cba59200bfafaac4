package chain

// What can go wrong on a chain: the chain itself is broken (an *Error: a fact about the data,
// never served stale), or a lookup of a target failed (a *LookupError: served stale when an older
// answer is left).

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Kind says what is wrong with a CNAME chain.
type Kind int

const (
	// Loop: a name appears twice on the chain (RFC 1034 section 3.6.2).
	Loop Kind = iota
	// TooLong: the chain has more CNAME hops than max_chain allows.
	TooLong
	// Fork: one name owns CNAMEs with different targets (RFC 2181 section 10.1).
	Fork
	// Prohibited: the chain leaves the zones the targets option allows.
	Prohibited
)

// Error is a CNAME chain the plugin refuses to answer from. Names is the chain as walked, ending
// with the name that broke it.
type Error struct {
	Kind  Kind
	Names []string
	Max   int // max_chain, for TooLong
	// Targets are the CNAMEs' targets, for Fork.
	Targets []string
	// Allowed are the zones the targets option allows beside the plugin's, for Prohibited.
	Allowed []string
}

// Error returns the text operators see in logs and clients in the extended error.
func (e *Error) Error() string { return e.text(Path(e.Names, MaxShown)) }

// Short is the same text with only the chain's first and last names, for a small reply.
func (e *Error) Short() string { return e.text(Path(e.Names, 2)) }

func (e *Error) text(chain string) string {
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

// MaxShown bounds how many names a text lists.
const MaxShown = 8

// Path joins names with arrows, keeping the first and last of long chains and saying how many were
// left out between them: at most shown names (at least 2).
func Path(names []string, shown int) string {
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
			return "lookup of target " + q + ": resolver " + e.Via + " answered with a referral to " + e.Zone + ": it is not a recursive resolver"
		}
		return "lookup of target " + q + " got a referral to " + e.Zone + ": the name is delegated and this server does not resolve it; add a forward or resolver for it"
	case Busy:
		return "lookup of target " + q + " not made: max_lookups lookups already in flight"
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

// Label is the failure's cause as a metric label: referral, busy, error (transport), no_answer,
// or the rcode in lower case.
func (e *LookupError) Label() string {
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

// StaleAllowed reports whether an older answer may stand in for this failure (RFC 8767 section 4:
// when the authorities cannot be reached, or answer SERVFAIL, REFUSED or time out). A referral is a
// mistake in the configuration, not an outage: it is reported as it is.
func (e *LookupError) StaleAllowed() bool { return e.Cause != Referral }
