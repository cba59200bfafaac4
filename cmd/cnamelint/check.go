package main

// The zones checked together, each file as its own zone: files that hold the same origin are
// checked apart, never merged into one zone.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// outcome is what the rules found in all the zones.
type outcome struct {
	findings  []rules.Finding
	failed    []rules.Failure // names the resolver did not answer about
	unchecked int             // outside names left alone: no resolver (offline mode)
	notes     []string        // files of one origin, checked apart
}

// round is one run of the rules: the zones given to it, and those whose findings it reports (the
// others are there so that names in them count as existing).
type round struct {
	zones []int
	own   map[int]bool
}

// rounds splits the zones so that no round holds two of one origin. The first round holds the
// first zone of each origin; each later one the next zone of each origin given more than once,
// with every zone whose origin is given once beside it, reported in the first round only. Files
// with distinct origins, the usual case, make one round.
func rounds(zones []rules.Zone) []round {
	count := map[string]int{}
	for _, z := range zones {
		count[dns.CanonicalName(z.Origin)]++
	}
	var rs []round
	nth := map[string]int{} // the zones of an origin seen so far
	for i, z := range zones {
		o := dns.CanonicalName(z.Origin)
		k := nth[o]
		nth[o]++
		for len(rs) <= k {
			rs = append(rs, round{own: map[int]bool{}})
		}
		rs[k].zones = append(rs[k].zones, i)
		rs[k].own[i] = true
	}
	for r := 1; r < len(rs); r++ {
		for i, z := range zones {
			if count[dns.CanonicalName(z.Origin)] == 1 {
				rs[r].zones = append(rs[r].zones, i)
			}
		}
		slices.Sort(rs[r].zones)
	}
	return rs
}

// check runs the rules over the zones, round by round, and names each finding's file: where its
// record was written, else the file of the zone that holds its owner.
func check(ctx context.Context, zones []rules.Zone, names []string, cfg rules.Config) outcome {
	var out outcome
	unchecked := map[string]bool{}
	failed := map[string]bool{}
	for k, r := range rounds(zones) {
		first := k == 0
		in := make([]rules.Zone, 0, len(r.zones))
		inNames := make([]string, 0, len(r.zones))
		for _, i := range r.zones {
			in, inNames = append(in, zones[i]), append(inNames, names[i])
		}
		// reported says whether this round reports what it found at owner: a name of one of its
		// own zones, or, in the first round, of none.
		reported := func(owner string) bool {
			i := zoneOf(owner, in)
			return i < 0 && first || i >= 0 && r.own[r.zones[i]]
		}
		res := rules.Run(ctx, in, cfg)
		for _, f := range res.Findings {
			if !reported(f.Owner) {
				continue
			}
			if f.File == "" {
				f.File = fileOf(f.Owner, in, inNames)
			}
			out.findings = append(out.findings, f)
		}
		for _, f := range res.Failed {
			key := f.Name + "/" + f.Type
			if !reported(f.Owner) || failed[key] {
				continue
			}
			failed[key] = true
			out.failed = append(out.failed, f)
		}
		for _, n := range res.Unchecked {
			unchecked[n] = true
		}
	}
	out.unchecked = len(unchecked)
	out.notes = sameOrigin(zones, names)
	slices.SortStableFunc(out.findings, func(a, b rules.Finding) int {
		return cmp.Or(cmp.Compare(a.Owner, b.Owner), cmp.Compare(a.Rule, b.Rule))
	})
	slices.SortFunc(out.failed, func(a, b rules.Failure) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type))
	})
	return out
}

// sameOrigin says which files hold one origin, one note for each such origin.
func sameOrigin(zones []rules.Zone, names []string) []string {
	files := map[string][]string{}
	var order []string
	for i, z := range zones {
		o := dns.CanonicalName(z.Origin)
		if len(files[o]) == 0 {
			order = append(order, o)
		}
		files[o] = append(files[o], names[i])
	}
	var notes []string
	for _, o := range order {
		if fs := files[o]; len(fs) > 1 {
			notes = append(notes, fmt.Sprintf("%s and %s hold the same zone, %s: each was checked on its own", strings.Join(fs[:len(fs)-1], ", "), fs[len(fs)-1], o))
		}
	}
	return notes
}
