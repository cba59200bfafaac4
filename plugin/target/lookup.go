package target

// Lookups of chain targets, by the route their names take: a name in the plugin's zones is asked of
// the server block's own plugins directly (an in-memory lookup that does not come back through the
// plugin: plugin/own); a name elsewhere, below a delegation, or in a root block that no plugin of
// the block serves, is asked of the resolver option's servers when there are some, else of the
// whole server (CoreDNS's upstream self-lookup, which reaches the block that serves the name, or a
// forward).

import (
	"context"
	"strconv"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/plugin/pkg/response"
	"github.com/coredns/coredns/plugin/pkg/upstream"
	"github.com/coredns/coredns/request"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/own"
	"github.com/dnsflatten/flatten/plugin/resolver"

	"github.com/miekg/dns"
)

// Outside resolves names outside the plugin's zones. via names who answered when that was not
// this server, for the texts of errors. Tests stand in for it.
type Outside interface {
	Lookup(ctx context.Context, name string, qtype uint16) (m *dns.Msg, via string, err error)
}

// lookups asks for chain targets.
type lookups struct {
	next     plugin.Handler // the server block's plugins after the plugin
	zones    chain.Zones    // names in these zones are asked of next
	outside  Outside        // names outside zones
	slots    chan struct{}  // one per lookup in flight: max_lookups in all
	maxChain int
	// ecs passes client subnets to the resolver option's servers.
	ecs bool
	// serviceBackend is set when a backend of the block may hide a CNAME behind NODATA (see
	// hidden.go).
	serviceBackend bool
}

// Resolving asks the resolver option's servers, passing on the client's subnet a lookup carries.
type Resolving struct{ R *resolver.Resolver }

// Lookup implements Outside.
func (r Resolving) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	q := resolver.Question(name, qtype)
	if sn := SubnetOf(ctx); sn != nil {
		o := q.IsEdns0()
		o.Option = append(o.Option, sn.option(0))
	}
	return r.R.Exchange(ctx, q)
}

// subnet returns the client subnet ctx carries when the lookup of name passes it on: with ecs,
// for a name outside the zones, which the resolver option's servers are asked. A root block's
// names are all in its zones: those its plugins refuse are asked without one.
func (l *lookups) subnet(ctx context.Context, name string) *Subnet {
	if !l.ecs || l.zones.Holds(name) {
		return nil
	}
	return SubnetOf(ctx)
}

// ask looks name up and returns the entry its answer makes, and whether it was asked outside the
// block's plugins (see route). It times and counts the lookup, and fails at once when max_lookups
// lookups are in flight.
func (l *lookups) ask(ctx context.Context, name string, qtype uint16, sn *Subnet) (*Entry, bool, error) {
	server := metrics.WithServer(ctx)
	select {
	case l.slots <- struct{}{}:
		defer func() { <-l.slots }()
	default:
		lookupFailures.WithLabelValues(server, "busy").Inc()
		return nil, false, &chain.LookupError{Name: name, Qtype: qtype, Cause: chain.Busy}
	}
	start := time.Now()
	m, from, outside, err := l.route(WithSubnet(ctx, sn), name, qtype)
	lookupDuration.WithLabelValues(server).Observe(time.Since(start).Seconds())
	lookupCount.WithLabelValues(server).Inc()
	var e *Entry
	switch {
	case err != nil:
		err = &chain.LookupError{Name: name, Qtype: qtype, Via: from.Via, Err: err}
	case m == nil:
		err = &chain.LookupError{Name: name, Qtype: qtype, Via: from.Via}
	default:
		var a chain.Answer
		a, err = chain.Read(name, qtype, m, from)
		if err != nil {
			break
		}
		e = &Entry{Answer: a}
		switch {
		case sn.located():
			if scope := replyScope(m); scope > 0 {
				e.Scope = sn.scoped(scope) // the answer holds for this network only
			}
			subnetLookups.WithLabelValues(server, strconv.Itoa(max(e.Scope.Bits(), 0))).Inc()
		case l.ecs && !l.zones.Holds(name):
			e.private = true
			if sn != nil {
				subnetLookups.WithLabelValues(server, "0").Inc()
			}
		}
	}
	if sn != nil && e == nil {
		subnetLookups.WithLabelValues(server, "none").Inc()
	}
	if le, ok := err.(*chain.LookupError); ok {
		lookupFailures.WithLabelValues(server, le.Label()).Inc()
	}
	return e, outside, err
}

