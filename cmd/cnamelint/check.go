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
	// timedOut says the run's time ran out before every check was made.
	timedOut bool
}

// round is one run of the rules: the zones given to it, and those whose findings it reports (the
// others are there so that names in them count as existing).
type round struct {
	zones []int
	own   map[int]bool
}

// rounds splits the zones so that no round holds two of one origin. Round k reports the (k+1)th
// zone of each origin given more than k times; every other origin is in it too, by its first
// zone, for what its names say to the others (reported in the first round). Files with distinct
// origins, the usual case, make one round.
func rounds(zones []rules.Zone) []round {
	order, byOrigin := groupByOrigin(zones)
	n := 0
	for _, idx := range byOrigin {
		n = max(n, len(idx))
	}
	rs := make([]round, n)
	for k := range rs {
		rs[k].own = map[int]bool{}
		for _, o := range order {
			idx := byOrigin[o]
			if k < len(idx) {
				rs[k].zones = append(rs[k].zones, idx[k])
				rs[k].own[idx[k]] = true
			} else {
				rs[k].zones = append(rs[k].zones, idx[0])
			}
		}
		slices.Sort(rs[k].zones)
	}
	return rs
}

// check runs the rules over the zones, round by round, and names each finding's file: where its
// record was written, else the file of the zone that holds its owner.
func check(ctx context.Context, zones []rules.Zone, names []string, cfg rules.Config) outcome {
	var out outcome
	unchecked := map[string]bool{}
	failed := map[string]bool{}
	rs := rounds(zones)
	for k, r := range rs {
		in := make([]rules.Zone, 0, len(r.zones))
		inNames := make([]string, 0, len(r.zones))
		for _, i := range r.zones {
			in, inNames = append(in, zones[i]), append(inNames, names[i])
		}
		// The zone a file's records belong to, when rounds share names: a finding is reported
		// by the round that owns the zone its record was written in.
		var fileZone map[string]int
		if len(rs) > 1 {
			fileZone = filesOf(in)
		}
		reported := func(file, owner string) bool {
			if i, ok := fileZone[file]; ok {
				return r.own[r.zones[i]]
			}
			i := zoneOf(owner, in)
			return i < 0 && k == 0 || i >= 0 && r.own[r.zones[i]]
		}
		res := rules.Run(ctx, in, cfg)
		out.timedOut = out.timedOut || res.Incomplete
		for _, f := range res.Findings {
			if !reported(f.File, f.Owner) {
				continue
			}
			if f.File == "" {
				f.File = fileOf(f.Owner, in, inNames)
			}
			out.findings = append(out.findings, f)
		}
		for _, f := range res.Failed {
			key := f.Name + "/" + f.Type
			if !reported(f.File, f.Owner) || failed[key] {
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

// filesOf maps each file the zones' records were written in ($INCLUDEd ones too) to its zone;
// a file two zones read (one file served under two origins) maps to neither.
func filesOf(zones []rules.Zone) map[string]int {
	m := map[string]int{}
	for i, z := range zones {
		last := ""
		for _, p := range z.Positions {
			if p.File == last {
				continue
			}
			last = p.File
			if j, ok := m[p.File]; ok && j != i {
				m[p.File] = -1
				continue
			}
			m[p.File] = i
		}
	}
	for f, i := range m {
		if i < 0 {
			delete(m, f)
		}
	}
	return m
}

// sameOrigin says which files hold one origin, one note for each such origin.
func sameOrigin(zones []rules.Zone, names []string) []string {
	order, byOrigin := groupByOrigin(zones)
	var notes []string
	for _, o := range order {
		if idx := byOrigin[o]; len(idx) > 1 {
			fs := make([]string, len(idx))
			for i, z := range idx {
				fs[i] = names[z]
			}
			notes = append(notes, fmt.Sprintf("%s and %s hold the same zone, %s: each was checked on its own", strings.Join(fs[:len(fs)-1], ", "), fs[len(fs)-1], o))
		}
	}
	return notes
}

// groupByOrigin returns the zones' origins (lower-case) in the order first given, and for each the
// indexes of its zones.
func groupByOrigin(zones []rules.Zone) (order []string, byOrigin map[string][]int) {
	byOrigin = map[string][]int{}
	for i, z := range zones {
		o := dns.CanonicalName(z.Origin)
		if len(byOrigin[o]) == 0 {
			order = append(order, o)
		}
		byOrigin[o] = append(byOrigin[o], i)
	}
	return order, byOrigin
}
