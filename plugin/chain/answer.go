package chain

// What one answer says about one name's chain: how far the answer takes it and how it ends there.

import (
	"errors"
	"slices"
	"time"

	"github.com/coredns/coredns/plugin/pkg/response"

	"github.com/miekg/dns"
)

// End says how an answer ends the chain.
type End uint8

const (
	// Positive: the answer holds the final RRset.
	Positive End = iota
	// NXDOMAIN: the chain's last name does not exist (RFC 6604).
	NXDOMAIN
	// NODATA: the chain's last name exists without records of the type.
	NODATA
	// Continues: the answer stops at a name whose records it does not hold: a lookup of that name
	// goes on.
	Continues
	// Broken: the chain in the answer loops, is too long or forks (Err says which). A fact about
	// the data: cached like an answer, never served stale.
	Broken
)

// Answer is what one answer says about one name and type. It is never changed once read, so
// that every question can read it without locks.
type Answer struct {
	Name  string // canonical
	Qtype uint16
	Names []string // the chain from Name; Names[0] == Name
	Final []dns.RR // the final RRset, when Positive; shared: copy before changing
	SOA   *dns.SOA // the SOA of a negative answer, when it had one
	Err   *Error   // when Broken
	End   End
	// Signed is set when the answer carried RRSIGs: it came from a pre-signed zone.
	Signed bool
	// AliasMode is set when the chain crossed an HTTPS/SVCB record in AliasMode (RFC 9460 2.4.2).
	AliasMode bool
	// Recursive is set when the answer came from a recursive resolver (RA set, AA clear: forward
	// to one), not from an authoritative source.
	Recursive bool
	// TTL is the lowest TTL on the chain and its end: every CNAME, the final RRset, and for a
	// negative answer the SOA's TTL and MINIMUM (RFC 2308 section 5).
	TTL uint32
}

// Alias reports whether the answer's name is an alias: its chain goes on past it.
func (a *Answer) Alias() bool { return len(a.Names) >= 2 }

// NegativeTTL is the TTL of a negative answer that carries no SOA to take one from.
const NegativeTTL = 30

// ErrTruncated is a reply with TC set: part of it is missing, so none of it is used.
var ErrTruncated = errors.New("the reply is truncated (TC)")

// From says where an answer came from, as far as reading it goes.
type From struct {
	// MaxChain is the number of CNAME hops allowed.
	MaxChain int
	// Via names who answered when it was not this server (a resolver's address), for errors.
	Via string
	// Zone, when not "", is the zone an authoritative answer speaks for; Size is the buffer of the
	// question it answered (the client's, or the plugin's own), in bytes. Past that zone the answer
	// holds what its backend chased through the server (CoreDNS's file, kubernetes and others do,
	// through its upstream), which CoreDNS cut to Size without telling the backend, and the backend
	// merged without a TC bit. That part is used only when it fits Size with room for one record
	// more, so that it cannot have been cut, and ends in records; else the answer is read as far as
	// Zone, and ends there (Continues), for the rest to be looked up name by name.
	Zone string
	Size int
}

