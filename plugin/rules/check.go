package rules

// Check and Run: the pass over every name of the zones, and the order of the findings.

import (
	"context"
	"slices"
	"sort"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// Check runs every rule over zones (checked together, so that loops and targets across them are
// seen) and returns the findings, ordered by owner name and rule.
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
		res.Outside = c.ix.outsideReferences(cfg.Outside)
	}

	var out []Finding
	for _, s := range c.slots {
		if s.task != nil {
			out = append(out, s.found...)
		} else {
			out = append(out, s.f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Owner != out[j].Owner {
			return out[i].Owner < out[j].Owner
		}
		return out[i].Rule < out[j].Rule
	})
	res.Findings = out
	for name := range c.unchecked {
		res.Unchecked = append(res.Unchecked, name)
	}
	slices.Sort(res.Unchecked)
	if c.ask != nil {
		res.Lookups = len(c.ask.calls)
	}
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
