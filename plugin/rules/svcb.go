package rules

// What RFC 9460 forbids in a service binding's SvcParams that miekg/dns reads without a word (its
// Appendix D.3 failure cases): a key given twice, a list that must not be empty given empty, a
// mandatory key missing or listing itself or another key twice.

import (
	"fmt"
	"slices"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// svcbProblem says what is wrong with the SvcParams of an HTTPS or SVCB record, or "".
func svcbProblem(rr dns.RR) string {
	s := chain.SVCB(rr)
	if s == nil {
		return ""
	}
	seen := map[dns.SVCBKey]bool{}
	var mandatory []dns.SVCBKey
	for _, kv := range s.Value {
		k := kv.Key()
		if seen[k] {
			return fmt.Sprintf("the SvcParamKey %s appears twice: each appears at most once (RFC 9460 2.1)", k)
		}
		seen[k] = true
		switch kv := kv.(type) {
		case *dns.SVCBMandatory:
			if len(kv.Code) == 0 {
				return "mandatory has no value: it lists the keys a client must understand (RFC 9460 8)"
			}
			mandatory = kv.Code
		case *dns.SVCBAlpn:
			if len(kv.Alpn) == 0 {
				return "alpn has no value: it lists at least one protocol (RFC 9460 7.1.1)"
			}
		}
	}
	for i, k := range mandatory {
		switch {
		case k == dns.SVCB_MANDATORY:
			return "mandatory lists mandatory itself, which it must not (RFC 9460 8)"
		case slices.Contains(mandatory[:i], k):
			return fmt.Sprintf("mandatory lists %s twice (RFC 9460 8)", k)
		case !seen[k]:
			return fmt.Sprintf("mandatory lists %s, which the record does not give (RFC 9460 8)", k)
		}
	}
	return ""
}
