package rules

// The rules at the head of a chain: a chain too long, a target that does not exist.

import (
	"strings"

	"github.com/miekg/dns"
)

// head checks rules 4 and 5 from the head of a chain (a name no alias record points at) that does
// not loop: a chain longer than MaxChain, and a target that does not exist; and that the chain
// stays within the targets allowed.
func (c *checker) head(id int32) {
	if int(c.chains.hops[id]) > c.cfg.MaxChain {
		names, recs := c.chains.names(id)
		c.add(aliasWording(LongChainFinding(names, c.cfg.MaxChain), recs))
	}
	endID := c.chains.end[id]
	if int(endID) < len(c.ix.nodes) {
		return // the chain ends at a name of the zones: it exists (or is below a delegation)
	}
	end := c.chains.name(endID)
	dangling := func() []Finding {
		names, recs := c.chains.names(id)
		return []Finding{aliasWording(DanglingFinding(names, c.ix.recs[c.ix.nodes[id].aliasRec()].String(), c.cfg.Suffixes), recs)}
	}
	switch {
	case c.ix.unknown(end): // in a zone given in part: asked, as a name outside is
		c.outside(end, func() []Finding {
			if m, err := c.ask.lookup(end, dns.TypeA); err != nil || m.Rcode != dns.RcodeNameError {
				return nil
			}
			return dangling()
		})
	case c.ix.authoritative(end):
		if !c.ix.exists(end) {
			c.add(dangling()[0])
		}
	case c.ix.zoneOf(end) != "": // below a delegation: not known here
	case !c.allowed(end):
		names, recs := c.chains.names(id)
		c.add(aliasWording(c.notAllowed(names, c.ix.recs[c.ix.nodes[id].aliasRec()].String()), recs))
	default:
		c.outside(end, func() []Finding {
			m, err := c.ask.lookup(end, dns.TypeA)
			if err != nil || m.Rcode != dns.RcodeNameError {
				return nil // it exists, or the answer is not known
			}
			if reg := c.unregistered(end); reg != "" {
				names, recs := c.chains.names(id)
				f := unregisteredFinding(names[0], c.ix.recs[c.ix.nodes[id].aliasRec()].String(), "CNAME chain end", end, reg,
					"controls what "+names[0]+" resolves to: "+strings.Join(names, " -> "))
				return []Finding{aliasWording(f, recs)}
			}
			return dangling()
		})
	}
}
