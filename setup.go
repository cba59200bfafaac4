package flatten

// Registering the directive, and building the plugin from its configuration and its server block.

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/dnssec"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	hostport "github.com/coredns/coredns/plugin/pkg/parse"
	"github.com/coredns/coredns/plugin/pkg/transport"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/dnsflatten/flatten/plugin/audit"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/resolver"
	"github.com/dnsflatten/flatten/plugin/target"

	"github.com/miekg/dns"
)

func init() { plugin.Register(pluginName, setup) }

// hookAudits registers startAudits, at every setup: a reload by SIGUSR1 purges caddy's event hooks
// before it builds the new instance, whose setups must register theirs again; any other (re)load
// finds it registered, which caddy's registration refuses with a panic, recovered here.
func hookAudits() {
	defer func() { _ = recover() }()
	caddy.RegisterEventHook(pluginName, startAudits)
}

// auditsKey keys, in a caddy instance's storage, the plugins whose audits start once it serves.
type auditsKey struct{}

// startAudits starts the audits of an instance that serves: caddy runs the OnStartup hooks before
// it listens, and never runs the shutdown hooks of an instance whose listeners fail (a port in use,
// at start-up or at a reload). An audit started there would read the block's zones (making a
// dynupdate zone open its database, which it defers to its first use for that reason) and run on
// for an instance that never served. CoreDNS's reload plugin starts on the same event.
func startAudits(event caddy.EventName, info any) error {
	if event != caddy.InstanceStartupEvent {
		return nil
	}
	inst, ok := info.(*caddy.Instance)
	if !ok {
		return nil
	}
	inst.StorageMu.RLock()
	fs, _ := inst.Storage[auditsKey{}].([]*Flatten)
	inst.StorageMu.RUnlock()
	for _, f := range fs {
		f.audit.Start()
	}
	// The gauges the stopped instance's audits published for zones no audit reads now go.
	audit.Sweep()
	return nil
}

var log = clog.NewWithPlugin(pluginName)

// setup parses the block into a config; the plugin is built from it when CoreDNS builds the server
// block's chain, and started and stopped with the server (both happen on every reload).
func setup(c *caddy.Controller) error {
	cfg, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	if note := rootApexNote(cfg); note != "" {
		log.Warning(note)
	}
	hookAudits()
	conf := dnsserver.GetConfig(c)
	keys := c.ServerBlockKeys
	var f *Flatten
	conf.AddPlugin(func(next plugin.Handler) plugin.Handler {
		// CoreDNS builds the chain once per key of the server block ('a.org b.org { ... }'), with
		// this same function. One plugin serves them all, as file and cache do, so that the one
		// the hooks start (its audit, its resolver) is the one that answers; the chain built last
		// comes after it.
		if f == nil {
			f = newFlatten(cfg, next, blockOf(conf, keys))
		} else {
			f.Next = next
		}
		return f
	})
	// CoreDNS runs the hooks of every block, also of one it built no chain for (every address
	// excluded by bind: no listener), which has no plugin to start.
	c.OnStartup(func() error {
		if f == nil {
			return nil
		}
		// Only now are the block's plugins built: expand_transfer hands its zones to transfer.
		if cfg.expandTransfer && conf.Handler("transfer") == nil {
			return fmt.Errorf("%s - Error during parsing: 'expand_transfer' expands the zone transfers the transfer plugin serves, and this block has none: add 'transfer { to ... }' to the block, or remove 'expand_transfer'", cfg.expandAt)
		}
		precreate(serversOf(conf, keys))
		f.chase.Start()
		fs, _ := c.Get(auditsKey{}).([]*Flatten)
		c.Set(auditsKey{}, append(fs, f))
		return nil
	})
	c.OnShutdown(func() error {
		if f != nil {
			f.stop()
		}
		return nil
	})
	return nil
}

