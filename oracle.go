package flatten

// The audit's questions about names outside the plugin's zones (dangling targets, email
// delegations): asked through the resolver option when it is set, else of the server itself,
// whose own plugins (a forward, another block) resolve them; names of the kubernetes plugin's
// zones are asked of that plugin in memory. They share max_lookups with the
// lookups of questions, but wait for a free slot instead of failing.

import (
	"context"
	"errors"

	"github.com/dnsflatten/flatten/plugin/resolver"

	"github.com/miekg/dns"
)

// oracle implements rules.Oracle.
type oracle struct {
	slots chan struct{}
	// exchange asks the world; nil when the block can reach it neither way.
	exchange func(context.Context, *dns.Msg) (*dns.Msg, error)
	// kube, when the block has the kubernetes plugin, answers the names of its zones in memory:
	// the audit reads those zones in part (kubewatch.go), so a chain that ends at a service is
	// asked here, never of a resolver that does not know the cluster.
	kube *kubeWatch
	// own answers the names of the plugin's zones from the block's own plugins, in memory: the
	// rules never ask about them, but probe_ns asks for the addresses of name servers that the
	// zones themselves hold (ns1.example.org in example.org), which no resolver may know yet.
	own *lookups
}

// errNoWay is the oracle's error when the block can ask the world neither way.
var errNoWay = errors.New("no resolver to ask and no address to ask the server at")

// Lookup implements rules.Oracle.
func (o *oracle) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	if o.kube.owns(name) {
		return o.kube.lookup(ctx, name, qtype)
	}
	if o.own != nil && o.own.inZones(name) {
		return o.own.askNext(ctx, name, qtype)
	}
	if o.exchange == nil {
		return nil, errNoWay
	}
	select {
	case o.slots <- struct{}{}:
		defer func() { <-o.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, resolver.Budget)
	defer cancel()
	m, err := o.exchange(ctx, resolver.Question(name, qtype))
	if err == nil && m == nil {
		err = errors.New("no answer")
	}
	return m, err
}

func resolverExchange(r *resolver.Resolver) func(context.Context, *dns.Msg) (*dns.Msg, error) {
	return func(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
		m, _, err := r.Exchange(ctx, q)
		return m, err
	}
}

// selfExchange asks the server at addr over the network (as CoreDNS's loop plugin asks itself):
// UDP, TCP when the reply is truncated.
func selfExchange(addr string) func(context.Context, *dns.Msg) (*dns.Msg, error) {
	udp := &dns.Client{Net: "udp", UDPSize: resolver.BufSize, Timeout: resolver.Timeout}
	tcp := &dns.Client{Net: "tcp", Timeout: resolver.Timeout}
	return func(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
		m, _, err := udp.ExchangeContext(ctx, q, addr)
		if err == nil && m.Truncated {
			m, _, err = tcp.ExchangeContext(ctx, q, addr)
		}
		if err == nil && (len(m.Question) != 1 || !equalFold(m.Question[0].Name, q.Question[0].Name)) {
			err = resolver.ErrMismatch
		}
		return m, err
	}
}
