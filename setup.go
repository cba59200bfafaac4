package flatten

// Registering the directive, and building the plugin from its configuration and its server block.

import (
	"net"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/transport"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/dnsflatten/flatten/plugin/rules"
)

func init() { plugin.Register(pluginName, setup) }

// setup parses the block into a config; the plugin is built from it when CoreDNS builds the server
// block's chain, and started and stopped with the server (both happen on every reload).
func setup(c *caddy.Controller) error {
	cfg, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	conf := dnsserver.GetConfig(c)
	var f *Flatten
	conf.AddPlugin(func(next plugin.Handler) plugin.Handler {
		// CoreDNS builds the chain once per key of the server block ('a.org b.org { ... }'), with
		// this same function. One plugin serves them all, as file and cache do, so that the one
		// the hooks start (its audit, its resolver) is the one that answers; the chain built last
		// comes after it.
		if f == nil {
			f = newFlatten(cfg, next, blockOf(conf))
		} else {
			f.Next, f.chase.lookups.next = next, next
		}
		return f
	})
	c.OnStartup(func() error {
		f.start()
		return nil
	})
	c.OnShutdown(func() error {
		f.stop()
		return nil
	})
	return nil
}

// block is what the plugin uses of its server block: the plugins after it (which CoreDNS has built
// by the time it builds this one) and the address the server answers on.
type block struct {
	// transferers are the plugins that can hand whole zones over, for the audit.
	transferers []transfer.Transferer
	// kube watches the kubernetes plugin's services, or is nil.
	kube *kubeWatch
	// hides is set when a service backend (kubernetes, etcd) may hide a CNAME behind NODATA.
	hides bool
	// signer is the dnssec plugin, or nil.
	signer *signer
	// self is the server's own address (host:port, plain DNS), for the audit's questions about
	// names outside the zones; "" when it has none.
	self string
}

func blockOf(conf *dnsserver.Config) block {
	var b block
	for _, h := range conf.Handlers() {
		if tr, ok := h.(transfer.Transferer); ok {
			b.transferers = append(b.transferers, tr)
		}
		if _, ok := h.(plugin.ServiceBackend); ok {
			b.hides = true
		}
	}
	b.signer = newSigner(conf.Handler("dnssec"))
	b.kube = newKubeWatch(conf.Handlers())
	if conf.Transport == transport.DNS || conf.Transport == "" {
		host := "127.0.0.1"
		if len(conf.ListenHosts) > 0 {
			if ip := net.ParseIP(conf.ListenHosts[0]); ip != nil && !ip.IsUnspecified() {
				host = ip.String()
			}
		}
		b.self = net.JoinHostPort(host, conf.Port)
	}
	return b
}

// newFlatten builds every component of the plugin from cfg; nothing changes them afterwards.
func newFlatten(cfg config, next plugin.Handler, b block) *Flatten {
	l := newLookups(cfg, next, b.hides, b.self)
	ch := newChaser(cfg, l)
	var o rules.Oracle
	switch {
	case l.resolver != nil:
		o = &oracle{slots: l.slots, exchange: resolverExchange(l.resolver), kube: b.kube, own: l}
	case b.self != "":
		o = &oracle{slots: l.slots, exchange: selfExchange(b.self), kube: b.kube, own: l}
	case b.kube != nil:
		o = &oracle{slots: l.slots, kube: b.kube, own: l}
	}
	if cfg.probeNS && l.resolver == nil && b.self == "" {
		log.Warningf("probe_ns: this server block has no resolver and no address of its own to find name servers' addresses with: add 'resolver ADDRESS...'; no delegation is probed")
	}
	return &Flatten{
		Next:     next,
		policy:   newPolicy(cfg),
		chase:    ch,
		audit:    newAuditor(cfg, b.transferers, b.kube, o, ch.store.purge),
		report:   &reporter{logs: newLimiter(time.Minute)},
		sign:     b.signer,
		dangling: cfg.dangling,
		expand:   cfg.expandTransfer,
	}
}

// start starts the resolver's connections and the audit.
func (f *Flatten) start() {
	if r := f.chase.lookups.resolver; r != nil {
		r.Start()
	}
	f.audit.start()
}

// stop stops the audit, the background refreshes and the resolver's connections, and waits for
// them.
func (f *Flatten) stop() {
	f.audit.shutdown()
	f.chase.shutdown()
	if r := f.chase.lookups.resolver; r != nil {
		r.Stop()
	}
}

// Ready implements ready.Readiness: the plugin is ready once its zones have been read after
// start-up, so that answers at an apex with other records are right from the first question.
func (f *Flatten) Ready() bool { return f.audit.ready.Load() }
