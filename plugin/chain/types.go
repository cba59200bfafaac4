package chain

import "github.com/miekg/dns"

// Flattened reports whether a question of type t at an alias is answered with the records the chain
// ends in: A and AAAA; HTTPS and SVCB, which browsers ask beside them (RFC 9460); and ANY, which
// gets the addresses (as PowerDNS answers ANY at an ALIAS).
func Flattened(t uint16) bool {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeANY:
		return true
	}
	return false
}

// Native reports whether a question of type t at an apex or declared alias is answered by the
// zone's plugin as usual: the CNAME itself, the apex's own SOA and NS, DNSSEC types and transfers,
// and the flattened types.
func Native(t uint16) bool {
	switch t {
	case dns.TypeCNAME, dns.TypeSOA, dns.TypeNS, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3,
		dns.TypeNSEC3PARAM, dns.TypeDNSKEY, dns.TypeDS, dns.TypeAXFR, dns.TypeIXFR:
		return true
	}
	return Flattened(t)
}
