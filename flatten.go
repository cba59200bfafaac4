package flatten

import (
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// chain is the state of one CNAME chain walk. It starts at the question's name and grows by one
// name for every CNAME followed, across as many answers and lookups as the walk needs. The handler
// carries it in the context of its own lookups so that a lookup re-entering this server can tell a
// loop (a name already on the chain) from a new question.
type chain struct {
	// names holds the canonical (lower-case) names on the chain in the order they were reached;
	// names[0] is the question's name.
	names []string
	// ttl is the lowest TTL seen on the chain so far: every CNAME followed and the final RRset.
	ttl uint32
	// max is the number of CNAME hops allowed (max_chain).
	max int
}

// newChain starts a chain at qname allowing max CNAME hops.
func newChain(qname string, max int) *chain {
	names := make([]string, 1, max+1)
	names[0] = strings.ToLower(qname)
	return &chain{names: names, ttl: maxTTL, max: max}
}

// maxTTL is the largest TTL RFC 2181 section 8 allows; anything above it is treated as this.
const maxTTL = 1<<31 - 1

// last returns the name the chain has reached.
func (c *chain) last() string { return c.names[len(c.names)-1] }

// hops returns the number of CNAMEs followed so far.
func (c *chain) hops() int { return len(c.names) - 1 }

func (c *chain) has(name string) bool {
	for _, n := range c.names {
		if n == name {
			return true
		}
	}
	return false
}

func (c *chain) lower(ttl uint32) {
	if ttl < c.ttl {
		c.ttl = ttl
	}
}

// follow walks the chain through the records in answer, starting at the name the chain has reached.
// It returns the RRset of type qtype owned by the final name when answer holds it. It returns
// (nil, nil) when the chain ends, in this answer, at a name without records of type qtype and
// without a CNAME: the caller decides from the rest of the message whether that name is dangling,
// has no data of this type, or needs a lookup of its own.
//
// Only records on the chain are looked at: anything else an upstream put in the answer is ignored.
// Owner names compare case-insensitively (RFC 4343). A chain that comes back to a name it has
// already seen is a loop; more than c.max CNAMEs is a chain too long; two CNAMEs with different
// targets at one name break RFC 2181 section 10.1 and leave no single answer. Each is a *ChainError.
func (c *chain) follow(answer []dns.RR, qtype uint16) ([]dns.RR, error) {
	for {
		cur := c.last()
		var (
			final    []dns.RR
			target   string
			cnameTTL uint32 = maxTTL
			targets  int
		)
		for _, rr := range answer {
			h := rr.Header()
			if h.Class != dns.ClassINET || !equalFold(h.Name, cur) {
				continue
			}
			if h.Rrtype == qtype {
				final = append(final, rr)
				continue
			}
			if cn, ok := rr.(*dns.CNAME); ok {
				if targets == 0 || !equalFold(cn.Target, target) {
					targets++
				}
				target = cn.Target
				cnameTTL = min(cnameTTL, h.Ttl)
			}
		}
		switch {
		case final != nil:
			for _, rr := range final {
				c.lower(rr.Header().Ttl)
			}
			return final, nil
		case targets > 1:
			return nil, &ChainError{Kind: MultipleCNAME, Names: slices.Clone(c.names)}
		case targets == 0:
			return nil, nil
		}

		next := strings.ToLower(target)
		if c.has(next) {
			return nil, &ChainError{Kind: Loop, Names: append(slices.Clip(c.names), next)}
		}
		if c.hops() >= c.max {
			return nil, &ChainError{Kind: TooLong, Names: append(slices.Clip(c.names), next), Max: c.max}
		}
		c.names = append(c.names, next)
		c.lower(cnameTTL)
	}
}

// extend continues the chain with names, whose first is the name the chain has reached (an entry's
// chain), checking each new name for a loop and the chain's length, and lowers the chain's TTL to
// ttl.
func (c *chain) extend(names []string, ttl uint32) error {
	for _, next := range names[1:] {
		if c.has(next) {
			return &ChainError{Kind: Loop, Names: append(slices.Clip(c.names), next)}
		}
		if c.hops() >= c.max {
			return &ChainError{Kind: TooLong, Names: append(slices.Clip(c.names), next), Max: c.max}
		}
		c.names = append(c.names, next)
	}
	c.lower(ttl)
	return nil
}

// negativeTTL is the TTL of a negative answer that carries no SOA to take one from.
const negativeTTL = 30

// toEntry reads what the answer m, to a question for name and qtype, says about name's chain: how
// far the answer takes it, and how it ends there (RFC 6604: the rcode speaks of the chain's last
// name). The entry's TTL is the lowest on the chain and final RRset; for a negative answer also
// the SOA's TTL and MINIMUM (RFC 2308 section 5). A broken chain in the answer is a *ChainError;
// an answer that says nothing of name is a *LookupError.
func toEntry(name string, qtype uint16, m *dns.Msg, max int) (*entry, error) {
	c := newChain(name, max)
	final, err := c.follow(m.Answer, qtype)
	if err != nil {
		return nil, err
	}
	e := &entry{name: c.names[0], qtype: qtype, names: c.names, signed: hasRRSIG(m.Answer)}
	progressed := c.hops() > 0
	if final == nil {
		// The SOA in a negative answer says how long it may be cached (RFC 2308 section 5), whichever
		// zone it is from: the file plugin puts its own zone's SOA in the answer for a target it
		// chased into another zone.
		e.soa = firstSOA(m.Ns)
	}
	switch {
	case final != nil:
		e.kind, e.final = kindPositive, final
	case m.Rcode == dns.RcodeNameError:
		e.kind = kindNXDOMAIN
	case m.Rcode == dns.RcodeSuccess && (e.soa != nil || !progressed):
		e.kind = kindNODATA
	case !progressed:
		return nil, &LookupError{Name: c.names[0], Qtype: qtype, Rcode: m.Rcode}
	default:
		e.kind = kindContinues
	}
	e.ttl = c.ttl
	if e.kind == kindNXDOMAIN || e.kind == kindNODATA {
		if e.soa != nil {
			e.ttl = min(e.ttl, e.soa.Hdr.Ttl, e.soa.Minttl)
		} else {
			e.ttl = min(e.ttl, negativeTTL)
		}
	}
	return e, nil
}

// synthesize builds the flattened answer to r: the final RRset, owned by the question's name as the
// client spelled it (0x20 mixed case survives), every TTL the lowest on the chain. The records are
// copies: the message they came from may still be held by another plugin or a cache.
func synthesize(r *dns.Msg, final []dns.RR, ttl uint32) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	qname := r.Question[0].Name
	m.Answer = make([]dns.RR, 0, len(final))
	for _, rr := range final {
		cp := dns.Copy(rr)
		cp.Header().Name = qname
		cp.Header().Ttl = ttl
		m.Answer = append(m.Answer, cp)
	}
	m.Answer = dns.Dedup(m.Answer, nil)
	return m
}

