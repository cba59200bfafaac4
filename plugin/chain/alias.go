package chain

import "github.com/miekg/dns"

// Target returns the name rr makes its owner an alias of: the target of a CNAME, or the TargetName
// of an HTTPS or SVCB record in AliasMode (SvcPriority 0, RFC 9460 section 2.4.2) whose TargetName
// is not "." (which says the service is not available, RFC 9460 section 2.5.1). It returns false
// for any other record. An AliasMode record makes its owner an alias as a CNAME does, but may sit
// beside other data, at an apex too.
func Target(rr dns.RR) (target string, ok bool) {
	if c, ok := rr.(*dns.CNAME); ok {
		return c.Target, true
	}
	if s := SVCB(rr); s != nil {
		return aliasMode(s)
	}
	return "", false
}

// SVCB returns the service binding of an HTTPS or SVCB record (RFC 9460: HTTPS is SVCB under
// another type), or nil for any other record.
func SVCB(rr dns.RR) *dns.SVCB {
	switch rr := rr.(type) {
	case *dns.HTTPS:
		return &rr.SVCB
	case *dns.SVCB:
		return rr
	}
	return nil
}

func aliasMode(rr *dns.SVCB) (string, bool) {
	if rr.Priority != 0 || rr.Target == "." || rr.Target == "" {
		return "", false
	}
	return rr.Target, true
}
