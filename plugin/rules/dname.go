package rules

// DNAME substitution (RFC 6672), for the rules and the server alike.

import "github.com/miekg/dns"

// DNAMESubstitute returns the name a DNAME record maps name to (RFC 6672 section 2.2): name's
// labels below the DNAME's owner, followed by its target. It returns false when name is not
// strictly below the owner, or when the result would be longer than 255 octets (the server then
// answers YXDOMAIN). Names compare without regard to case; the labels keep name's case.
func DNAMESubstitute(name string, dname *dns.DNAME) (string, bool) {
	owner := dns.CanonicalName(dname.Hdr.Name)
	lower := dns.CanonicalName(name)
	if lower == owner || !isSub(lower, owner) {
		return "", false
	}
	prefix := dns.Fqdn(name)[:len(lower)-len(owner)] // with its trailing dot
	if owner == "." {
		prefix = dns.Fqdn(name)
	}
	target := dns.Fqdn(dname.Target)
	out := prefix + target
	if target == "." {
		out = prefix
	}
	if _, ok := dns.IsDomainName(out); !ok || wireLength(out) > 255 {
		return "", false
	}
	return out, true
}

// wireLength is the length of a presentation-format absolute name in wire format.
func wireLength(name string) int {
	if name == "." {
		return 1
	}
	n := 1 // the root label
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			if i+3 < len(name) && isDigit(name[i+1]) && isDigit(name[i+2]) && isDigit(name[i+3]) {
				i += 3
			} else {
				i++
			}
			n++
		case '.':
			n++ // the label's length octet, for the label it ends
		default:
			n++
		}
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// underDNAME reports whether a DNAME above name maps it elsewhere.
func (ix *index) underDNAME(name string) bool {
	_, d, _ := ix.dnameStep(name)
	return d != nil
}
