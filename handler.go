// Package flatten is a CoreDNS plugin that flattens CNAME chains into addresses and refuses
// broken chains (loops, over-long chains) with a clear error.
package flatten

import (
	"context"
	"errors"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

var log = clog.NewWithPlugin(pluginName)

// Mode selects which names' CNAMEs are flattened.
type Mode int

const (
	// Apex flattens a CNAME at a zone's apex only (the default).
	Apex Mode = iota
	// All flattens every CNAME answer in the zones.
	All
	// Names flattens exactly the listed owner names.
	Names
)

// Flatten is the plugin. Its fields are set by setup and never change while it serves.
type Flatten struct {
	Next plugin.Handler

	// Zones are the zones whose names may be flattened: lower-case, fully qualified.
	Zones []string
	// Mode chooses the eligible names in Zones.
	Mode Mode
	// Names are the owner names flattened in Names mode: lower-case, fully qualified.
	Names map[string]struct{}
	// MaxChain is the number of CNAME hops allowed on one chain.
	MaxChain int
	// Lookup resolves a chain's target when an answer stops short of it.
	Lookup Lookuper

	logs *limiter
}

// New returns a Flatten with the defaults: apex mode, max_chain 10, lookups through this server.
func New(zones []string) *Flatten {
	return &Flatten{
		Zones:    zones,
		MaxChain: defaultMaxChain,
		Lookup:   self{up: upstreamNew()},
		logs:     newLimiter(time.Minute),
	}
}

// Name implements plugin.Handler.
func (f *Flatten) Name() string { return pluginName }

// ServeDNS implements plugin.Handler.
func (f *Flatten) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if len(r.Question) != 1 {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	q := r.Question[0]
	if (q.Qtype != dns.TypeA && q.Qtype != dns.TypeAAAA) || q.Qclass != dns.ClassINET {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}

	// A question asked on behalf of a chain walk (ours, or another plugin chasing a CNAME inside
	// one): the walk that started it does the flattening. A question for a name the chain already
	// passed is a loop; cut it short here rather than let the other plugin chase it to its own
	// depth limit.
	if c, ok := ctx.Value(chainKey{}).(*chain); ok {
		if c.revisits(q.Name) {
			return dns.RcodeServerFailure, nil
		}
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}

	if !f.eligible(q.Name) {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}

	cw := getWriter(w, q.Name)
	rcode, err := plugin.NextOrFailure(f.Name(), f.Next, ctx, cw, r)
	captured := cw.msg
	putWriter(cw)
	if captured == nil {
		return rcode, err
	}

	state := request.Request{W: w, Req: r}
	// A pre-signed zone's chain is only verifiable as signed (RFC 4035 section 3.1.1); a client
	// that asks for DNSSEC gets it unchanged, with every CNAME and RRSIG.
	if state.Do() && hasRRSIG(captured.Answer) {
		return writeReply(w, captured)
	}
	return writeReply(w, f.flatten(ctx, state, captured))
}

// writeReply writes m and returns what the server expects after a plugin has written.
func writeReply(w dns.ResponseWriter, m *dns.Msg) (int, error) {
	if err := w.WriteMsg(m); err != nil {
		return dns.RcodeServerFailure, plugin.Error(pluginName, err)
	}
	return dns.RcodeSuccess, nil
}

// chainKey is the context key of the chain being walked.
type chainKey struct{}

// flatten walks the chain that starts in captured, looking up what it lacks, and returns the
// reply to the question in state.
func (f *Flatten) flatten(ctx context.Context, state request.Request, captured *dns.Msg) *dns.Msg {
	r := state.Req
	qtype := r.Question[0].Qtype
	server := metrics.WithServer(ctx)

	c := newChain(r.Question[0].Name, f.MaxChain)
	ctx = context.WithValue(ctx, chainKey{}, c)

	m, fromLookup := captured, false
	for {
		before := c.hops()
		final, err := c.follow(m.Answer, qtype)
		if err != nil {
			return f.refuse(server, r, err)
		}
		if final != nil {
			flattenedCount.WithLabelValues(server, dns.TypeToString[qtype]).Inc()
			return synthesize(r, final, c.ttl)
		}

		// The chain ends at c.last() without data in m. RFC 6604: the rcode speaks of that name.
		switch {
		case m.Rcode == dns.RcodeNameError:
			return f.dangling(ctx, server, state, captured, c)
		case m.Rcode == dns.RcodeSuccess && (findSOA(m.Ns, c.last()) != nil || fromLookup && c.hops() == before):
			// NODATA: the target exists but has no records of this type.
			return f.noData(ctx, state, captured, c)
		case fromLookup && c.hops() == before:
			// A lookup of the target itself failed.
			return f.refuse(server, r, &LookupError{Name: c.last(), Qtype: qtype, Rcode: m.Rcode})
		}

		// The answer stopped short of the chain's end (a backend that does not chase out of its
		// zone, or stops after a few hops): ask for the rest. Every lookup follows at least one new
		// hop, so a question costs at most max_chain lookups.
		var lerr error
		m, lerr = f.lookup(ctx, state, c.last(), qtype)
		if lerr != nil {
			return f.refuse(server, r, lerr)
		}
		fromLookup = true
	}
}

// lookup resolves name through f.Lookup, timing it and turning "nothing answered" into an error.
func (f *Flatten) lookup(ctx context.Context, state request.Request, name string, qtype uint16) (*dns.Msg, error) {
	server := metrics.WithServer(ctx)
	start := time.Now()
	m, err := f.Lookup.Lookup(ctx, state, name, qtype)
	lookupDuration.WithLabelValues(server).Observe(time.Since(start).Seconds())
	lookupCount.WithLabelValues(server).Inc()
	switch {
	case err != nil:
		err = &LookupError{Name: name, Qtype: qtype, Err: err}
	case m == nil:
		err = &LookupError{Name: name, Qtype: qtype, Rcode: -1}
	default:
		return m, nil
	}
	lookupFailures.WithLabelValues(server, err.(*LookupError).cause()).Inc()
	return nil, err
}

// refuse answers a broken chain or a failed lookup with SERVFAIL and an extended error, logs it
// (once a minute per question name and problem) and counts it.
func (f *Flatten) refuse(server string, r *dns.Msg, err error) *dns.Msg {
	var ce *ChainError
	if errors.As(err, &ce) {
		switch ce.Kind {
		case Loop:
			loopCount.WithLabelValues(server).Inc()
		case TooLong:
			tooLongCount.WithLabelValues(server).Inc()
		}
	}
	if f.logs.allow(r.Question[0].Name, err) {
		log.Warningf("%s %s: %s", r.Question[0].Name, dns.TypeToString[r.Question[0].Qtype], err)
	}
	return servfail(r, err)
}

// dangling answers an alias whose target does not exist (NXDOMAIN): the alias itself exists, so the
// reply is NODATA; the alias is logged, since a dangling CNAME into a name someone else may
// register is a subdomain-takeover risk.
func (f *Flatten) dangling(ctx context.Context, server string, state request.Request, captured *dns.Msg, c *chain) *dns.Msg {
	danglingCount.WithLabelValues(server).Inc()
	qname := state.Req.Question[0].Name
	if f.logs.allow(qname, errDangling) {
		log.Warningf("%s: dangling alias: target %s does not exist (NXDOMAIN): %s", qname, c.last(), path(c.names))
	}
	return f.noData(ctx, state, captured, c)
}

var errDangling = errors.New("dangling")

// noData builds the NODATA reply, with the SOA of the alias's zone: from the first answer when it
// carries one (the file plugin puts it there), else from a SOA question for the zone's apex. The
// apex, not the alias name: a SOA question at an alias would follow the alias.
func (f *Flatten) noData(ctx context.Context, state request.Request, captured *dns.Msg, c *chain) *dns.Msg {
	qname := state.Req.Question[0].Name
	soa := findSOA(captured.Ns, qname)
	if zone := plugin.Zones(f.Zones).Matches(qname); soa == nil && zone != "" {
		if m, err := f.lookup(ctx, state, zone, dns.TypeSOA); err == nil {
			soa = findSOA(m.Answer, qname)
		}
	}
	return nodata(state.Req, soa, c.ttl)
}

// eligible reports whether a question for qname may be flattened.
func (f *Flatten) eligible(qname string) bool {
	switch f.Mode {
	case Apex:
		for _, z := range f.Zones {
			if equalFold(z, qname) {
				return true
			}
		}
		return false
	case Names:
		_, ok := f.Names[lowerASCII(qname)]
		return ok
	default:
		for _, z := range f.Zones {
			if inZone(qname, z) {
				return true
			}
		}
		return false
	}
}
