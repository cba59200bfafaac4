package flatten

// Zone transfers with aliases expanded (expand_transfer). A zone whose apex is a CNAME cannot be
// transferred to a standard secondary: NSD and BIND refuse to load it, and one that loads it serves
// the illegal CNAME. With expand_transfer the plugin is the server block's first Transferer for its
// zones (it comes before the zone plugins in CoreDNS's order): it reads the zone from the zone's
// plugin and sends every name it flattens with the addresses it would answer (A and AAAA, at the
// chain's TTL) instead of the alias, as PowerDNS's outgoing-axfr-expand-alias does. The SOA comes
// first and last, its serial unchanged; an IXFR gets the whole zone (RFC 1995 section 4 allows
// it), or the SOA alone when the secondary has the current serial, as the zone's plugin answers.
// A name whose target does not resolve is sent with its other records only, and logged: a
// transfer never fails for it.

import (
	"context"
	"time"

	"github.com/coredns/coredns/plugin/transfer"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/own"
	"github.com/dnsflatten/flatten/plugin/reply"

	"github.com/miekg/dns"
)

// expandTimeout bounds the lookups of one transfer.
const expandTimeout = 30 * time.Second

// Transfer implements transfer.Transferer, for the zones of the plugin when expand_transfer is on.
func (f *Flatten) Transfer(zone string, serial uint32) (<-chan []dns.RR, error) {
	if !f.expand || !f.policy.zones.Apex(zone) { // one of the plugin's zones
		return nil, transfer.ErrNotAuthoritative
	}
	var in <-chan []dns.RR
	for _, tr := range f.transferers {
		ch, err := tr.Transfer(zone, serial) // an IXFR at the current serial: the zone's plugin sends the SOA alone
		if err == transfer.ErrNotAuthoritative {
			continue
		}
		if err != nil {
			return nil, err
		}
		in = ch
		break
	}
	if in == nil {
		return nil, transfer.ErrNotAuthoritative
	}
	out := make(chan []dns.RR)
	go func() {
		defer close(out)
		ctx, cancel := context.WithTimeout(f.chase.Background(), expandTimeout)
		defer cancel()
		x := expansion{f: f, ctx: ctx, zone: zone}
		for batch := range in {
			out <- x.batch(batch)
		}
	}()
	return out, nil
}

// expansion is one zone transfer being expanded.
type expansion struct {
	f    *Flatten
	ctx  context.Context
	zone string
}

// batch returns the records of a transfer's batch with every name the plugin flattens expanded. A
// batch holds the records of one name (the first, the apex's), or the closing SOA.
func (x expansion) batch(batch []dns.RR) []dns.RR {
	var out []dns.RR
	for start := 0; start < len(batch); {
		end := start + 1
		for end < len(batch) && chain.Equal(batch[end].Header().Name, batch[start].Header().Name) {
			end++
		}
		out = append(out, x.name(batch[start:end])...)
		start = end
	}
	return out
}

// name returns the records of one name as the transfer sends them.
func (x expansion) name(rrs []dns.RR) []dns.RR {
	name := rrs[0].Header().Name
	to, hop, declared := x.aliasIn(name, rrs)
	if to == "" {
		return rrs
	}
	var addrs []dns.RR
	var failed error // a lookup that failed, rather than found no addresses
	for _, qtype := range [2]uint16{dns.TypeA, dns.TypeAAAA} {
		res := x.f.chase.From(x.ctx, name, to, hop, qtype)
		if res.Err == nil && res.End == chain.Positive {
			addrs = append(addrs, reply.Flattened(own.Question(name, qtype, own.BufSize), res.TTL, res.Final).Answer...)
		}
		if res.Err != nil {
			failed = res.Err
		}
	}
	var out []dns.RR
	for _, rr := range rrs {
		switch t := rr.Header().Rrtype; {
		case t == dns.TypeCNAME && !declared:
			continue // the alias itself: replaced by its addresses
		case (t == dns.TypeA || t == dns.TypeAAAA) && len(addrs) > 0:
			continue // a declared alias's own addresses: the target's come instead
		}
		out = append(out, rr)
	}
	if len(addrs) == 0 {
		x.f.report.Unexpanded(x.zone, name, to, failed)
	}
	return append(out, addrs...)
}

// aliasIn returns the target of name, whose records are rrs, when the plugin flattens it: a CNAME
// at a name flattened, a declared alias, or an HTTPS record in AliasMode at a name flattened that
// has no addresses of its own; with the alias record's TTL, and whether it was declared.
func (x expansion) aliasIn(name string, rrs []dns.RR) (to string, hop uint32, declared bool) {
	p := x.f.policy
	if t, ok := p.aliases[chain.Lower(name)]; ok {
		return t, chain.MaxTTL, true
	}
	if !p.flattens(name, x.zone) {
		return "", 0, false
	}
	var alias dns.RR
	for _, rr := range rrs {
		switch rr.Header().Rrtype {
		case dns.TypeA, dns.TypeAAAA:
			if alias != nil && alias.Header().Rrtype != dns.TypeCNAME {
				return "", 0, false // addresses of its own beside an AliasMode record
			}
		case dns.TypeCNAME, dns.TypeHTTPS:
			if t, ok := chain.Target(rr); ok && (alias == nil || rr.Header().Rrtype == dns.TypeCNAME) {
				alias, to = rr, t
			}
		}
	}
	if alias == nil {
		return "", 0, false
	}
	if alias.Header().Rrtype == dns.TypeHTTPS {
		for _, rr := range rrs {
			if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
				return "", 0, false
			}
		}
	}
	return to, alias.Header().Ttl, false
}
