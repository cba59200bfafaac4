package audit

// What the zone audit read of the plugin's zones, as the request path needs it: immutable once
// published, read by every question without locks.

import (
	"maps"

	"github.com/dnsflatten/flatten/plugin/chain"

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
	// apex holds the apex's records by type when the apex holds a CNAME: questions for its other
	// types are answered from here (NODATA for a type it lacks) instead of with the CNAME, which a
	// resolver would cache and apply to every type at the apex, its TXT and MX included, as the
	// target's (RFC 1034 3.6.2). Beside SOA and NS alone, or other data too (the layout users bring
	// from providers that flatten apex CNAMEs). Never handed out: replies get copies.
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
		if chain.In(name, origin) && (best == nil || len(origin) > len(best.origin)) {
			best = z
		}
	}
	return best
}

// at returns the zone whose origin is name (lower case), or nil: one map lookup, where zone scans
// every zone for the closest enclosing one.
func (s *snapshot) at(origin string) *zoneState {
	if s == nil {
		return nil
	}
	return s.zones[origin]
}

// owns reports whether name owns records other than its CNAME, or names below it.
func (s *snapshot) owns(name string) bool {
	z := s.zone(name)
	if z == nil {
		return false
	}
	_, ok := z.owners[chain.Lower(name)]
	return ok
}

// with returns a copy of s with z in place of its zone.
func (s *snapshot) with(z *zoneState) *snapshot {
	out := &snapshot{zones: make(map[string]*zoneState, len(s.zones)+1)}
	maps.Copy(out.zones, s.zones)
	out.zones[z.origin] = z
	return out
}

// newZoneState indexes what the request path needs of a zone's records: the apex's records, and
// with owners the CNAME owners that own other data or names below them (needed only to keep
// 'dangling nxdomain' from denying them). One pass over the records, another when owners are
// asked for and the zone has CNAMEs, each looking up a map once per record that is not a CNAME's
// (once per name where its records come together) and once per ancestor: O(n) in the zone's size.
func newZoneState(origin string, serial uint32, rrs []dns.RR, owners bool) *zoneState {
	z := &zoneState{origin: origin, serial: serial, records: len(rrs)}
	apex := map[uint16][]dns.RR{}
	var cnames map[string]bool // CNAME owner -> owns other data or names below it
	for _, rr := range rrs {
		h := rr.Header()
		if chain.Equal(h.Name, origin) {
			apex[h.Rrtype] = append(apex[h.Rrtype], rr)
		}
		if owners && h.Rrtype == dns.TypeCNAME {
			if cnames == nil {
				cnames = map[string]bool{}
			}
			cnames[chain.Lower(h.Name)] = false
		}
	}
	if len(apex[dns.TypeCNAME]) > 0 {
		z.apex = apex
	}
	if len(cnames) == 0 {
		return z
	}
	last := ""
	for _, rr := range rrs {
		h := rr.Header()
		if h.Rrtype == dns.TypeCNAME || dnssecType(h.Rrtype) {
			continue
		}
		if chain.Equal(h.Name, last) {
			continue
		}
		last = h.Name
		n := chain.Lower(h.Name)
		if _, ok := cnames[n]; ok {
			cnames[n] = true // other data beside the CNAME
		}
		for i, end := dns.NextLabel(n, 0); !end && len(n)-i >= len(origin); i, end = dns.NextLabel(n, i) {
			if _, ok := cnames[n[i:]]; ok {
				cnames[n[i:]] = true // a name below the CNAME owner
			}
		}
	}
	for n, other := range cnames {
		if other || chain.Equal(n, origin) {
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
