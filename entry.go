package flatten

// What one answer says about one name's chain: how far the answer takes it and how it ends there.
// Entries are what the target cache holds; toEntry reads them from answers. Pure, but for the
// clock.

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin/pkg/response"

	"github.com/miekg/dns"
)

// kind says how an answer ends the chain.
type kind uint8

const (
	// kindPositive: the answer holds the final RRset.
	kindPositive kind = iota
	// kindNXDOMAIN: the chain's last name does not exist (RFC 6604).
	kindNXDOMAIN
	// kindNODATA: the chain's last name exists without records of the type.
	kindNODATA
	// kindContinues: the answer stops at a name whose records it does not hold: a lookup of that
	// name goes on.
	kindContinues
	// kindBroken: the chain in the answer loops, is too long or forks (err says which). A fact
	// about the data: cached like an answer, never served stale.
	kindBroken
)

// entry is what one answer says about one name and type. Entries are never changed once made,
// except for failedAt and refreshing, so that every question can read them without locks.
type entry struct {
	name  string // canonical
	qtype uint16 //
	// scope is the client network the answer holds for (ecs), or none: every client.
	scope netip.Prefix
	names []string // the chain from name; names[0] == name
	final []dns.RR // the final RRset, when positive; never handed out, only copied
	soa   *dns.SOA // the SOA of a negative answer, when it had one
	err   *ChainError
	kind  kind
	// signed is set when the answer carried RRSIGs: it came from a pre-signed zone.
	signed bool
	// aliasMode is set when the chain crossed an HTTPS/SVCB record in AliasMode (RFC 9460 2.4.2).
	aliasMode bool
	// private, with ecs, marks an answer looked up with no client subnet (or a /0 one): the
	// resolver tailored it to this server's own address, so it holds only for clients that sent
	// none, never for a client's network (RFC 7871 7.1.2, 7.3.1).
	private bool
	// ttl is how long the entry is fresh, from stored: the lowest TTL on it, within the ttl bounds.
	ttl    uint32
	stored time.Time
	// failedAt is the time (UnixNano) the last refresh of this entry failed, or 0.
	failedAt atomic.Int64
	// refreshing is set while a background refresh of this entry runs.
	refreshing atomic.Bool
}

// remaining returns the entry's TTL at now; 0 once it has expired.
func (e *entry) remaining(now time.Time) uint32 {
	left := e.stored.Add(time.Duration(e.ttl) * time.Second).Sub(now)
	if left <= 0 {
		return 0
	}
	// Round up, so that a fresh entry never says 0, but never above the TTL it was stored with.
	return min(uint32((left+time.Second-1)/time.Second), e.ttl)
}

func (e *entry) fresh(now time.Time) bool {
	return now.Before(e.stored.Add(time.Duration(e.ttl) * time.Second))
}

// staleUsable reports whether the entry, though expired, may still be served (RFC 8767 section 5).
func (e *entry) staleUsable(now time.Time, maxStale time.Duration) bool {
	return maxStale > 0 && e.kind != kindBroken && now.Before(e.stored.Add(time.Duration(e.ttl)*time.Second+maxStale))
}

// failedRecently reports whether a refresh failed less than wait ago: RFC 8767 section 5 asks not
// to retry more often than that, so stale data is served at once meanwhile.
func (e *entry) failedRecently(now time.Time, wait time.Duration) bool {
	f := e.failedAt.Load()
	return f != 0 && now.Sub(time.Unix(0, f)) < wait
}

// shouldRefresh reports whether the entry is in the last tenth of its life (at least the last
// second): a question for it then starts a refresh, so that a name that is still asked for never
// expires in front of a client.
func (e *entry) shouldRefresh(now time.Time) bool {
	left := e.stored.Add(time.Duration(e.ttl) * time.Second).Sub(now)
	return left <= max(time.Duration(e.ttl)*time.Second/10, time.Second)
}

// negativeTTL is the TTL of a negative answer that carries no SOA to take one from.
const negativeTTL = 30

// errTruncated is a reply with TC set: part of it is missing, so none of it is used.
var errTruncated = errors.New("the reply is truncated (TC)")

// toEntry reads what the answer m, to a question for name and qtype, says about name's chain: how
// far the answer takes it, and how the chain ends there (RFC 6604:
// the rcode speaks of the chain's last name), classified as CoreDNS classifies replies
// (plugin/pkg/response). The entry's TTL is the lowest on the chain and final RRset; for a
// negative answer also the SOA's TTL and MINIMUM (RFC 2308 section 5). An answer that says
// nothing usable of name is a *LookupError; via names who was asked, for its text.
func toEntry(name string, qtype uint16, m *dns.Msg, maxChain int, via string) (*entry, error) {
	if m.Truncated {
		return nil, &LookupError{Name: name, Qtype: qtype, Via: via, Err: errTruncated}
	}
	c := newChain(name, maxChain)
	final, err := c.follow(m.Answer, qtype)
	e := &entry{name: c.names[0], qtype: qtype, signed: hasRRSIG(m.Answer)}
	if ce, ok := err.(*ChainError); ok {
		e.kind, e.err, e.names, e.ttl = kindBroken, ce, ce.Names, c.ttl
		return e, nil
	}
	e.names, e.aliasMode = c.names, c.aliasMode
	if final != nil {
		e.kind, e.final, e.ttl = kindPositive, final, c.ttl
		return e, nil
	}
	progressed := c.hops() > 0
	e.soa = firstSOA(m.Ns)
	// The rest of the reply, past the chain, is about the chain's last name.
	rest, _ := response.Typify(&dns.Msg{MsgHdr: m.MsgHdr, Ns: m.Ns}, time.Now())
	switch {
	case rest == response.NameError:
		e.kind = kindNXDOMAIN
	case rest == response.NoData:
		e.kind = kindNODATA
	case rest == response.Delegation && (!progressed || delegates(m.Ns, c.last(), c.names[0])):
		return nil, &LookupError{Name: c.last(), Qtype: qtype, Cause: Referral, Via: via, Zone: delegation(m.Ns)}
	case progressed:
		// A backend that answered the first CNAME and left the rest (its own zone's NS in the
		// authority section, or an error of its chase): the walk looks the target up itself.
		e.kind = kindContinues
	case rest == response.NoError:
		e.kind = kindNODATA // NOERROR, no answer, no SOA: nothing of the type
	default:
		return nil, &LookupError{Name: name, Qtype: qtype, Cause: Failed, Rcode: m.Rcode, Via: via}
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

// delegates reports whether the NS records in ns, in an answer to a question for owner whose chain
// reached name, are a referral for name: owned by name or one of its ancestors that is not also an
// ancestor of owner (that would be the NS records of the zone that answered the question, which
// backends put in the authority section of a positive answer).
func delegates(ns []dns.RR, name, owner string) bool {
	for _, rr := range ns {
		if h := rr.Header(); h.Rrtype == dns.TypeNS && inZone(name, h.Name) && !inZone(owner, h.Name) {
			return true
		}
	}
	return false
}

// delegation returns the owner of the first NS record in ns.
func delegation(ns []dns.RR) string {
	for _, rr := range ns {
		if rr.Header().Rrtype == dns.TypeNS {
			return lowerASCII(rr.Header().Name)
		}
	}
	return ""
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

// hasRRSIG reports whether rrs holds a signature.
func hasRRSIG(rrs []dns.RR) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeRRSIG {
			return true
		}
	}
	return false
}
