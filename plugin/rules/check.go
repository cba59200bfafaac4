package rules

// Check and Run: the pass over every name of the zones, and the order of the findings.

import (
	"cmp"
	"context"
	"slices"
	"sort"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// Check runs every rule over zones (checked together, so that loops and targets across them are
// seen) and returns the findings, ordered by owner name, rule, message and record.
func Check(ctx context.Context, zones []Zone, cfg Config) []Finding {
	return Run(ctx, zones, cfg).Findings
}

// Run is Check, and says what it could not check.
func Run(ctx context.Context, zones []Zone, cfg Config) Result {
	if cfg.MaxChain == 0 {
		cfg.MaxChain = 10
	}
	if cfg.Suffixes == nil {
		cfg.Suffixes = DefaultSuffixes
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	c := &checker{cfg: cfg, ctx: ctx, unchecked: map[string]bool{}, targets: newTargets(cfg.Targets)}
	if cfg.Oracle != nil {
		c.ask = newAsker(ctx, cfg.Oracle)
	}
	for _, z := range zones {
		for _, f := range z.Problems {
			c.add(f)
		}
	}
	st := &stopper{ctx: ctx, done: ctx.Err() != nil}
	if c.ix = newIndex(zones, st); c.ix != nil {
		c.chains = newChains(c.ix, st)
	}
	for id := 0; c.chains != nil && id < len(c.ix.nodes) && !st.stopped(); id++ {
		c.node(int32(id))
	}
	for _, owner := range c.chains.loopOwners() {
		if owner >= 0 && !st.stopped() {
			names, recs := c.chains.names(owner)
			at := slices.Index(names, names[len(names)-1])
			c.add(aliasWording(LoopFinding(names[at:], recs[len(recs)-1].String()), recs[at:]))
		}
	}
	c.runTasks()
	res := Result{Incomplete: ctx.Err() != nil}
	if cfg.Outside != nil && c.ix != nil && !st.stopped() {
		res.Outside = c.outsideReferences(cfg.Outside)
	}

	var out []Finding
	for _, s := range c.slots {
		if s.task != nil {
			out = append(out, s.found...)
		} else {
			out = append(out, s.f)
		}
	}
	// By owner and rule, then message and record: the order of the findings does not follow the
	// order of the zones' records, which a server's zone plugin gives as its map of types and the
	// audit reads in memory order.
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Owner, b.Owner), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Message, b.Message), cmp.Compare(a.Record, b.Record))
	})
	c.locate(zones, out)
	res.Findings = out
	if c.ask != nil {
		res.Lookups = len(c.ask.calls)
		res.Failed = c.ask.failures()
		c.owners(zones, res.Failed)
		for _, name := range c.ask.notAsked() {
			c.unchecked[name] = true
		}
	}
	for name := range c.unchecked {
		res.Unchecked = append(res.Unchecked, name)
	}
	slices.Sort(res.Unchecked)
	return res
}

type checker struct {
	ix        *index
	chains    *chains
	cfg       Config
	ctx       context.Context
	ask       *asker
	slots     []slot
	unchecked map[string]bool
	targets   map[string]bool // the zones of Config.Targets, lower-case; nil when there is no limit
}

// slot is one finding, or a check that needs the Oracle (run later, many at a time), in the order
// they were met.
type slot struct {
	f     Finding
	task  func() []Finding
	found []Finding
}

func (c *checker) add(f Finding) { c.slots = append(c.slots, slot{f: f}) }

// later queues a check that asks the Oracle.
func (c *checker) later(task func() []Finding) { c.slots = append(c.slots, slot{task: task}) }

// outside queues task, a check that asks the Oracle about name, a name outside the zones; without
// an Oracle, name is one the checks could not ask about.
func (c *checker) outside(name string, task func() []Finding) {
	if c.ask == nil {
		c.unchecked[name] = true
		return
	}
	c.later(task)
}

