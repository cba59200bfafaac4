package rules

import (
	"strings"

	"github.com/miekg/dns"
)

// Zone is one zone's records and its origin.
type Zone struct {
	Origin  string
	Records []dns.RR
	// Problems are findings about the zone's text, from ParseZone: records that could not be read
	// (rule unparsable-record). Check reports them with the rest.
	Problems []Finding
}

// index holds every zone given, read once: each name (by lower-case owner, empty non-terminals
// included) is a node, and a node's records are a list threaded through the records in zone
// order. Every question the rules ask of it costs a few map lookups, one a label at most.
type index struct {
	zones   []string // origins, lower-case
	zoneSet map[string]bool
	ids     map[string]int32
	nodes   []node
	recs    []dns.RR // the records of every zone, in order
	next    []int32  // the next record of the same node, or -1
	wild    map[int32]int32
	dnames  bool // some name owns a DNAME
}

// node is one name of the zones.
type node struct {
	name   string // lower-case
	parent int32  // the parent's node, -1 at an apex
	first  int32  // first record, -1 for an empty non-terminal
	cname  int32  // first CNAME record, or -1
	target int32  // the node of the first CNAME's target, or -1 when it has none
	dname  int32  // first DNAME record, or -1
	flags  uint16
}

const (
	fApex      uint16 = 1 << iota // a zone's origin
	fCut                          // owns NS and is not an apex: a delegation
	fCNAME                        // owns a CNAME
	fAddr                         // owns A or AAAA
	fWildChild                    // *.name exists (see index.wild)
	fTarget                       // a CNAME (or a DNAME substitution after one) points here
	fMultiple                     // owns more than one CNAME record
	fBelowCut                     // below a delegation
)

func newIndex(zones []Zone) *index {
	n := 0
	for _, z := range zones {
		n += len(z.Records)
	}
	ix := &index{zoneSet: map[string]bool{}, ids: make(map[string]int32, n), wild: map[int32]int32{},
		nodes: make([]node, 0, n+n/8+64)} // names, and room for the empty non-terminals
	if len(zones) == 1 {
		ix.recs = zones[0].Records
	} else {
		ix.recs = make([]dns.RR, 0, n)
		for _, z := range zones {
			ix.recs = append(ix.recs, z.Records...)
		}
	}
	for _, z := range zones {
		origin := dns.CanonicalName(z.Origin)
		ix.zones = append(ix.zones, origin)
		ix.zoneSet[origin] = true
	}
	for _, origin := range ix.zones {
		ix.node(origin, origin)
		ix.nodes[ix.ids[origin]].flags |= fApex
	}
	ix.next = make([]int32, len(ix.recs))
	// Backwards, so that each node's list, built by pushing at its head, runs in zone order.
	end := len(ix.recs)
	for zi := len(zones) - 1; zi >= 0; zi-- {
		origin := ix.zones[zi]
		start := end - len(zones[zi].Records)
		for i := end - 1; i >= start; i-- {
			h := ix.recs[i].Header()
			name := dns.CanonicalName(h.Name)
			if !isSub(name, origin) {
				ix.next[i] = -1
				continue // out-of-zone data
			}
			id := ix.node(name, origin)
			nd := &ix.nodes[id]
			ix.next[i], nd.first = nd.first, int32(i)
			switch h.Rrtype {
			case dns.TypeCNAME:
				if nd.cname >= 0 {
					nd.flags |= fMultiple
				}
				nd.flags |= fCNAME
				nd.cname = int32(i)
			case dns.TypeDNAME:
				nd.dname = int32(i)
				ix.dnames = true
			case dns.TypeA, dns.TypeAAAA:
				nd.flags |= fAddr
			case dns.TypeNS:
				if !ix.zoneSet[name] {
					nd.flags |= fCut
				}
			}
		}
		end = start
	}
	for id := range ix.nodes {
		nd := &ix.nodes[id]
		if p := nd.parent; p >= 0 && nd.flags&fApex == 0 && ix.nodes[p].flags&(fCut|fBelowCut) != 0 {
			nd.flags |= fBelowCut // parents come before their children
		}
		if nd.cname >= 0 { // a CNAME's target is no chain's head
			nd.target = ix.markTarget(dns.CanonicalName(ix.recs[nd.cname].(*dns.CNAME).Target))
		}
	}
	return ix
}

// node returns the node of name (lower-case, in the zone origin), adding it, and the empty
// non-terminals between it and the closest name that has a node, when new.
func (ix *index) node(name, origin string) int32 {
	if id, ok := ix.ids[name]; ok {
		return id
	}
	p := int32(-1)
	if name != origin {
		p = ix.node(parent(name), origin)
	}
	id := int32(len(ix.nodes))
	ix.ids[name] = id
	ix.nodes = append(ix.nodes, node{name: name, parent: p, first: -1, cname: -1, target: -1, dname: -1})
	if p >= 0 && strings.HasPrefix(name, "*.") {
		ix.nodes[p].flags |= fWildChild
		ix.wild[p] = id
	}
	return id
}

