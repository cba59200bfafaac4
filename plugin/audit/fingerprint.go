package audit

// What a zone's rules read, in one number: a change of the zone that leaves it as it was (the
// addresses of a name changed, the serial bumped) cannot change a finding, and is not checked
// again.

import (
	"encoding/binary"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// fingerprint hashes what the rules read of rrs, a zone's records in any order: every owner name
// and type; all of a record but its owner for the types that name another name or that
// a finding quotes (a CNAME, an MX, a TXT a DKIM check reads); of an SOA, all but its serial (a
// finding that quotes it is given the new one, see Auditor.pass); of an address record (A, AAAA)
// nothing more, since no rule reads an address, only that a name has one. The records are the zone
// plugin's, shared with its answers: they are only read (miekg/dns's packing would write to them).
//
// The sum of each record's own hash does not depend on the records' order, which changes when the
// zone did not: file's transfer gives a name's types in its map's order, and the audit reads the
// records in the order they lie in memory (see inMemoryOrder), which a reload's parse changes.
func fingerprint(rrs []dns.RR) uint64 {
	var sum uint64
	for _, rr := range rrs {
		sum += mix(record(rr))
	}
	return sum + mix(uint64(len(rrs)))
}

// record is the FNV-1a hash of what the rules read of rr.
func record(rr dns.RR) uint64 {
	f := fp{h: 14695981039346656037}
	hdr := rr.Header()
	f.str(chain.Lower(hdr.Name))
	f.num(uint32(hdr.Rrtype))
	switch rr := rr.(type) {
	case *dns.A, *dns.AAAA:
		return f.h
	case *dns.CNAME:
		f.str(rr.Target)
	case *dns.DNAME:
		f.str(rr.Target)
	case *dns.NS:
		f.str(rr.Ns)
	case *dns.PTR:
		f.str(rr.Ptr)
	case *dns.MX:
		f.num(uint32(rr.Preference))
		f.str(rr.Mx)
	case *dns.SRV:
		f.num(uint32(rr.Priority)<<16 | uint32(rr.Weight))
		f.num(uint32(rr.Port))
		f.str(rr.Target)
	case *dns.TXT:
		for _, s := range rr.Txt {
			f.str(s)
		}
	case *dns.SOA:
		f.str(rr.Ns)
		f.str(rr.Mbox)
		f.num(rr.Refresh)
		f.num(rr.Retry)
		f.num(rr.Expire)
		f.num(rr.Minttl)
	default:
		f.str(rr.String()) // HTTPS, SVCB and the rarer types: their text, as findings quote it
	}
	f.num(uint32(hdr.Class))
	f.num(hdr.Ttl)
	return f.h
}

// mix is splitmix64's finalizer: it spreads each record's hash over all 64 bits before the sum,
// so that records whose FNV hashes differ in a few bits do not cancel or collide in it.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// fp is FNV-1a, fed strings and numbers without allocating.
type fp struct{ h uint64 }

func (f *fp) byte(b byte) {
	f.h ^= uint64(b)
	f.h *= 1099511628211
}

func (f *fp) str(s string) {
	f.num(uint32(len(s))) // #nosec G115 -- a name or a character string, far below 2^32
	for i := range len(s) {
		f.byte(s[i])
	}
}

func (f *fp) num(n uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	for _, x := range b {
		f.byte(x)
	}
}
