package flatten

// The state of one CNAME chain walk, and the walk through the records of one answer. Pure.

import (
	"slices"
	"strings"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// maxTTL is the largest TTL RFC 2181 section 8 allows; anything above it is treated as this.
const maxTTL = 1<<31 - 1

// chain is the state of one CNAME chain walk. It starts at the question's name and grows by one
// name for every CNAME followed, across as many answers and lookups as the walk needs.
type chain struct {
	// names holds the canonical (lower-case) names on the chain in the order they were reached;
	// names[0] is the question's name. It starts in buf, so that a short chain walked on the
	// stack allocates nothing.
	names []string
	// ttl is the lowest TTL seen on the chain so far: every CNAME followed and the final RRset.
	ttl uint32
	// max is the number of CNAME hops allowed (max_chain).
	max int
	// allowed, when set, are the only zones the chain may reach: the plugin's zones, the first
	// inZones of them, then the targets option's.
	allowed []string
	inZones int
	// aliasMode is set once the chain has followed an HTTPS/SVCB record in AliasMode.
	aliasMode bool
	buf       [4]string
}

// start starts the chain at qname allowing max CNAME hops.
func (c *chain) start(qname string, max int) {
	c.buf[0] = lowerASCII(qname)
	c.names, c.ttl, c.max = c.buf[:1], maxTTL, max
}

// allows reports whether the chain may reach name.
func (c *chain) allows(name string) bool {
	if c.allowed == nil {
		return true
	}
	for _, z := range c.allowed {
		if inZone(name, z) {
			return true
		}
	}
	return false
}

// newChain returns a chain started at qname allowing max CNAME hops.
func newChain(qname string, max int) *chain {
	c := new(chain)
	c.start(qname, max)
	return c
}

// path returns a copy of the names on the chain, for a result that outlives the walk.
func (c *chain) path() []string { return slices.Clone(c.names) }

// last returns the name the chain has reached.
func (c *chain) last() string { return c.names[len(c.names)-1] }

// hops returns the number of CNAMEs followed so far.
func (c *chain) hops() int { return len(c.names) - 1 }

func (c *chain) lower(ttl uint32) { c.ttl = min(c.ttl, ttl) }

// step adds next to the chain: a name seen before is a loop (RFC 1034 section 3.6.2: "CNAME
// chains should be followed and CNAME loops signalled as an error"), more than max hops a chain
// too long, a name outside the zones allowed (targets) a chain the plugin does not follow.
func (c *chain) step(next string) error {
	if slices.Contains(c.names, next) {
		return &ChainError{Kind: Loop, Names: append(slices.Clip(c.names), next)}
	}
	if c.hops() >= c.max {
		return &ChainError{Kind: TooLong, Names: append(slices.Clip(c.names), next), Max: c.max}
	}
	if !c.allows(next) {
		return &ChainError{Kind: Prohibited, Names: append(slices.Clip(c.names), next), Allowed: c.allowed[c.inZones:]}
	}
	c.names = append(c.names, next)
	return nil
}

// extend continues the chain with names, whose first is the name the chain has reached (an
// entry's chain), and lowers the chain's TTL to ttl.
func (c *chain) extend(names []string, ttl uint32) error {
	for _, next := range names[1:] {
		if err := c.step(next); err != nil {
			return err
		}
	}
	c.lower(ttl)
	return nil
}

// follow walks the chain through the records in answer, from the name the chain has reached. It
// returns the RRset of type qtype owned by the final name
// when answer holds it, else nil: the chain then stops, in this answer, at a name without records
// of type qtype and without a CNAME, and the caller decides from the rest of the message what that
// name is.
//
// Only records on the chain are looked at; anything else an upstream put in the answer is
// ignored. Owner names compare case-insensitively (RFC 4343). A DNAME owned by an ancestor of the
// name reached rewrites it when the answer holds no CNAME for it (RFC 6672 section 2.2; servers
// normally add the synthesized CNAME themselves). Two CNAMEs with different targets at one name
// break RFC 2181 section 10.1 and leave no single answer: like a loop or a chain too long, a
// *ChainError.
func (c *chain) follow(answer []dns.RR, qtype uint16) ([]dns.RR, error) {
	for {
		final, target, ttl, err := c.at(answer, qtype)
		if err != nil || final != nil || target == "" {
			return final, err
		}
		c.lower(ttl) // before the step: a loop's error keeps the TTL of the CNAME that closes it
		if err := c.step(target); err != nil {
			return nil, err
		}
	}
}

// at reads what answer holds for the name the chain has reached: the RRset of type qtype, or the
// one target its CNAME, AliasMode record or enclosing DNAME names, with that record's TTL.
func (c *chain) at(answer []dns.RR, qtype uint16) (final []dns.RR, target string, ttl uint32, err error) {
	cur := c.last()
	ttl = maxTTL
	var (
		targets []string // distinct, as written
		dname   *dns.DNAME
	)
	for _, rr := range answer {
		h := rr.Header()
		if h.Class != dns.ClassINET {
			continue
		}
		if !equalFold(h.Name, cur) {
			if d, ok := rr.(*dns.DNAME); ok && dname == nil && strictlyBelow(cur, d.Hdr.Name) {
				dname = d
			}
			continue
		}
		if h.Rrtype == qtype {
			final = append(final, rr)
			continue
		}
		if target, ok := rules.AliasTarget(rr); ok {
			// A CNAME, or an HTTPS/SVCB record in AliasMode (RFC 9460 2.4.2) when it is not
			// itself the type asked for.
			if !slices.ContainsFunc(targets, func(t string) bool { return equalFold(t, target) }) {
				targets = append(targets, target)
			}
			c.aliasMode = c.aliasMode || h.Rrtype != dns.TypeCNAME
			ttl = min(ttl, h.Ttl)
		}
	}
	switch {
	case final != nil:
		for _, rr := range final {
			c.lower(rr.Header().Ttl)
		}
		return final, "", 0, nil
	case len(targets) > 1:
		return nil, "", 0, &ChainError{Kind: MultipleCNAME, Names: slices.Clone(c.names), Targets: targets}
	case len(targets) == 1:
		return nil, lowerASCII(targets[0]), ttl, nil
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
	return len(name) > len(zone) && inZone(name, zone)
}