// nodata builds the reply for an alias whose target does not exist or has no records of the
// question's type: NOERROR with an empty answer, because the alias name itself exists, and the
// zone's SOA in the authority section for negative caching (RFC 2308 section 2.2). The SOA's TTL is
// the lowest of its own TTL, its MINIMUM field (RFC 2308 section 5) and the chain's TTL, so that a
// resolver comes back no later than the alias itself may change.
func nodata(r *dns.Msg, soa *dns.SOA, ttl uint32) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if soa != nil {
		cp := dns.Copy(soa).(*dns.SOA)
		cp.Hdr.Ttl = min(cp.Hdr.Ttl, cp.Minttl, ttl)
		m.Ns = []dns.RR{cp}
	}
	return m
}

// findSOA returns the first SOA record in rrs whose owner is name or one of its ancestors: the SOA of
// the zone that holds name.
func findSOA(rrs []dns.RR, name string) *dns.SOA {
	for _, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(soa.Hdr.Name, name) {
			return soa
		}
	}
	return nil
}

// firstSOA returns the first SOA record in rrs, or nil.
func firstSOA(rrs []dns.RR) *dns.SOA {
	for _, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa
		}
	}
	return nil
}

// hasRRSIG reports whether rrs holds a signature: the answer comes from a pre-signed zone.
func hasRRSIG(rrs []dns.RR) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeRRSIG {
			return true
		}
	}
	return false
}

// startsChain reports whether the answer to a question for qname holds a CNAME owned by qname: the
// only answers the plugin changes.
func startsChain(m *dns.Msg, qname string) bool {
	for _, rr := range m.Answer {
		h := rr.Header()
		if h.Rrtype == dns.TypeCNAME && equalFold(h.Name, qname) {
			return true
		}
	}
	return false
}
