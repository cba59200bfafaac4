package rules

// Questions to the index: where a name is, whether it exists, its records, where its chain goes
// next.

import (
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// step is one hop of a chain from name (lower-case): through the DNAME of an ancestor (which
// takes precedence over any data at name, RFC 6672 section 3.2), else through name's CNAME, else
// through its AliasMode HTTPS or SVCB record. It returns the next name, lower-case, the record that
// leads there, and whether there is one.
func (ix *index) step(name string) (string, dns.RR, bool) {
	if next, d, ok := ix.dnameStep(name); ok {
		return next, d, true
	}
	id, ok := ix.find(name)
	if !ok {
		return "", nil, false
	}
	a := ix.nodes[id].aliasRec()
	if a < 0 {
		return "", nil, false
	}
	target, _ := chain.Target(ix.recs[a])
	return dns.CanonicalName(target), ix.recs[a], true
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
	if id, ok := ix.ids.get(ix.nodes, name); ok {
		return ix.nodes[id].flags&(fCut|fBelowCut) == 0
	}
	zone := ix.zoneOf(name)
	if zone == "" {
		return false
	}
	for n := name; n != zone && n != ""; n = parent(n) {
		if id, ok := ix.ids.get(ix.nodes, n); ok && ix.nodes[id].flags&fCut != 0 {
			return false
		}
	}
	return true
}

// find returns the node that answers for name: its own (perhaps an empty non-terminal), or the
// wildcard at its closest encloser (RFC 4592).
func (ix *index) find(name string) (int32, bool) {
	if id, ok := ix.ids.get(ix.nodes, name); ok {
		return id, true
	}
	zone := ix.zoneOf(name)
	if zone == "" {
		return -1, false
	}
	for n := parent(name); n != ""; n = parent(n) {
		if id, ok := ix.ids.get(ix.nodes, n); ok {
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

// unknown reports whether the zones given cannot say what name holds: it is in a Partial zone, and
// at no node of it (nor covered by a wildcard).
func (ix *index) unknown(name string) bool {
	if len(ix.partial) == 0 {
		return false
	}
	zone := ix.zoneOf(name)
	return zone != "" && ix.partial[zone] && !ix.exists(name)
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
		if id, ok := ix.ids.get(ix.nodes, n); ok && ix.nodes[id].dname >= 0 {
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
