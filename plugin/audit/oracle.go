package audit

// The audit's questions about names outside the plugin's zones (dangling targets, email
// delegations): asked through the resolver option when it is set, else of the server itself,
// whose own plugins (a forward, another block) resolve them; names of the kubernetes plugin's
// zones are asked of that plugin in memory. They share max_lookups with the lookups of
// questions, but wait for a free slot instead of failing.

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dnsflatten/flatten/plugin/resolver"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// oracle implements rules.Oracle.
type oracle struct {
	slots chan struct{}
	// world asks about names outside the zones; nil when the block can reach it neither way.
	world func(context.Context, *dns.Msg) (*dns.Msg, error)
	// kube, when the block has the kubernetes plugin, answers the names of its zones in memory:
	// the audit reads those zones in part (kube.go), so a chain that ends at a service is asked
	// here, never of a resolver that does not know the cluster.
	kube *kubeWatch
	// own answers the names of the plugin's zones from the block's own plugins, in memory: the
	// rules never ask about them, but probe_ns asks for the addresses of name servers that the
	// zones themselves hold (ns1.example.org in example.org), which no resolver may know yet.
	holds func(name string) bool // whether name is in the zones audited (Auditor.holds)
	own   func(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
	// self says world is the server itself, for want of a resolver; selfNone, decided once by
	// asking it for the root's NS, that it refuses names outside its zones (it resolves none).
	self     bool
	selfOnce sync.Once
	selfNone bool
}

// errNoWay is the oracle's error when the block can ask the world neither way.
var errNoWay = fmt.Errorf("%w: no resolver to ask and no address to ask the server at", rules.ErrNotAsked)

// errSelfRefused is the oracle's error when the server itself, asked for want of a resolver,
// refuses the name: it resolves no name outside its zones, so the audit has no way to check them
// (an authoritative-only server), which is not a failure to alert on.
var errSelfRefused = fmt.Errorf("%w: this server resolves no names outside its zones (give flatten a resolver, or the block a forward)", rules.ErrNotAsked)

// resolvesNothing reports whether the server itself refuses every name outside its zones, as an
// authoritative-only server does: decided once, by its answer for the root's NS, so that one name
// a working forward refuses still counts as a failure.
func (o *oracle) resolvesNothing(ctx context.Context) bool {
	o.selfOnce.Do(func() {
		m, err := o.world(ctx, resolver.Question(".", dns.TypeNS))
		o.selfNone = err == nil && m != nil && m.Rcode == dns.RcodeRefused
	})
	return o.selfNone
}

// Lookup implements rules.Oracle.
func (o *oracle) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	if o.kube.owns(name) {
		return o.kube.lookup(ctx, name, qtype)
	}
	if o.own != nil && o.holds(name) {
		return o.own(ctx, name, qtype)
	}
	if o.world == nil {
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
	m, err := o.world(ctx, resolver.Question(name, qtype))
	if err == nil && m == nil {
		err = errors.New("no answer")
	}
	if err == nil && o.self && m.Rcode == dns.RcodeRefused && o.resolvesNothing(ctx) {
		return nil, errSelfRefused
	}
	return m, err
}
