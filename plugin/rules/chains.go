package rules

// Every chain of the zones walked once: where each name's chain ends, after how many hops, or which
// loop it runs into.

import (
	"slices"

	"github.com/miekg/dns"
)

// chains walks every chain of the zones (CNAME, AliasMode and DNAME hops) once, remembering for each name on a chain where
// its chain ends and after how many hops, or which loop it runs into: a name's chain is never
// walked twice, so the work is linear in the names however long and shared the chains are.
type chains struct {
	ix     *index
	virt   map[string]int32 // names without a node (outside the zones, or made by a wildcard or a DNAME)
	vnames []string
	state  []uint8
	hops   []int32 // on the path being walked: its place on it; done: the hops to the chain's end
	end    []int32 // done: the chain's last name
	loop   []int32 // done: the loop the chain runs into, or -1
	loops  []int32 // per loop, the least owner name (a node) whose chain runs into it
	path   []int32
}

const (
	unseen uint8 = iota
	onPath
	walked
)

// newChains walks every chain of ix; it returns nil when st says to stop.
func newChains(ix *index, st *stopper) *chains {
	n, room := len(ix.nodes), len(ix.nodes)+ix.outside // and the virtual names, so the tables are never copied
	c := &chains{ix: ix, virt: map[string]int32{},
		state: make([]uint8, n, room), hops: make([]int32, n, room), end: make([]int32, n, room), loop: make([]int32, n, room)}
	for id := range ix.nodes {
		if st.stopped() {
			return nil
		}
		if ix.nodes[id].aliasRec() >= 0 {
			c.walk(int32(id))
		}
	}
	for id := range ix.nodes {
		if ix.nodes[id].aliasRec() < 0 || c.loop[id] < 0 {
			continue
		}
		if l := c.loop[id]; c.loops[l] < 0 || ix.nodes[id].name < ix.nodes[c.loops[l]].name {
			c.loops[l] = int32(id)
		}
	}
	return c
}

func (c *chains) name(id int32) string {
	if int(id) < len(c.ix.nodes) {
		return c.ix.nodes[id].name
	}
	return c.vnames[int(id)-len(c.ix.nodes)]
}

func (c *chains) id(name string) int32 {
	if id, ok := c.ix.ids.get(c.ix.nodes, name); ok {
		return id
	}
	if id, ok := c.virt[name]; ok {
		return id
	}
	id := i32(len(c.ix.nodes) + len(c.vnames))
	c.virt[name] = id
	c.vnames = append(c.vnames, name)
	c.state, c.hops, c.end, c.loop = append(c.state, unseen), append(c.hops, 0), append(c.end, 0), append(c.loop, -1)
	return id
}

// walk follows the chain from start until its end, a name walked before, or a name on the path
// (a new loop), and records the outcome for every name on the way.
func (c *chains) walk(start int32) {
	if c.state[start] != unseen {
		return
	}
	path := c.path[:0]
	cur := start
	end, tail, loop := int32(-1), int32(0), int32(-1)
	for {
		switch c.state[cur] {
		case onPath:
			loop = i32(len(c.loops))
			c.loops = append(c.loops, -1)
			at := c.hops[cur]
			for _, p := range path[at:] {
				c.state[p], c.loop[p] = walked, loop
			}
			path = path[:at]
		case walked:
			if c.loop[cur] >= 0 {
				loop = c.loop[cur]
			} else {
				end, tail = c.end[cur], c.hops[cur]
			}
		default:
			c.state[cur], c.hops[cur] = onPath, i32(len(path))
			path = append(path, cur)
			if next, ok := c.next(cur); ok {
				cur = next
				continue
			}
			path = path[:len(path)-1]
			c.state[cur], c.hops[cur], c.end[cur], c.loop[cur] = walked, 0, cur, -1
			end = cur
		}
		break
	}
	for _, p := range slices.Backward(path) {
		c.state[p], c.loop[p] = walked, loop
		if loop < 0 {
			tail++
			c.hops[p], c.end[p] = tail, end
		}
	}
	c.path = path
}

// next is the name after id on its chain.
func (c *chains) next(id int32) (int32, bool) {
	if int(id) < len(c.ix.nodes) && !c.ix.dnames {
		nd := &c.ix.nodes[id]
		switch {
		case nd.aliasRec() < 0:
			return -1, false
		case nd.target >= 0:
			return nd.target, true
		}
	}
	next, _, ok := c.ix.step(c.name(id))
	if !ok {
		return -1, false
	}
	return c.id(next), true
}

// names is the chain from the node id: hops+1 names, or up to and including the first repeated
// name when it loops; recs are the records of the hops, recs[i] leading from names[i] to
// names[i+1].
func (c *chains) names(id int32) (names []string, recs []dns.RR) {
	name := c.ix.nodes[id].name
	names = []string{name}
	seen := map[string]bool{name: true}
	for {
		next, rr, ok := c.ix.step(name)
		if !ok {
			return names, recs
		}
		names, recs = append(names, next), append(recs, rr)
		if seen[next] {
			return names, recs
		}
		seen[next] = true
		name = next
	}
}

// loopOwners are the least owner names (nodes) whose chains run into each loop; none for a nil c.
func (c *chains) loopOwners() []int32 {
	if c == nil {
		return nil
	}
	return c.loops
}

// viaAliasMode reports whether one of recs is an HTTPS or SVCB record (in AliasMode, as every
// such record on a chain is).
func viaAliasMode(recs []dns.RR) bool {
	for _, rr := range recs {
		if t := rr.Header().Rrtype; t == dns.TypeHTTPS || t == dns.TypeSVCB {
			return true
		}
	}
	return false
}
