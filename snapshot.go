package flatten

// What the zone audit read of the plugin's zones, as the request path needs it: immutable once
// published, read by every question without locks.

import (
	"github.com/miekg/dns"
)

// snapshot is the state of the plugin's zones at the last audit.
type snapshot struct {
	zones map[string]*zoneState // by origin
}

// zoneState is one zone, as the request path needs it.
type zoneState struct {
	origin  string
	serial  uint32
	records int
	// apex holds the apex's records by type when the apex holds a CNAME beside other data (the
	// layout users bring from providers that flatten apex CNAMEs): questions for its other types
	// are answered from here instead of with the CNAME. Never handed out: replies get copies.
	apex map[uint16][]dns.RR
	// owners are the CNAME owners that own other data or names below them: such a name exists
	// whatever its CNAME leads to, so it is never answered NXDOMAIN (RFC 8020).
	owners map[string]struct{}
}

// zone returns the state of the zone that holds name, or nil.
func (s *snapshot) zone(name string) *zoneState {
	if s == nil {
		return nil
	}
	var best *zoneState
	for origin, z := range s.zones {
		if inZone(name, origin) && (best == nil || len(origin) > len(best.origin)) {
			best = z
		}
	}
	return best
}

// owns reports whether name owns records other than its CNAME, or names below it.
func (s *snapshot) owns(name string) bool {
	z := s.zone(name)
	if z == nil {
		return false
	}
	_, ok := z.owners[lowerASCII(name)]
	return ok
}

// with returns a copy of s with z in place of its zone.
func (s *snapshot) with(z *zoneState) *snapshot {
	out := &snapshot{zones: make(map[string]*zoneState, len(s.zones)+1)}
	for k, v := range s.zones {
		out.zones[k] = v
	}
	out.zones[z.origin] = z
	return out
}

// newZoneState indexes what the request path needs of a zone's records. One pass over the
// records, and one walk up from each owner to the origin: O(n) in the zone's size.
func newZoneState(origin string, serial uint32, rrs []dns.RR) *zoneState {
	z := &zoneState{origin: origin, serial: serial, records: len(rrs)}
	cnames := map[string]bool{} // CNAME owner -> owns other data
	apex := map[uint16][]dns.RR{}
	for _, rr := range rrs {
		h := rr.Header()
		if equalFold(h.Name, origin) {
			apex[h.Rrtype] = append(apex[h.Rrtype], rr)
		}
		if h.Rrtype == dns.TypeCNAME {
			if n := lowerASCII(h.Name); !cnames[n] {
				cnames[n] = false
			}
		}
	}
	if len(cnames) == 0 {
		return z
	}
	if len(apex[dns.TypeCNAME]) > 0 {
		for t := range apex {
			if !nativeType(t) && t != dns.TypeCNAME {
				z.apex = apex
				break
			}
		}
	}
	for _, rr := range rrs {
		h := rr.Header()
		n := lowerASCII(h.Name)
		if _, ok := cnames[n]; ok && h.Rrtype != dns.TypeCNAME && !dnssecType(h.Rrtype) {
			cnames[n] = true
		}
		for i, end := dns.NextLabel(n, 0); !end && len(n[i:]) >= len(origin); i, end = dns.NextLabel(n, i) {
			if _, ok := cnames[n[i:]]; ok {
				cnames[n[i:]] = true // a name below the CNAME owner
			}
		}
	}
	for n, other := range cnames {
		if other || equalFold(n, origin) {
			if z.owners == nil {
				z.owners = map[string]struct{}{}
			}
			z.owners[n] = struct{}{}
		}
	}
	return z
}

// dnssecType reports whether records of type t may sit beside a CNAME (RFC 2181 section 10.1,
// RFC 4035 section 2.5).
func dnssecType(t uint16) bool {
	switch t {
	case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeSIG, dns.TypeNXT, dns.TypeKEY:
		return true
	}
	return false
}
