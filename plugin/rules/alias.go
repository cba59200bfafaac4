package rules

// Aliases other than CNAME: an HTTPS or SVCB record in AliasMode (RFC 9460 section 2.4.2) makes its
// owner an alias of its TargetName, as a CNAME does, but may sit beside other data, at an apex too.

import (
	"strings"

	"github.com/miekg/dns"
)

// AliasTarget returns the name rr makes its owner an alias of: the target of a CNAME, or the
// TargetName of an HTTPS or SVCB record in AliasMode (SvcPriority 0) whose TargetName is not "."
// (which says the service is not available, RFC 9460 section 2.5.1). It returns false for any
// other record.
func AliasTarget(rr dns.RR) (target string, ok bool) {
	switch rr := rr.(type) {
	case *dns.CNAME:
		return rr.Target, true
	case *dns.HTTPS:
		return aliasMode(&rr.SVCB)
	case *dns.SVCB:
		return aliasMode(rr)
	}
	return "", false
}

func aliasMode(rr *dns.SVCB) (string, bool) {
	if rr.Priority != 0 || rr.Target == "." || rr.Target == "" {
		return "", false
	}
	return rr.Target, true
}

// aliasWording is f, a finding about a chain, with "alias" for "CNAME" in its message and fix when
// one of recs, the chain's hops, is an AliasMode record: the CNAME texts stay as they are.
func aliasWording(f Finding, recs []dns.RR) Finding {
	if viaAliasMode(recs) {
		f.Message = strings.ReplaceAll(f.Message, "CNAME", "alias")
		f.Fix = strings.ReplaceAll(f.Fix, "CNAME", "alias")
	}
	return f
}
