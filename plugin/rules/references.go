package rules

// The reverse map of the zones: for each name, the names whose resolution reaches it, through
// CNAME, AliasMode and DNAME records and declared aliases, or that name it as a mail exchange,
// service target or name server. The deprovisioning guard (cnamelint -points-at) reads it, and the
// server may, before a target goes away.

import (
	"cmp"
	"context"
	"slices"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// Reference is one name that reaches a target: Owner (lower-case), how (Kind: "cname",
// "alias-mode", "dname", "alias" for a declared alias, "mx", "srv" or "ns") and the names from
// Owner to the target (Path, Owner first, lower-case).
type Reference struct {
	Owner string
	Kind  string
	Path  []string
}

// Reference kinds.
const (
	RefCNAME     = "cname"
	RefAliasMode = "alias-mode"
	RefDNAME     = "dname"
	RefAlias     = "alias"
	RefMX        = "mx"
	RefSRV       = "srv"
	RefNS        = "ns"
)

// References returns, keyed by lower-case target name, the references to it in zones and in
// aliases (declared aliases, name to target, as the flatten plugin's alias lines give them).
// Every record's own target is referenced by its owner (a DNAME's target by the DNAME's owner:
// the names below that target are reached through it). The head of a chain (a name no alias
// record points at), a declared alias, and an MX, SRV or NS record also reference every name
// further down the chain from their target, with the whole path; so the names that reach a name
// T are the owners of References[T] and the names before T on their paths. The work is linear in
// the records and the lengths of the heads' chains; the paths of one head share their storage.
func References(zones []Zone, aliases map[string]string) map[string][]Reference {
	refs := map[string][]Reference{}
	var own []string // the owner's path: one array for all of its references
	newIndex(zones, &stopper{ctx: context.Background()}).references(aliases, func(path []string, i int, owner, kind string) {
		if i == 2 {
			own = slices.Clone(path)
		}
		refs[path[i-1]] = append(refs[path[i-1]], Reference{Owner: owner, Kind: kind, Path: own[:i:i]})
	})
	for _, rs := range refs {
		slices.SortStableFunc(rs, func(a, b Reference) int {
			return cmp.Or(cmp.Compare(a.Owner, b.Owner), cmp.Compare(a.Kind, b.Kind), cmp.Compare(len(a.Path), len(b.Path)))
		})
	}
	return refs
}

// outsideReferences counts, for every name outside the zones, the references to it (as References
// gives them), from the chains already walked: a name outside the zones owns nothing here, so it
// can only be the last name of a reference's path, the end of its target's chain when the
// reference follows the chain (a chain's head, an MX, SRV or NS target, a declared alias), else the
// target itself. The counts are by the zone of the name that refers (its owner).
func (c *checker) outsideReferences(aliases map[string]string) map[string]map[string]int {
	ix := c.ix
	counts := map[string]map[string]int{}
	// id is the target's node when the index holds it (an alias record's target), else -1.
	count := func(owner, target string, far, ownerAlias bool, id int32) {
		name := canonical(target)
		switch {
		case far && ownerAlias:
			// An owner that is an alias too (beside other data, an error of its own) may be on
			// its target's chain, where References' walk stops: walk it as References does.
			path := []string{owner, name}
			for {
				next, _, ok := ix.step(path[len(path)-1])
				if !ok || slices.Contains(path, next) {
					break
				}
				path = append(path, next)
			}
			name = path[len(path)-1]
		case far:
			if id < 0 { // else the target's node, which the index found as it was built
				id = c.chains.id(name)
			}
			c.chains.walk(id)
			if c.chains.loop[id] >= 0 {
				return // a loop: every name on it is the zones'
			}
			name = c.chains.name(c.chains.end[id])
		}
		if ix.zoneOf(name) == "" {
			zone := ix.zoneOf(owner)
			if counts[name] == nil {
				counts[name] = map[string]int{}
			}
			counts[name][zone]++
		}
	}
	ix.recordReferences(func(nd *node, target, _ string, far, headAlias, alias bool) {
		switch {
		case alias && nd.target >= 0 && headAlias:
			count(nd.name, target, far, false, nd.target)
		case alias && nd.target >= 0 && !far:
			// A hop inside the zones: its target is a name of theirs, never an outside one.
		default:
			count(nd.name, target, far, !headAlias && nd.aliasRec() >= 0, -1)
		}
	})
	for name, target := range aliases {
		count(canonical(name), target, true, true, -1)
	}
	return counts
}

// recordReferences calls ref for every record of the zones of ix that names another name: its
// owner's node, the target as written, the kind of reference, whether the reference follows the
// target's chain (far), and whether the record is the alias record of a chain's head (a name no
// alias record points at), whose reference follows the chain all the way; and whether the record is
// the owner's alias record (see node.aliasRec), whose target's node is nd.target.
func (ix *index) recordReferences(ref func(nd *node, target, kind string, far, headAlias, alias bool)) {
	for id := range ix.nodes {
		nd := &ix.nodes[id]
		if nd.flags&fRefers == 0 {
			continue
		}
		head := nd.flags&fTarget == 0
		aliasWalked := false
		ix.records(int32(id), func(rr dns.RR) {
			target, kind, far := refTarget(rr)
			if target == "" || target == "." {
				return
			}
			alias := (kind == RefCNAME || kind == RefAliasMode) && !aliasWalked && ix.recs[nd.aliasRec()] == rr
			headAlias := alias && head
			if alias {
				aliasWalked = true
			}
			if headAlias {
				far = true
			}
			ref(nd, target, kind, far, headAlias, alias)
		})
	}
}

// refTarget is the name rr refers to, the kind of reference, and whether a reference of that kind
// follows the target's chain (MX, SRV, NS: their host must have addresses at the chain's end);
// "" for a record that refers to nothing.
func refTarget(rr dns.RR) (target, kind string, far bool) {
	switch rr := rr.(type) {
	case *dns.CNAME:
		return rr.Target, RefCNAME, false
	case *dns.HTTPS, *dns.SVCB:
		t, ok := chain.Target(rr)
		if !ok {
			return "", "", false
		}
		return t, RefAliasMode, false
	case *dns.DNAME:
		return rr.Target, RefDNAME, false
	case *dns.MX:
		return rr.Mx, RefMX, true
	case *dns.SRV:
		return rr.Target, RefSRV, true
	case *dns.NS:
		return rr.Ns, RefNS, true
	}
	return "", "", false
}

// references calls add for every reference of the zones of ix and of aliases: path is the walk
// from the reference's owner (path[0]), and the reference is to path[i-1] with the path path[:i].
// path is reused after add returns for another owner's walk: add copies what it keeps.
func (ix *index) references(aliases map[string]string, add func(path []string, i int, owner, kind string)) {
	var buf []string
	// walk adds owner's reference to first and, when far, to every name after it on its chain.
	walk := func(owner, kind, first string, far bool) {
		buf = append(buf[:0], owner, first)
		if far {
			// A name seen before on the path ends the walk: a loop. Paths are short, so the path
			// itself is searched; a long one gets a map (no walk allocates otherwise).
			var seen map[string]bool
			for name := first; ; name = buf[len(buf)-1] {
				next, _, ok := ix.step(name)
				if !ok {
					break
				}
				if seen == nil && len(buf) >= 32 {
					seen = make(map[string]bool, 2*len(buf))
					for _, n := range buf {
						seen[n] = true
					}
				}
				if seen != nil && seen[next] || seen == nil && slices.Contains(buf, next) {
					break
				}
				if seen != nil {
					seen[next] = true
				}
				buf = append(buf, next)
			}
		}
		path := slices.Clip(buf)
		for i := 2; i <= len(path); i++ {
			add(path, i, owner, kind)
		}
	}
	ix.recordReferences(func(nd *node, target, kind string, far, _, _ bool) {
		walk(nd.name, kind, dns.CanonicalName(target), far)
	})
	for name, target := range aliases {
		walk(dns.CanonicalName(name), RefAlias, dns.CanonicalName(target), true)
	}
}