// Read reads what the answer m, to a question for name and qtype, says about name's chain: how far
// the answer takes it, and how the chain ends there (RFC 6604: the rcode speaks of the chain's last
// name), classified as CoreDNS classifies replies (plugin/pkg/response). An answer that says
// nothing usable of name is a *LookupError. See From for an answer read only in part.
func Read(name string, qtype uint16, m *dns.Msg, from From) (Answer, error) {
	via := from.Via
	if m.Truncated {
		return Answer{}, &LookupError{Name: name, Qtype: qtype, Via: via, Err: ErrTruncated}
	}
	c := New(name, Limits{Max: from.MaxChain})
	final, left, err := c.follow(m.Answer, qtype, "")
	if from.Zone != "" && err == nil && !chased(c, final, m.Answer, from.Zone, from.Size) {
		c.Start(name, Limits{Max: from.MaxChain})
		final, left, err = c.follow(m.Answer, qtype, from.Zone)
	}
	a := Answer{Name: c.head[0], Qtype: qtype, Signed: hasRRSIG(m.Answer), Recursive: m.RecursionAvailable && !m.Authoritative}
	if ce, ok := err.(*Error); ok {
		a.End, a.Err, a.Names, a.TTL = Broken, ce, ce.Names, c.ttl
		return a, nil
	}
	a.Names, a.AliasMode = c.Path(), c.aliasMode
	if final != nil {
		a.End, a.Final, a.TTL = Positive, final, c.ttl
		return a, nil
	}
	if left {
		// The rest of the reply speaks of the chain's last name in the answer, not of this one.
		a.End, a.TTL = Continues, c.ttl
		return a, nil
	}
	progressed := c.Hops() > 0
	a.SOA = FirstSOA(m.Ns)
	// The rest of the reply, past the chain, is about the chain's last name.
	rest, _ := response.Typify(&dns.Msg{MsgHdr: m.MsgHdr, Ns: m.Ns}, time.Now())
	switch {
	case rest == response.NameError:
		a.End = NXDOMAIN
	case rest == response.NoData:
		a.End = NODATA
	case rest == response.Delegation && (!progressed || via != "" && delegates(m.Ns, c.Last(), c.head[0])):
		// A referral from a resolver is not an answer. The block's own plugins refer a CNAME's
		// target in a delegated part of their zone (file does): the walk goes on (below), and the
		// target is asked where the child zone's servers answer for it.
		return Answer{}, &LookupError{Name: c.Last(), Qtype: qtype, Cause: Referral, Via: via, Zone: delegation(m.Ns)}
	case progressed:
		// A backend that answered the first CNAME and left the rest (its own zone's NS in the
		// authority section, or an error of its chase): the walk looks the target up itself.
		a.End = Continues
	case rest == response.NoError:
		a.End = NODATA // NOERROR, no answer, no SOA: nothing of the type
	default:
		return Answer{}, &LookupError{Name: name, Qtype: qtype, Cause: Failed, Rcode: m.Rcode, Via: via}
	}
	a.TTL = c.ttl
	if a.End == NXDOMAIN || a.End == NODATA {
		if a.SOA != nil {
			a.TTL = min(a.TTL, a.SOA.Hdr.Ttl, a.SOA.Minttl)
		} else {
			a.TTL = min(a.TTL, NegativeTTL)
		}
	}
	return a, nil
}

// chased reports whether the part of answer past the first name of c outside zone (a backend's
// chase, see From) may be used: the chain stays in the zone, or it ends in records (final) that fit
// a reply of size bytes with room for one more of them. CoreDNS cuts a reply to fit (miekg/dns
// Truncate keeps answer records while they fit), so a part that fits with room to spare was not
// cut; a chase that ends without records may have been a truncated reply with none, which the
// backend took for NODATA. The records are counted uncompressed, the reply's header, question and
// EDNS record at their largest: the estimate errs on the side of a lookup.
func chased(c *Chain, final, answer []dns.RR, zone string, size int) bool {
	names := c.Names()
	exit := slices.IndexFunc(names, func(n string) bool { return !In(n, zone) })
	if exit < 0 {
		return true // the chain stays in the zone
	}
	if final == nil {
		return false
	}
	past := names[exit:]
	total, largest := 0, 0
	for _, rr := range answer {
		if slices.ContainsFunc(past, func(n string) bool { return Equal(n, rr.Header().Name) }) {
			n := dns.Len(rr)
			total, largest = total+n, max(largest, n)
		}
	}
	const header, opt = 12, 11 + 64 // the header; an OPT record with room for the client's options
	question := len(names[exit]) + 1 + 4
	return total+header+question+opt+largest <= size
}

// StartsChain reports whether m answers qname with a CNAME owned by qname: the only answers the
// plugin changes.
func StartsChain(m *dns.Msg, qname string) bool {
	for _, rr := range m.Answer {
		if h := rr.Header(); h.Rrtype == dns.TypeCNAME && Equal(h.Name, qname) {
			return true
		}
	}
	return false
}

// delegates reports whether the NS records in ns, in an answer to a question for owner whose chain
// reached name, are a referral for name: owned by name or one of its ancestors that is not also an
// ancestor of owner (that would be the NS records of the zone that answered the question, which
// backends put in the authority section of a positive answer).
func delegates(ns []dns.RR, name, owner string) bool {
	for _, rr := range ns {
		if h := rr.Header(); h.Rrtype == dns.TypeNS && In(name, h.Name) && !In(owner, h.Name) {
			return true
		}
	}
	return false
}

// delegation returns the owner of the first NS record in ns.
func delegation(ns []dns.RR) string {
	for _, rr := range ns {
		if rr.Header().Rrtype == dns.TypeNS {
			return Lower(rr.Header().Name)
		}
	}
	return ""
}

// FirstSOA returns the first SOA record in rrs, or nil.
func FirstSOA(rrs []dns.RR) *dns.SOA {
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
