package rules

import (
	"strings"

	"github.com/miekg/dns"
)

// Zone is one zone's records and its origin.
type Zone struct {
	Origin  string
	Records []dns.RR
}

// index holds the records of every zone given, by lower-case owner name and type.
type index struct {
	zones []string // origins, lower-case
	names map[string]map[uint16][]dns.RR
	cuts  map[string]bool // delegation points (NS below an origin)
}

func newIndex(zones []Zone) *index {
	ix := &index{names: map[string]map[uint16][]dns.RR{}, cuts: map[string]bool{}}
	for _, z := range zones {
		origin := dns.CanonicalName(z.Origin)
		ix.zones = append(ix.zones, origin)
		for _, rr := range z.Records {
			h := rr.Header()
			name := dns.CanonicalName(h.Name)
			if !dns.IsSubDomain(origin, name) {
				continue
			}
			if ix.names[name] == nil {
				ix.names[name] = map[uint16][]dns.RR{}
			}
			ix.names[name][h.Rrtype] = append(ix.names[name][h.Rrtype], rr)
			if h.Rrtype == dns.TypeNS && name != origin {
				ix.cuts[name] = true
			}
		}
	}
	for name, types := range ix.names {
		for t, rrs := range types {
			types[t] = dns.Dedup(rrs, nil)
		}
		ix.names[name] = types
	}
	return ix
}

// zoneOf returns the origin of the longest zone given that holds name, or "".
func (ix *index) zoneOf(name string) string {
	best := ""
	for _, z := range ix.zones {
		if dns.IsSubDomain(z, name) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

// authoritative reports whether the zones given answer for name: it is inside one of them and not
// at or below a delegation.
func (ix *index) authoritative(name string) bool {
	zone := ix.zoneOf(name)
	if zone == "" {
		return false
	}
	for n := name; n != zone && n != "."; n = parent(n) {
		if ix.cuts[n] {
			return false
		}
	}
	return true
}

// exists reports whether name exists in the zones given: it owns records, is an empty
// non-terminal, or is covered by a wildcard (RFC 4592).
func (ix *index) exists(name string) bool {
	if _, ok := ix.names[name]; ok {
		return true
	}
	for n := range ix.names {
		if strings.HasSuffix(n, "."+name) {
			return true // an empty non-terminal
		}
	}
	zone := ix.zoneOf(name)
	for n := parent(name); n != "" && dns.IsSubDomain(zone, n); n = parent(n) {
		if _, ok := ix.names["*."+n]; ok {
			return true
		}
		if _, ok := ix.names[n]; ok {
			return false // the closest encloser exists; a wildcard above it does not apply
		}
	}
	return false
}

// rrs returns the records of type t at name, following a wildcard when name itself has none.
func (ix *index) rrs(name string, t uint16) []dns.RR {
	if types, ok := ix.names[name]; ok {
		return types[t]
	}
	for n := parent(name); n != ""; n = parent(n) {
		if types, ok := ix.names["*."+n]; ok {
			return types[t]
		}
		if _, ok := ix.names[n]; ok {
			return nil
		}
	}
	return nil
}

// cname returns name's CNAME target, if it has exactly one CNAME in the zones given.
func (ix *index) cname(name string) (string, *dns.CNAME) {
	c := ix.rrs(name, dns.TypeCNAME)
	if len(c) == 0 {
		return "", nil
	}
	cn := c[0].(*dns.CNAME)
	return dns.CanonicalName(cn.Target), cn
}

func parent(name string) string {
	if name == "." || name == "" {
		return ""
	}
	i := strings.IndexByte(name, '.')
	for i > 0 && name[i-1] == '\\' {
		j := strings.IndexByte(name[i+1:], '.')
		if j < 0 {
			return "."
		}
		i += j + 1
	}
	if i+1 >= len(name) {
		return "."
	}
	return name[i+1:]
}