// block is what the plugin uses of its server block: the plugins after it (which CoreDNS has built
// by the time it builds this one) and the address the server answers on.
type block struct {
	// handlers are the block's plugins.
	handlers []plugin.Handler
	// name is the block's keys and the addresses it binds, which a reload keeps: the audit's
	// successor in the new instance has the same.
	name string
	// self is the server's own address (host:port, plain DNS), for questions about names outside
	// the zones asked with no client question in hand; "" when it has none.
	self string
	// outside, when set, answers lookups of names outside the zones (tests stand in for the
	// resolver and the server).
	outside target.Outside
}

// serversOf returns the server labels of the block's metrics, as CoreDNS writes them
// (dnsserver's grouping of configs by listen address): transport://address:port for each key of
// the block (keys may name other ports and transports: 'a.org:53 tls://b.org:853') and each
// address it binds.
func serversOf(conf *dnsserver.Config, keys []string) []string {
	hosts := conf.ListenHosts
	if len(hosts) == 0 {
		hosts = []string{""}
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		trans, rest := hostport.Transport(k)
		_, port, err := plugin.SplitHostPort(rest)
		if err != nil || port == "" {
			port = conf.Port
		}
		for _, h := range hosts {
			addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(h, port))
			if err != nil {
				continue
			}
			label := trans + "://" + addr.String()
			if !seen[label] {
				seen[label] = true
				out = append(out, label)
			}
		}
	}
	return out
}

func blockOf(conf *dnsserver.Config, keys []string) block {
	b := block{handlers: conf.Handlers(), name: strings.Join(keys, " ") + " bind " + strings.Join(conf.ListenHosts, " ")}
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

// newFlatten builds every part of the plugin from cfg, once.
func newFlatten(cfg config, next plugin.Handler, b block) *Flatten {
	f := &Flatten{Next: next, policy: newPolicy(cfg), report: audit.NewReporter(), counters: newCounters(),
		dangling: cfg.dangling, expand: cfg.expandTransfer}
	hides := false
	for _, h := range b.handlers {
		switch h := h.(type) {
		case dnssec.Dnssec:
			f.sign = newSigner(h)
		case plugin.ServiceBackend:
			hides = true
		}
		if tr, ok := h.(transfer.Transferer); ok {
			f.transferers = append(f.transferers, tr)
		}
	}
	lim := chain.Limits{Max: cfg.maxChain}
	if len(cfg.targets) > 0 {
		lim.Allowed, lim.Own = append(append([]string{}, cfg.zones...), cfg.targets...), len(cfg.zones)
	}
	// The plugin's own in-zone questions go to whatever Next is when they are asked.
	below := plugin.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		return plugin.NextOrFailure(pluginName, f.Next, ctx, w, r)
	})
	f.chase = target.New(target.Config{Zones: cfg.zones, Next: below, Outside: b.outside, Resolvers: cfg.resolvers, Self: b.self,
		Limits: lim, MinTTL: cfg.minTTL, MaxTTL: cfg.maxTTL, MaxStale: cfg.maxStale, CacheSize: cfg.cacheSize,
		MaxLookups: cfg.maxLookups, ECS: cfg.ecs, ServiceBackend: hides})
	var world func(context.Context, *dns.Msg) (*dns.Msg, error)
	self := false
	switch r := f.chase.Resolver(); {
	case r != nil:
		world = func(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
			m, _, err := r.Exchange(ctx, q)
			return m, err
		}
	case b.self != "":
		world, self = resolver.NewSelf(b.self).Exchange, true
	}
	f.audit = audit.New(audit.Config{Zones: cfg.zones, Every: cfg.audit, Block: b.name, Handlers: b.handlers, Owners: cfg.dangling == dns.RcodeNameError,
		MaxChain: cfg.maxChain, Targets: cfg.targets, Aliases: cfg.aliases, ProbeNS: cfg.probeNS, ProbePort: cfg.probePort,
		Own: f.chase.Ask, World: world, WorldIsSelf: self, Slots: f.chase.Slots(), Changed: f.chase.Purge, Serial: f.chase.Serial})
	return f
}