// node runs the rules for one name.
func (c *checker) node(id int32) {
	nd := &c.ix.nodes[id]
	if nd.first < 0 {
		return
	}
	c.pointers(id)
	if nd.flags&(fCut|fApex) != 0 && nd.flags&fBelowCut == 0 && c.cfg.Prober != nil {
		c.delegation(id)
	}
	a := nd.aliasRec()
	if a < 0 {
		return
	}
	if nd.flags&fTarget == 0 && c.chains.loop[id] < 0 {
		c.head(id)
	}
	rr := c.ix.recs[a]
	if cn, ok := rr.(*dns.CNAME); ok {
		c.siblings(id, cn)
		c.relative(id, rr, cn.Target)
		c.email(nd.name, cn)
		return
	}
	target, _ := chain.Target(rr)
	c.relative(id, rr, target) // an AliasMode record: other data may sit beside it, at an apex too
}

// locate gives each finding the position of the record it is about, when its zone was read from
// text: the record it quotes among its owner's, else its owner's first. Findings are few; each
// costs a look at its owner's records.
func (c *checker) locate(zones []Zone, fs []Finding) {
	if c.ix == nil {
		return
	}
	var starts []int // each zone's first record in the index
	at := 0
	for _, z := range zones {
		starts = append(starts, at)
		at += len(z.Records)
	}
	position := func(i int32) (Position, bool) {
		k := sort.Search(len(starts), func(k int) bool { return starts[k] > int(i) }) - 1
		if k < 0 || len(zones[k].Positions) != len(zones[k].Records) {
			return Position{}, false
		}
		return zones[k].Positions[int(i)-starts[k]], true
	}
	for j := range fs {
		f := &fs[j]
		if f.File != "" {
			continue
		}
		id, ok := c.ix.ids.get(c.ix.nodes, canonical(f.Owner))
		if !ok {
			continue
		}
		first := c.ix.nodes[id].first
		for i := first; i >= 0; i = c.ix.next[i] {
			if f.Record != "" && c.ix.recs[i].String() == f.Record {
				first = i
				break
			}
		}
		if first < 0 {
			continue
		}
		if p, ok := position(first); ok {
			f.File, f.Line = p.File, p.Line
		}
	}
}

// owners gives each failure a name of the zones whose record names it (the first, in the index's
// order), and that record's position; a failure about a name no record names (the registrable
// domain of a target, asked whether it exists) gets a record that names a name below it. Passes
// over the records that name others, made only when something failed.
func (c *checker) owners(zones []Zone, fs []Failure) {
	if c.ix == nil || len(fs) == 0 {
		return
	}
	for _, below := range []bool{false, true} {
		want := make(map[string][]int, len(fs))
		for i, f := range fs {
			if f.Owner == "" {
				want[canonical(f.Name)] = append(want[canonical(f.Name)], i)
			}
		}
		if len(want) == 0 {
			return
		}
		for id := range c.ix.nodes {
			nd := &c.ix.nodes[id]
			if nd.flags&fRefers == 0 {
				continue
			}
			for i := nd.first; i >= 0; i = c.ix.next[i] {
				target := canonical(named(c.ix.recs[i]))
				if target == "" {
					continue
				}
				names := []string{target}
				if below { // the names above the target, each looked up
					names = names[:0]
					for n := target; ; {
						if _, ok := want[n]; ok {
							names = append(names, n)
						}
						i, end := dns.NextLabel(n, 0)
						if end || n == "." {
							break
						}
						n = n[i:]
						if n == "" {
							n = "."
						}
					}
				}
				for _, name := range names {
					for _, j := range want[name] {
						fs[j].Owner = nd.name
						loc := []Finding{{Owner: nd.name, Record: c.ix.recs[i].String()}}
						c.locate(zones, loc)
						fs[j].File, fs[j].Line = loc[0].File, loc[0].Line
					}
					delete(want, name)
				}
			}
		}
	}
}

// named is the name a record names: its alias target, exchange, service target, name server or
// DNAME target; "" for another record.
func named(rr dns.RR) string {
	switch rr := rr.(type) {
	case *dns.MX:
		return rr.Mx
	case *dns.SRV:
		return rr.Target
	case *dns.NS:
		return rr.Ns
	case *dns.DNAME:
		return rr.Target
	}
	t, _ := chain.Target(rr)
	return t
}
