package chain

import "github.com/miekg/dns"

// Result is how a chain ends, as far as the reply needs to know: its records, NODATA or NXDOMAIN
// (End), or an error (Err: a broken chain *Error or a failed lookup *LookupError).
type Result struct {
	// Names is the chain as walked, from the question's name (for a positive result, only when
	// Stale is set).
	Names []string
	// End is Positive, NXDOMAIN or NODATA when Err is nil.
	End End
	// Final is the final RRset, when Positive: shared, copy before use.
	Final []dns.RR
	// TTL is the lowest TTL on the chain.
	TTL uint32
	// Stale, when not nil, says the result was built from expired data because a lookup failed so.
	Stale error
	// Err is a broken chain (*Error) or a failed lookup (*LookupError).
	Err error
	// Scope is the scope prefix length the result holds for (ecs): the longest of its answers'.
	Scope uint8
	// AliasMode is set when the chain crossed an HTTPS/SVCB record in AliasMode.
	AliasMode bool
	// Recursive says the chain's first answer, the question's own, came from a recursive
	// resolver: the reply is a recursive one too (RA set, AA clear), as without the plugin.
	Recursive bool
	// SOA is the SOA of the negative answer the chain ended in (NXDOMAIN or NODATA), when it
	// carried one: the zone of the chain's last name.
	SOA *dns.SOA
}

// Last returns the name the chain reached.
func (r Result) Last() string { return r.Names[len(r.Names)-1] }
