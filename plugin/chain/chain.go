// Package chain is the pure part of following CNAME chains: the state of one walk, the walk through
// the records of one answer (CNAMEs, DNAMEs, HTTPS/SVCB AliasMode records), what one answer says
// about a chain (Read), and the typed ways a chain ends (Result, *Error, *LookupError). It does no
// I/O and knows nothing of caches, lookups or replies: plugin/target resolves chains with it,
// plugin/reply composes replies from its results, plugin/rules shares its idea of an alias.
package chain

import (
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// MaxTTL is the largest TTL RFC 2181 section 8 allows; anything above it is treated as this.
const MaxTTL = 1<<31 - 1

// Limits bound a walk: the hops allowed (max_chain) and, with the targets option, the zones it may
// reach.
type Limits struct {
	// Max is the number of CNAME hops allowed.
	Max int
	// Allowed, when not nil, are the only zones a chain may reach: the plugin's zones, the first
	// Own of them, then the targets option's.
	Allowed []string
	Own     int
}

// MaxHops bounds Limits.Max: the most CNAME hops a chain may be allowed (max_chain's bound).
const MaxHops = 32

// inlineNames is how many names a Chain holds in itself. A walk of fewer hops, all but the rarest,
// stays on its walker's stack in a frame small enough that the question's goroutine seldom has to
// grow its stack for it (a growth copies every frame below and costs as much as the walk); a longer
// chain moves its names to the heap once.
const inlineNames = 8

// Chain is the state of one CNAME chain walk. It starts at the question's name and grows by one
// name for every CNAME followed, across as many answers and lookups as the walk needs.
type Chain struct {
	// The canonical (lower-case) names on the chain in the order they were reached, the
	// question's first; n are held, in head while they fit, then all of them in more. An array,
	// not a slice into one: a Chain that pointed into itself would escape to the heap, and a walk
	// on its walker's stack allocates nothing.
	head [inlineNames]string
	more []string
	n    int
	// ttl is the lowest TTL seen on the chain so far: every CNAME followed and the final RRset.
	ttl uint32
	lim Limits
	// aliasMode is set once the chain has followed an HTTPS/SVCB record in AliasMode.
	aliasMode bool
}

// New returns a chain started at qname within lim.
func New(qname string, lim Limits) *Chain {
	c := new(Chain)
	c.Start(qname, lim)
	return c
}

// Start starts c at qname within lim (Max at most MaxHops).
func (c *Chain) Start(qname string, lim Limits) {
	lim.Max = min(lim.Max, MaxHops)
	c.head[0], c.more, c.n = Lower(qname), nil, 1
	c.ttl, c.lim, c.aliasMode = MaxTTL, lim, false
}

// Names returns the names on the chain, from the question's; the slice is the chain's own.
func (c *Chain) Names() []string {
	if c.more != nil {
		return c.more[:c.n]
	}
	return c.head[:c.n]
}

// Path returns a copy of the names on the chain, for a result that outlives the walk.
func (c *Chain) Path() []string { return slices.Clone(c.Names()) }

// Last returns the name the chain has reached.
func (c *Chain) Last() string { return c.Names()[c.n-1] }

// Hops returns the number of CNAMEs followed so far.
func (c *Chain) Hops() int { return c.n - 1 }

// TTL returns the lowest TTL on the chain so far.
func (c *Chain) TTL() uint32 { return c.ttl }

// AliasMode reports whether the chain has followed an HTTPS or SVCB record in AliasMode.
func (c *Chain) AliasMode() bool { return c.aliasMode }

// Lower lowers the chain's TTL to ttl.
func (c *Chain) Lower(ttl uint32) { c.ttl = min(c.ttl, ttl) }

// allows reports whether the chain may reach name.
func (c *Chain) allows(name string) bool {
	return c.lim.Allowed == nil || Zones(c.lim.Allowed).Holds(name)
}

// Step adds next to the chain: a name seen before is a loop (RFC 1034 section 3.6.2: "CNAME
// chains should be followed and CNAME loops signalled as an error"), more than Max hops a chain
// too long, a name outside the zones allowed (targets) a chain the plugin does not follow.
func (c *Chain) Step(next string) error {
	if slices.Contains(c.Names(), next) {
		return &Error{Kind: Loop, Names: append(c.Path(), next)}
	}
	if c.Hops() >= c.lim.Max {
		return &Error{Kind: TooLong, Names: append(c.Path(), next), Max: c.lim.Max}
	}
	if !c.allows(next) {
		return &Error{Kind: Prohibited, Names: append(c.Path(), next), Allowed: c.lim.Allowed[c.lim.Own:]}
	}
	switch {
	case c.more != nil:
		c.more = append(c.more, next)
	case c.n < inlineNames:
		c.head[c.n] = next
	default:
		c.more = append(append(make([]string, 0, MaxHops+1), c.head[:]...), next)
	}
	c.n++
	return nil
}

// Extend continues the chain with names, whose first is the name the chain has reached (an
// answer's chain), and lowers the chain's TTL to ttl.
func (c *Chain) Extend(names []string, ttl uint32) error {
	for _, next := range names[1:] {
		if err := c.Step(next); err != nil {
			return err
		}
	}
	c.Lower(ttl)
	return nil
}

// Follow walks the chain through the records in answer, from the name the chain has reached. It
// returns the RRset of type qtype owned by the final name when answer holds it, else nil: the
// chain then stops, in this answer, at a name without records of type qtype and without a CNAME,
// and the caller decides from the rest of the message what that name is.
//
// Only records on the chain are looked at; anything else an upstream put in the answer is
// ignored. Owner names compare case-insensitively (RFC 4343). A DNAME owned by an ancestor of the
// name reached rewrites it when the answer holds no CNAME for it (RFC 6672 section 2.2; servers
// normally add the synthesized CNAME themselves). Two CNAMEs with different targets at one name
// break RFC 2181 section 10.1 and leave no single answer: like a loop or a chain too long, an
// *Error.
func (c *Chain) Follow(answer []dns.RR, qtype uint16) ([]dns.RR, error) {
	final, _, err := c.follow(answer, qtype, "")
	return final, err
}

// follow is Follow that stops, when within is not "", at the first name outside within: the
// answer is not read past it (left reports that it stopped there).
func (c *Chain) follow(answer []dns.RR, qtype uint16, within string) (final []dns.RR, left bool, err error) {
	for {
		final, target, ttl, err := c.at(answer, qtype)
		if err != nil || final != nil || target == "" {
			return final, false, err
		}
		c.Lower(ttl) // before the step: a loop's error keeps the TTL of the CNAME that closes it
		if err := c.Step(target); err != nil {
			return nil, false, err
		}
		if within != "" && !In(target, within) {
			return nil, true, nil
		}
	}
}

// at reads what answer holds for the name the chain has reached: the RRset of type qtype, or the
// one target its CNAME, AliasMode record or enclosing DNAME names, with that record's TTL.
func (c *Chain) at(answer []dns.RR, qtype uint16) (final []dns.RR, target string, ttl uint32, err error) {
	cur := c.Last()
	ttl = MaxTTL
	var (
		targets []string // distinct, as written
		dname   *dns.DNAME
	)
	for _, rr := range answer {
		h := rr.Header()
		if h.Class != dns.ClassINET {
			continue
		}
		if !Equal(h.Name, cur) {
			if d, ok := rr.(*dns.DNAME); ok && dname == nil && strictlyBelow(cur, d.Hdr.Name) {
				dname = d
			}
			continue
		}
		if h.Rrtype == qtype {
			final = append(final, rr)
			continue
		}
		if target, ok := Target(rr); ok {
			// A CNAME, or an HTTPS/SVCB record in AliasMode (RFC 9460 2.4.2) when it is not
			// itself the type asked for.
			if !slices.ContainsFunc(targets, func(t string) bool { return Equal(t, target) }) {
				targets = append(targets, target)
			}
			c.aliasMode = c.aliasMode || h.Rrtype != dns.TypeCNAME
			ttl = min(ttl, h.Ttl)
		}
	}
	switch {
	case final != nil:
		for _, rr := range final {
			c.Lower(rr.Header().Ttl)
		}
		return final, "", 0, nil
	case len(targets) > 1:
		return nil, "", 0, &Error{Kind: Fork, Names: c.Path(), Targets: targets}
	case len(targets) == 1:
		return nil, Lower(targets[0]), ttl, nil
	case dname != nil:
		if name, ok := substitute(cur, dname); ok {
			return nil, name, dname.Hdr.Ttl, nil
		}
	}
	return nil, "", 0, nil
}

// substitute rewrites name below a DNAME's owner to the same name below its target (RFC 6672
// section 2.2), and reports whether the result is a valid name.
func substitute(name string, d *dns.DNAME) (string, bool) {
	out := strings.ToLower(name[:len(name)-len(d.Hdr.Name)] + dns.Fqdn(d.Target))
	_, ok := dns.IsDomainName(out)
	return out, ok && len(out) <= 255
}

// strictlyBelow reports whether name is below zone (and not zone itself).
func strictlyBelow(name, zone string) bool {
	return len(name) > len(zone) && In(name, zone)
}