// from says how to read m, an answer of the block's own plugins to a question for name with a
// buffer of size bytes (see chain.From). An authoritative answer (AA: file, auto, kubernetes, an
// authoritative server behind forward) speaks for its own zone only: what a backend chases of a
// CNAME through the server (CoreDNS's upstream) it merges into its answer cut to the question's
// buffer, with the TC bit lost (file keeps the records of the chase, not its header), and a cache
// below keeps the merge so. The zone is the plugin's that holds name, or the zone whose NS or SOA
// the answer's authority section holds, when that is below it (file adds its zone's NS). A
// recursive resolver's answer (forward to one: no AA) is whole, or truncated: all of it is read.
func (l *lookups) from(name string, m *dns.Msg, size int) chain.From {
	from := chain.From{MaxChain: l.maxChain, Size: size}
	if !m.Authoritative {
		return from
	}
	from.Zone = l.zones.Match(name)
	for _, rr := range m.Ns {
		if h := rr.Header(); (h.Rrtype == dns.TypeNS || h.Rrtype == dns.TypeSOA) && len(h.Name) > len(from.Zone) && chain.In(name, h.Name) {
			from.Zone = chain.Lower(h.Name)
		}
	}
	return from
}

// mayGoOutside reports whether a lookup of name may be asked outside the block's plugins: a name
// outside the zones, or any name of a root block (see route), whose failure may then be held.
func (l *lookups) mayGoOutside(name string) bool {
	zone := l.zones.Match(name)
	return zone == "" || zone == "."
}

// route asks name by the route it takes, and says how to read the answer (who answered, when that
// was a resolver), and whether it was asked outside the block's plugins.
func (l *lookups) route(ctx context.Context, name string, qtype uint16) (*dns.Msg, chain.From, bool, error) {
	if l.zones.Holds(name) {
		m, size, err := l.askNext(ctx, name, qtype)
		if err != nil {
			return nil, chain.From{}, false, err
		}
		switch {
		case delegated(m):
			// A name below a delegation in the zone: the child zone's servers answer for it, not
			// the block's plugins (RFC 1034 section 4.3.2).
		case m.Rcode == dns.RcodeRefused && l.zones.Match(name) == ".":
			// No plugin of a root block serves the name (file refuses a name outside its zones):
			// with `flatten .` every name is in the plugin's zones, and the targets its zones'
			// aliases name elsewhere are for the resolver option's servers, or another block, to
			// answer. In another block a refusal is an answer (an upstream's, through forward).
		default:
			return m, l.from(name, m, size), false, nil
		}
		// Asked as names outside the zones are.
	}
	m, via, err := l.outside.Lookup(ctx, name, qtype)
	return m, chain.From{MaxChain: l.maxChain, Via: via}, true, err
}

// delegated reports whether m, an answer of the block's plugins, is a referral: no answer, the
// delegation's NS records in the authority section (classified as CoreDNS classifies replies).
func delegated(m *dns.Msg) bool {
	if len(m.Answer) > 0 {
		return false
	}
	t, _ := response.Typify(m, time.Now())
	return t == response.Delegation
}

// Self asks the whole server (CoreDNS's upstream self-lookup), from the top of the plugin chain of
// the block that serves the name. The question is marked with the name, so that a flatten in that
// block passes it on once, unflattened. CoreDNS's loop counter is reset: the plugin bounds the
// chain itself with max_chain, and the file plugin must not inherit a depth at which it refuses to
// chase. Work the plugin does with no question in hand (a zone transfer's expansion) asks the
// server over the network at its own address, as CoreDNS's loop plugin does.
type Self struct {
	up   *upstream.Upstream
	addr *resolver.Self // nil when the server has no address to be asked at
}

// NewSelf returns the route through the server, which listens at addr (host:port; "" for none).
func NewSelf(addr string) Self {
	s := Self{up: upstream.New()}
	if addr != "" {
		s.addr = resolver.NewSelf(addr)
	}
	return s
}

// Lookup implements Outside.
func (s Self) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	if _, ok := ctx.Value(dnsserver.Key{}).(*dnsserver.Server); !ok && s.addr != nil {
		m, err := s.addr.Exchange(ctx, resolver.Question(name, qtype))
		return m, "", err
	}
	ctx = context.WithValue(own.With(ctx, own.Pending(name)), dnsserver.LoopKey{}, 0)
	// It asks as a TCP client with 64 KiB: the answer may be a backend's chase in another block,
	// which CoreDNS's upstream sizes to this question (see Chaser.Store).
	m, err := s.up.Lookup(ctx, request.Request{W: &own.Writer{TCP: true}, Req: own.Question(name, qtype, dns.MaxMsgSize)}, name, qtype)
	return m, "", err
}

// askNext asks the server block's plugins after the plugin for name and qtype, as the plugin's own
// question, with nested questions refused, and returns the reply and the buffer of the question it
// answered. A reply that may hide an alias is probed for one (see hidden.go).
func (l *lookups) askNext(ctx context.Context, name string, qtype uint16) (*dns.Msg, int, error) {
	ctx = own.With(ctx, own.Closed)
	m, size, err := own.Ask(ctx, l.next, name, qtype)
	if err != nil {
		return nil, 0, err
	}
	if alias := l.unhide(ctx, m); alias != nil {
		p := m.Copy()
		p.Rcode, p.Answer, p.Ns = dns.RcodeSuccess, []dns.RR{alias}, nil
		return p, size, nil
	}
	return m, size, nil
}
