package main

// The deprovisioning guard (-points-at NAME): every name whose resolution reaches NAME, or that
// names it as a mail exchange, service target or name server, before NAME goes away.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// referrer is one name that reaches the target.
type referrer struct {
	File  string   `json:"file,omitempty"`
	Owner string   `json:"owner"`
	Kind  string   `json:"kind"`
	Path  []string `json:"path"`
}

// referrers returns the names that reach target in the zones and the declared aliases, each once
// with its shortest path, ordered by name: the references to target, the names on their paths
// before it, and the names below a DNAME that maps them to target.
func referrers(target string, zones []rules.Zone, aliases map[string]string) []referrer {
	t := dns.CanonicalName(target)
	refs := rules.References(zones, aliases)
	// kind is the kind of the hop from a to b: its record's, or a DNAME substitution's.
	kind := func(a, b string) string {
		for _, r := range refs[b] {
			if r.Owner == a && len(r.Path) == 2 {
				return r.Kind
			}
		}
		return rules.RefDNAME
	}
	best := map[string]referrer{}
	add := func(r referrer) {
		if old, ok := best[r.Owner]; !ok || len(r.Path) < len(old.Path) {
			best[r.Owner] = r
		}
	}
	for _, r := range refs[t] {
		for i := range len(r.Path) - 1 {
			k := r.Kind
			if i > 0 {
				k = kind(r.Path[i], r.Path[i+1])
			}
			add(referrer{Owner: r.Path[i], Kind: k, Path: r.Path[i:]})
		}
	}
	// A DNAME whose target is above t maps a name below its owner to t.
	for a := t; a != "."; {
		_, a, _ = strings.Cut(a, ".")
		if a == "" {
			a = "."
		}
		for _, r := range refs[a] {
			if r.Kind != rules.RefDNAME || len(r.Path) != 2 {
				continue
			}
			prefix := strings.TrimSuffix(t, a)
			if a == "." {
				prefix = t
			}
			owner := prefix + r.Owner
			if r.Owner == "." {
				owner = prefix
			}
			add(referrer{Owner: owner, Kind: rules.RefDNAME, Path: []string{owner, t}})
		}
	}
	out := make([]referrer, 0, len(best))
	for _, r := range best {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b referrer) int { return cmp.Compare(a.Owner, b.Owner) })
	return out
}

// pointsAt prints the names that reach target and returns the exit code: 1 when any does, 0 when
// none does.
func pointsAt(target string, zones []rules.Zone, files []string, aliases map[string]string, asJSON bool, stdout, stderr io.Writer) int {
	rs := referrers(target, zones, aliases)
	for i := range rs {
		rs[i].File = fileOf(rs[i].Owner, zones, files)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // -> in messages stays readable
		if err := enc.Encode(rs); err != nil {
			fmt.Fprintln(stderr, "cnamelint:", err)
			return 2
		}
	} else {
		for _, r := range rs {
			where := r.File
			if where == "" {
				where = "(declared alias)"
			}
			fmt.Fprintf(stdout, "%s: %s %s: %s\n", where, r.Owner, r.Kind, strings.Join(r.Path, " -> "))
		}
		fmt.Fprintf(stdout, "%s is reached by %d name(s) in %d zone(s)\n", dns.CanonicalName(target), len(rs), len(zones))
	}
	if len(rs) > 0 {
		return 1
	}
	return 0
}
