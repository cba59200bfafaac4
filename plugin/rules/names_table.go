package rules

// The index's table of names: node ids by name, in open addressing, the names held by the nodes
// themselves. A Go map of strings costs some 30 bytes a name; this costs 16 at most (a table of 8
// bytes a slot kept at most two thirds full), which for a zone of a million names is what lets the
// audit's index fit in a quarter of what the zone costs its server.

import (
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// nameTable maps lower-case names to node ids.
type nameTable struct {
	// slots hold the high half of a name's hash and its id+1 (0 for an empty slot): a name is
	// compared only where its hash's half matches, so a probe seldom reaches the nodes.
	slots []uint64
	n     int
}

func newNameTable(hint int) nameTable {
	size := 16
	for 2*size < 3*hint {
		size <<= 1
	}
	return nameTable{slots: make([]uint64, size)}
}

func tableSlot(h uint64, id int32) uint64 { return h&^0xffffffff | uint64(uint32(id)+1) } // #nosec G115 -- an id is not negative

// hashName is FNV-1a of name, allocating nothing.
func hashName(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(name) {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h
}

// get returns the id of name among nodes.
func (t *nameTable) get(nodes []node, name string) (int32, bool) {
	h := hashName(name)
	mask := uint64(len(t.slots)) - 1 // #nosec G115 -- a length is not negative
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return -1, false
		}
		if s&^0xffffffff == h&^0xffffffff {
			if id := int32(uint32(s) - 1); nodes[id].name == name { // #nosec G115 -- an id+1 below 2^31
				return id, true
			}
		}
	}
}

// put adds name, the name of nodes[id], which the table does not hold.
func (t *nameTable) put(nodes []node, name string, id int32) {
	if 3*(t.n+1) > 2*len(t.slots) { // at most two thirds full: probes stay short
		old := t.slots
		t.slots = make([]uint64, 2*len(old))
		for _, s := range old {
			if s != 0 {
				t.insert(hashName(nodes[uint32(s)-1].name), s) // #nosec G115 -- the low half of a slot is an id+1
			}
		}
	}
	h := hashName(name)
	t.insert(h, tableSlot(h, id))
	t.n++
}

func (t *nameTable) insert(h, s uint64) {
	mask := uint64(len(t.slots)) - 1 // #nosec G115 -- a length is not negative
	i := h & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// canonical is dns.CanonicalName for the owner names the zones give, without its cost on the
// common case: a name that is fully qualified and in lower case already comes back as it is.
func canonical(name string) string {
	if n := len(name); n > 0 && name[n-1] == '.' && (n == 1 || name[n-2] != '\\') {
		return chain.Lower(name)
	}
	return dns.CanonicalName(name)
}
