package rules

// The index of the zones given: one node a name, built once, and each node's records.

import (
	"math"
	"slices"
	"strings"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// Zone is one zone's records and its origin.
type Zone struct {
	Origin  string
	Records []dns.RR
	// Partial says Records hold only some of the zone's names: those that can break a chain (its
	// aliases, as a service backend's zone gives them), not every name that exists. A name of the
	// zone at no node of Records is then asked of the Oracle, as a name outside the zones is,
	// instead of being taken as nonexistent.
	Partial bool
	// Problems are findings about the zone's text, from ParseZone: records that could not be read
	// (rule unparsable-record). Check reports them with the rest.
	Problems []Finding
	// Positions, when the zone was read from text, say where each of Records was written
	// (Positions[i] for Records[i]): findings then say their file and line.
	Positions []Position
}

// Position is where a record was written: its file (an $INCLUDEd file's own name) and line.
type Position struct {
	File string
	Line int
}

// index holds every zone given, read once: each name (by lower-case owner, empty non-terminals
// included) is a node, and a node's records are a list threaded through the records in zone
// order. Every question the rules ask of it costs a few map lookups, one a label at most.
type index struct {
	zones   []string // origins, lower-case
	zoneSet map[string]bool
	partial map[string]bool // origins of the zones given as Partial
	ids     nameTable
	nodes   []node
	recs    []dns.RR // the records of every zone, in order
	next    []int32  // the next record of the same node, or -1
	wild    map[int32]int32
	dnames  bool // some name owns a DNAME
	outside int  // alias targets with no node
}

// node is one name of the zones.
type node struct {
	name   string // lower-case
	parent int32  // the parent's node, -1 at an apex
	first  int32  // first record, -1 for an empty non-terminal
	cname  int32  // first CNAME record, or -1
	amode  int32  // first HTTPS or SVCB record in AliasMode (RFC 9460 section 2.4.2), or -1
	target int32  // the node of the alias record's target (see aliasRec), or -1 when it has none
	dname  int32  // first DNAME record, or -1
	flags  uint16
}

const (
	fApex      uint16 = 1 << iota // a zone's origin
	fCut                          // owns NS and is not an apex: a delegation
	fCNAME                        // owns a CNAME
	fAddr                         // owns A or AAAA
	fWildChild                    // *.name exists (see index.wild)
	fTarget                       // an alias record (or a DNAME substitution after one) points here
	fMultiple                     // owns more than one CNAME record
	fBelowCut                     // below a delegation
	fAliasMode                    // owns an HTTPS or SVCB record in AliasMode
	fRefers                       // owns a record that names another: CNAME, DNAME, MX, SRV, NS, AliasMode
)

// aliasRec is the record that makes the node an alias: its first CNAME, else its first AliasMode
// record; or -1.
func (nd *node) aliasRec() int32 {
	if nd.cname >= 0 {
		return nd.cname
	}
	return nd.amode
}

// newIndex indexes zones; it returns nil when st says to stop.
func newIndex(zones []Zone, st *stopper) *index {
	if st.stopped() {
		return nil
	}
	n := 0
	for _, z := range zones {
		n += len(z.Records)
	}
	ix := &index{zoneSet: map[string]bool{}, partial: map[string]bool{}, ids: newNameTable(n + n/8 + 64), wild: map[int32]int32{},
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
		if z.Partial {
			ix.partial[origin] = true
		}
	}
	for _, origin := range ix.zones {
		ix.node(origin, origin)
		id, _ := ix.ids.get(ix.nodes, origin)
		ix.nodes[id].flags |= fApex
	}
	ix.next = make([]int32, len(ix.recs))
	// Backwards, so that each node's list, built by pushing at its head, runs in zone order.
	end := len(ix.recs)
	for zi, zone := range slices.Backward(zones) {
		origin := ix.zones[zi]
		start := end - len(zone.Records)
		for i := end - 1; i >= start; i-- {
			if st.stopped() {
				return nil
			}
			h := ix.recs[i].Header()
			name := canonical(h.Name)
			if !isSub(name, origin) {
				ix.next[i] = -1
				continue // out-of-zone data
			}
			id := ix.node(name, origin)
			nd := &ix.nodes[id]
			ix.next[i], nd.first = nd.first, i32(i)
			switch h.Rrtype {
			case dns.TypeCNAME, dns.TypeDNAME, dns.TypeMX, dns.TypeSRV, dns.TypeNS, dns.TypeHTTPS, dns.TypeSVCB:
				nd.flags |= fRefers
			}
			switch h.Rrtype {
			case dns.TypeCNAME:
				if nd.cname >= 0 {
					nd.flags |= fMultiple
				}
				nd.flags |= fCNAME
				nd.cname = i32(i)
			case dns.TypeDNAME:
				nd.dname = i32(i)
				ix.dnames = true
			case dns.TypeA, dns.TypeAAAA:
				nd.flags |= fAddr
			case dns.TypeHTTPS, dns.TypeSVCB:
				if _, ok := chain.Target(ix.recs[i]); ok {
					nd.flags |= fAliasMode
					nd.amode = i32(i)
				}
			case dns.TypeNS:
				if !ix.zoneSet[name] {
					nd.flags |= fCut
				}
			}
		}
		end = start
	}
	for id := range ix.nodes {
		if st.stopped() {
			return nil
		}
		nd := &ix.nodes[id]
		if p := nd.parent; p >= 0 && nd.flags&fApex == 0 && ix.nodes[p].flags&(fCut|fBelowCut) != 0 {
			nd.flags |= fBelowCut // parents come before their children
		}
		if a := nd.aliasRec(); a >= 0 { // an alias's target is no chain's head
			target, _ := chain.Target(ix.recs[a])
			if nd.target = ix.markTarget(canonical(target)); nd.target < 0 {
				ix.outside++ // a name with no node: the chains walk it as a virtual one
			}
		}
	}
	return ix
}

// node returns the node of name (lower-case, in the zone origin), adding it, and the empty
// non-terminals between it and the closest name that has a node, when new.
func (ix *index) node(name, origin string) int32 {
	if id, ok := ix.ids.get(ix.nodes, name); ok {
		return id
	}
	p := int32(-1)
	if name != origin {
		p = ix.node(parent(name), origin)
	}
	id := i32(len(ix.nodes))
	ix.nodes = append(ix.nodes, node{name: name, parent: p, first: -1, cname: -1, amode: -1, target: -1, dname: -1})
	ix.ids.put(ix.nodes, name, id)
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
		id, ok := ix.ids.get(ix.nodes, name)
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

// i32 is n as an index or count of the rules' tables, which hold int32s to halve their memory: a
// zone that fits in memory has far fewer than 2^31 records, lines or names.
func i32(n int) int32 {
	if n < 0 || n > math.MaxInt32 {
		panic("plugin/rules: an index beyond 2^31")
	}
	return int32(n)
}