// markTarget marks name, and the names DNAMEs map it to, as pointed at; it returns name's node,
// or -1.
func (ix *index) markTarget(name string) int32 {
	first := int32(-1)
	for i := range 16 {
		id, ok := ix.ids[name]
		if i == 0 && ok {
			first = id
		}
		if ok {
			if ix.nodes[id].flags&fTarget != 0 {
				break // marked before, and what follows from it too
			}
			ix.nodes[id].flags |= fTarget
		}
		next, _, found := ix.dnameStep(name)
		if !found {
			break
		}
		name = next
	}
	return first
}

// step is one hop of a chain from name (lower-case): through the DNAME of an ancestor (which
// takes precedence over any data at name, RFC 6672 section 3.2), else through name's CNAME. It
// returns the next name, lower-case, the record that leads there, and whether there is one.
func (ix *index) step(name string) (string, dns.RR, bool) {
	if next, d, ok := ix.dnameStep(name); ok {
		return next, d, true
	}
	if t, cn := ix.cname(name); cn != nil {
		return t, cn, true
	}
	return "", nil, false
}

// isSub reports whether the lower-case name is origin or below it.
func isSub(name, origin string) bool {
	if origin == "." || name == origin {
		return true
	}
	if len(name) <= len(origin) || !strings.HasSuffix(name, origin) || name[len(name)-len(origin)-1] != '.' {
		return false
	}
	// The dot before origin must not be an escaped one (a\.example.org. is not below example.org.).
	bs := 0
	for i := len(name) - len(origin) - 2; i >= 0 && name[i] == '\\'; i-- {
		bs++
	}
	return bs%2 == 0
}

// zoneOf returns the origin of the longest zone given that holds name, or "".
func (ix *index) zoneOf(name string) string {
	for n := name; n != ""; n = parent(n) {
		if ix.zoneSet[n] {
			return n
		}
	}
	return ""
}

// authoritative reports whether the zones given answer for name: it is inside one of them and not
// at or below a delegation.
func (ix *index) authoritative(name string) bool {
	if id, ok := ix.ids[name]; ok {
		return ix.nodes[id].flags&(fCut|fBelowCut) == 0
	}
	zone := ix.zoneOf(name)
	if zone == "" {
		return false
	}
	for n := name; n != zone && n != ""; n = parent(n) {
		if id, ok := ix.ids[n]; ok && ix.nodes[id].flags&fCut != 0 {
			return false
		}
	}
	return true
}

// find returns the node that answers for name: its own (perhaps an empty non-terminal), or the
// wildcard at its closest encloser (RFC 4592).
func (ix *index) find(name string) (int32, bool) {
	if id, ok := ix.ids[name]; ok {
		return id, true
	}
	zone := ix.zoneOf(name)
	if zone == "" {
		return -1, false
	}
	for n := parent(name); n != ""; n = parent(n) {
		if id, ok := ix.ids[n]; ok {
			if ix.nodes[id].flags&fWildChild != 0 {
				return ix.wild[id], true
			}
			return -1, false // the closest encloser has no wildcard
		}
		if n == zone {
			break
		}
	}
	return -1, false
}

// exists reports whether name exists in the zones given: it owns records, is an empty
// non-terminal, or is covered by a wildcard (RFC 4592).
func (ix *index) exists(name string) bool {
	_, ok := ix.find(name)
	return ok
}

// rrs returns the records of type t at name, following a wildcard when name itself does not exist.
func (ix *index) rrs(name string, t uint16) []dns.RR {
	id, ok := ix.find(name)
	if !ok {
		return nil
	}
	var out []dns.RR
	for i := ix.nodes[id].first; i >= 0; i = ix.next[i] {
		if ix.recs[i].Header().Rrtype == t {
			out = append(out, ix.recs[i])
		}
	}
	return out
}

// cname returns name's CNAME target (lower-case) and its first CNAME record, if it has one.
func (ix *index) cname(name string) (string, *dns.CNAME) {
	id, ok := ix.find(name)
	if !ok || ix.nodes[id].cname < 0 {
		return "", nil
	}
	cn := ix.recs[ix.nodes[id].cname].(*dns.CNAME)
	return dns.CanonicalName(cn.Target), cn
}

// dnameStep maps name by the DNAME of its closest ancestor that owns one, in its zone (RFC 6672
// section 2.2): the name it is an alias of, lower-case, the DNAME, and whether there is one.
func (ix *index) dnameStep(name string) (string, *dns.DNAME, bool) {
	if !ix.dnames {
		return "", nil, false
	}
	for n := parent(name); n != ""; n = parent(n) {
		if id, ok := ix.ids[n]; ok && ix.nodes[id].dname >= 0 {
			d := ix.recs[ix.nodes[id].dname].(*dns.DNAME)
			next, ok := DNAMESubstitute(name, d)
			if !ok {
				return "", d, false
			}
			return dns.CanonicalName(next), d, true
		}
		if ix.zoneSet[n] {
			break
		}
	}
	return "", nil, false
}

// records calls f for every record of node id, in zone order.
func (ix *index) records(id int32, f func(dns.RR)) {
	for i := ix.nodes[id].first; i >= 0; i = ix.next[i] {
		f(ix.recs[i])
	}
}

func parent(name string) string {
	if name == "." || name == "" {
		return ""
	}
	i := strings.IndexByte(name, '.')
	for i > 0 && escaped(name, i) {
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

// escaped reports whether the character at i is escaped by an odd run of backslashes before it.
func escaped(name string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}
