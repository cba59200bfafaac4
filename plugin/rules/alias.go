package rules

// Aliases other than CNAME: an HTTPS or SVCB record in AliasMode (RFC 9460 section 2.4.2) makes its
// owner an alias of its TargetName, as a CNAME does, but may sit beside other data, at an apex too
// (chain.Target says which records are aliases).

import (
	"strings"

	"github.com/miekg/dns"
)

// aliasWording is f, a finding about a chain, with "alias" for "CNAME" in its message and fix when
// one of recs, the chain's hops, is an AliasMode record: the CNAME texts stay as they are.
func aliasWording(f Finding, recs []dns.RR) Finding {
	if viaAliasMode(recs) {
		f.Message = strings.ReplaceAll(f.Message, "CNAME", "alias")
		f.Fix = strings.ReplaceAll(f.Fix, "CNAME", "alias")
	}
	return f
}
