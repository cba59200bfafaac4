package flatten

// Lookups of chain targets, by the route their names take: a name in the plugin's zones is asked of
// the server block's own plugins directly (an in-memory lookup that does not come back through this
// plugin); a name elsewhere is asked of the resolver option's servers when there are some, else of
// the whole server (CoreDNS's upstream self-lookup, which reaches the block that serves the name,
// or a forward).

import (
	"context"
	"strconv"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/plugin/pkg/upstream"
	"github.com/coredns/coredns/request"
	"github.com/dnsflatten/flatten/plugin/resolver"

	"github.com/miekg/dns"
)

// lookups asks for chain targets.
type lookups struct {
	next     plugin.Handler     // the server block's plugins after this one
	zones    []string           // names in these zones are asked of next
	outside  outside            // names outside zones
	resolver *resolver.Resolver // the resolver option's client, when set (it is outside)
	slots    chan struct{}      // one per lookup in flight: max_lookups in all
	maxChain int
	// ecs passes client subnets to the resolver option's servers.
	ecs bool
	// serviceBackend is set when a backend of the block may hide a CNAME behind NODATA (see
	// probe.go).
	serviceBackend bool
}

// outside resolves names outside the plugin's zones. via names who answered when that was not
// this server, for the texts of errors. Unit tests stand in for it.
type outside interface {
	lookup(ctx context.Context, name string, qtype uint16) (m *dns.Msg, via string, err error)
}

func newLookups(cfg config, next plugin.Handler, hides bool, selfAddr string) *lookups {
	l := &lookups{next: next, zones: cfg.zones, outside: self{up: upstream.New(), addr: selfAddr}, slots: make(chan struct{}, cfg.maxLookups),
		maxChain: cfg.maxChain, serviceBackend: hides}
	if len(cfg.resolvers) > 0 {
		l.resolver = resolver.New(cfg.resolvers)
		l.outside = resolving{l.resolver}
		l.ecs = cfg.ecs
	}
	return l
}

// resolving asks the resolver option's servers.
type resolving struct{ r *resolver.Resolver }

func (r resolving) lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	q := resolver.Question(name, qtype)
	if sn := subnetOf(ctx); sn != nil {
		o := q.IsEdns0()
		o.Option = append(o.Option, sn.option(0))
	}
	return r.r.Exchange(ctx, q)
}

// subnet returns the client subnet ctx carries when the lookup of name passes it on: with ecs,
// for a name outside the zones, which the resolver option's servers are asked.
func (l *lookups) subnet(ctx context.Context, name string) *subnet {
	if !l.ecs || l.inZones(name) {
		return nil
	}
	return subnetOf(ctx)
}

// ask looks name up and returns the entry its answer makes. It times and counts the lookup, and
// fails at once when max_lookups lookups are in flight.
func (l *lookups) ask(ctx context.Context, name string, qtype uint16, sn *subnet) (*entry, error) {
	server := metrics.WithServer(ctx)
	select {
	case l.slots <- struct{}{}:
		defer func() { <-l.slots }()
	default:
		lookupFailures.WithLabelValues(server, "busy").Inc()
		return nil, &LookupError{Name: name, Qtype: qtype, Cause: Busy}
	}
	start := time.Now()
	m, via, err := l.route(withSubnet(ctx, sn), name, qtype)
	lookupDuration.WithLabelValues(server).Observe(time.Since(start).Seconds())
	lookupCount.WithLabelValues(server).Inc()
	var e *entry
	switch {
	case err != nil:
		err = &LookupError{Name: name, Qtype: qtype, Via: via, Err: err}
	case m == nil:
		err = &LookupError{Name: name, Qtype: qtype, Via: via}
	default:
		e, err = toEntry(name, qtype, m, l.maxChain, via)
		switch {
		case err != nil:
		case sn.located():
			if scope := replyScope(m); scope > 0 {
				e.scope = sn.scoped(scope) // the answer holds for this network only
			}
			subnetLookups.WithLabelValues(server, strconv.Itoa(max(e.scope.Bits(), 0))).Inc()
		case l.ecs && !l.inZones(name):
			e.private = true
			if sn != nil {
				subnetLookups.WithLabelValues(server, "0").Inc()
			}
		}
	}
	if sn != nil && e == nil {
		subnetLookups.WithLabelValues(server, "none").Inc()
	}
	if le, ok := err.(*LookupError); ok {
		lookupFailures.WithLabelValues(server, le.cause()).Inc()
	}
	return e, err
}

// route asks name by the route it takes, and says who was asked when that was a resolver.
func (l *lookups) route(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	if l.inZones(name) {
		m, err := l.askNext(ctx, name, qtype)
		return m, "", err
	}
	return l.outside.lookup(ctx, name, qtype)
}

// inZones reports whether name is in the plugin's zones.
func (l *lookups) inZones(name string) bool {
	for _, z := range l.zones {
		if inZone(name, z) {
			return true
		}
	}
	return false
}

// self asks the whole server (CoreDNS's upstream self-lookup), from the top of the plugin chain of
// the block that serves the name. The question is marked with the name, so that a flatten in that
// block passes it on once, unflattened. CoreDNS's loop counter is reset: the plugin bounds the
// chain itself with max_chain, and the file plugin must not inherit a depth at which it refuses to
// chase. Work the plugin does with no question in hand (a zone transfer's expansion) asks the
// server over the network at its own address, addr, as CoreDNS's loop plugin does.
type self struct {
	up   *upstream.Upstream
	addr string
}

func (s self) lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	if _, ok := ctx.Value(dnsserver.Key{}).(*dnsserver.Server); !ok && s.addr != "" {
		m, err := selfExchange(s.addr)(ctx, resolver.Question(name, qtype))
		return m, "", err
	}
	ctx = context.WithValue(ctx, markKey{}, &mark{pending: name})
	ctx = context.WithValue(ctx, dnsserver.LoopKey{}, 0)
	m, err := s.up.Lookup(ctx, request.Request{W: &ownWriter{}, Req: ownQuestion(name, qtype)}, name, qtype)
	return m, "", err
}

// askNext asks the server block's plugins after this one for name and qtype, as the plugin's own
// question (see ownWriter), with nested questions refused. A reply that may hide an alias is
// probed for one (see probe.go).
func (l *lookups) askNext(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	ctx = &markedContext{Context: ctx, m: closed}
	m, err := askHandler(ctx, l.next, name, qtype)
	if err != nil {
		return nil, err
	}
	if alias := l.unhide(ctx, m); alias != nil {
		p := m.Copy()
		p.Rcode, p.Answer, p.Ns = dns.RcodeSuccess, []dns.RR{alias}, nil
		return p, nil
	}
	return m, nil
}
