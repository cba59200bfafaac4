package flatten

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/upstream"
	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

const pluginName = "flatten"

const (
	// defaultMaxChain is CoreDNS's and PowerDNS's own chain limit; 8-hop chains exist in the wild.
	defaultMaxChain = 10
	// maxMaxChain bounds max_chain: a question costs at most max_chain lookups.
	maxMaxChain = 32
)

var upstreamNew = upstream.New

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	f, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	c.OnStartup(func() error {
		// The plugins of this server block that can hand over whole zones (file, auto, secondary,
		// kubernetes, ...): the audit reads the zones from them, without any transfer directive.
		var trs []transfer.Transferer
		for _, h := range dnsserver.GetConfig(c).Handlers() {
			if tr, ok := h.(transfer.Transferer); ok {
				trs = append(trs, tr)
			}
			if hidesCNAMEs(h) {
				f.unhiding.Store(true)
			}
		}
		f.startAudit(trs)
		return nil
	})
	// Every reload builds a new plugin: stop this one's background refreshes with it.
	c.OnShutdown(func() error {
		f.shutdown()
		return nil
	})
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		f.Next = next
		return f
	})
	return nil
}

// parse reads one flatten block:
//
//	flatten [ZONES...] {
//	    apex | all | names NAME...
//	    max_chain N
//	    alias NAME TARGET
//	    resolver ADDRESS...
//	    ttl [MIN] MAX
//	    cache SIZE
//	    stale DURATION
//	}
func parse(c *caddy.Controller) (*Flatten, error) {
	var f *Flatten
	for c.Next() {
		if f != nil {
			return nil, c.Err("flatten may appear once per server block; list every zone in that one line")
		}
		zones, err := parseZones(c)
		if err != nil {
			return nil, err
		}
		f = New(zones)
		selector := ""
		for c.NextBlock() {
			prop := c.Val()
			switch prop {
			case "apex", "all", "names":
				if selector != "" {
					return nil, c.Errf("'%s' conflicts with '%s' given before it: use one of apex, all or names", prop, selector)
				}
				selector = prop
				if err := parseSelector(c, f, prop); err != nil {
					return nil, err
				}
			case "max_chain":
				n, err := parseMaxChain(c)
				if err != nil {
					return nil, err
				}
				f.MaxChain = n
			case "alias":
				if err := parseAlias(c, f); err != nil {
					return nil, err
				}
			case "resolver":
				if err := parseResolver(c, f); err != nil {
					return nil, err
				}
			case "ttl":
				if err := parseTTL(c, f); err != nil {
					return nil, err
				}
			case "cache":
				n, err := parseCount(c, "cache", "the number of entries the cache holds", 1, 10_000_000, defaultCacheSize)
				if err != nil {
					return nil, err
				}
				f.CacheSize = n
			case "stale":
				d, err := parseDuration(c, "stale", "how long expired data may be served, e.g. 'stale 24h' (0 disables)")
				if err != nil {
					return nil, err
				}
				f.MaxStale = d
			case "max_lookups":
				n, err := parseCount(c, "max_lookups", "the target lookups allowed in flight at once", 1, 100_000, defaultMaxLookups)
				if err != nil {
					return nil, err
				}
				f.MaxLookups = n
			case "audit":
				d, err := parseDuration(c, "audit", "how often the zones' serials are checked for a new audit, e.g. 'audit 15s' (0: at start-up only)")
				if err != nil {
					return nil, err
				}
				f.AuditInterval = d
			case "dangling":
				args := c.RemainingArgs()
				rc, ok := map[string]int{"nodata": dns.RcodeSuccess, "nxdomain": dns.RcodeNameError, "servfail": dns.RcodeServerFailure}[strings.ToLower(strings.Join(args, " "))]
				if !ok {
					return nil, c.Errf("'dangling %s': write 'dangling nodata' (the default), 'dangling nxdomain' or 'dangling servfail'", strings.Join(args, " "))
				}
				f.Dangling = rc
			default:
				return nil, c.Errf("unknown property '%s': expected one of %s", prop, properties)
			}
		}
	}
	if f == nil {
		return nil, c.ArgErr()
	}
	f.init()
	return f, nil
}

const properties = "apex, all, names, max_chain, alias, resolver, ttl, cache, stale, dangling, audit, max_lookups"

// parseAlias reads 'alias NAME TARGET': NAME inside the block's zones, TARGET any domain name.
func parseAlias(c *caddy.Controller, f *Flatten) error {
	args := c.RemainingArgs()
	if len(args) != 2 {
		return c.Err("'alias' takes a name and its target, e.g. 'alias example.org www.example.net'")
	}
	name, target := strings.ToLower(dns.Fqdn(args[0])), dns.Fqdn(args[1])
	if !validName(name) || !validName(target) {
		return c.Errf("'alias %s %s': both must be domain names", args[0], args[1])
	}
	if !plugin.Zones(f.Zones).Contains(name) {
		return c.Errf("alias name '%s' is not inside this block's zones (%s): write the full name", args[0], strings.Join(f.Zones, " "))
	}
	if equalFold(name, target) {
		return c.Errf("'alias %s %s' points at itself", args[0], args[1])
	}
	if _, dup := f.Aliases[name]; dup {
		return c.Errf("'%s' is declared an alias twice: keep one 'alias' line for it", args[0])
	}
	if f.Aliases == nil {
		f.Aliases = map[string]string{}
	}
	f.Aliases[name] = target
	return nil
}

// parseResolver reads 'resolver ADDRESS...' (host or host:port; port 53 by default).
func parseResolver(c *caddy.Controller, f *Flatten) error {
	args := c.RemainingArgs()
	if len(args) == 0 {
		return c.Err("'resolver' needs at least one address, e.g. 'resolver 127.0.0.1:5301'")
	}
	if f.Resolver != nil {
		return c.Err("'resolver' given twice: list every address on one line")
	}
	addrs := make([]string, 0, len(args))
	for _, a := range args {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			host, port = strings.TrimSuffix(strings.TrimPrefix(a, "["), "]"), "53"
		}
		p, perr := strconv.Atoi(port)
		if net.ParseIP(host) == nil || perr != nil || p < 1 || p > 65535 {
			return c.Errf("resolver address '%s' is not an IP address with an optional port, e.g. 127.0.0.1:5301 or [::1]:53", a)
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	f.Resolver = newResolver(addrs)
	return nil
}

// parseTTL reads 'ttl [MIN] MAX', in seconds.
func parseTTL(c *caddy.Controller, f *Flatten) error {
	args := c.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return c.Errf("'ttl' takes [MIN] MAX in seconds, e.g. 'ttl 30 3600' (default %d %d)", defaultMinTTL, defaultMaxTTL)
	}
	var n [2]uint32
	for i, a := range args {
		v, err := strconv.ParseUint(a, 10, 32)
		if err != nil || v > maxTTL {
			return c.Errf("ttl '%s' is not a number of seconds from 0 to %d", a, maxTTL)
		}
		n[i] = uint32(v)
	}
	lo, hi := f.MinTTL, n[0]
	if len(args) == 2 {
		lo, hi = n[0], n[1]
	}
	if hi == 0 || lo > hi {
		return c.Errf("ttl MIN %d and MAX %d: MAX must be at least 1 and not below MIN", lo, hi)
	}
	f.MinTTL, f.MaxTTL = lo, hi
	return nil
}

// parseCount reads a property with one whole number in [lo, hi].
func parseCount(c *caddy.Controller, prop, what string, lo, hi, def int) (int, error) {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.Errf("'%s' takes one number, %s (default %d)", prop, what, def)
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < lo || n > hi {
		return 0, c.Errf("%s '%s' is out of range: write a whole number from %d to %d (default %d)", prop, args[0], lo, hi, def)
	}
	return n, nil
}

// parseDuration reads a property with one duration from 0 to a week.
func parseDuration(c *caddy.Controller, prop, what string) (time.Duration, error) {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.Errf("'%s' takes one duration, %s", prop, what)
	}
	d, err := time.ParseDuration(args[0])
	if args[0] == "0" {
		d, err = 0, nil
	}
	if err != nil || d < 0 || d > 7*24*time.Hour {
		return 0, c.Errf("%s '%s' is not a duration from 0 to 168h, e.g. 24h, 30m or 15s", prop, args[0])
	}
	return d, nil
}

// parseZones reads the zones after the directive, or takes the server block's.
func parseZones(c *caddy.Controller) ([]string, error) {
	args := c.RemainingArgs()
	if len(args) == 0 {
		return plugin.OriginsFromArgsOrServerBlock(nil, c.ServerBlockKeys), nil
	}
	zones := make([]string, 0, len(args))
	for _, a := range args {
		z := plugin.Host(a).NormalizeExact()
		if len(z) == 0 || !validName(z[0]) {
			return nil, c.Errf("'%s' is not a zone name: write a domain name such as example.org", a)
		}
		zones = append(zones, z...)
	}
	return zones, nil
}

func parseSelector(c *caddy.Controller, f *Flatten, prop string) error {
	args := c.RemainingArgs()
	switch prop {
	case "apex", "all":
		if len(args) != 0 {
			return c.Errf("'%s' takes no arguments; to flatten chosen names write 'names %s'", prop, strings.Join(args, " "))
		}
		f.Mode = map[string]Mode{"apex": Apex, "all": All}[prop]
		return nil
	}
	if len(args) == 0 {
		return c.Err("'names' needs at least one owner name, e.g. 'names www.example.org'")
	}
	f.Mode = Names
	f.Names = make(map[string]struct{}, len(args))
	for _, a := range args {
		n := strings.ToLower(dns.Fqdn(a))
		if !validName(n) {
			return c.Errf("'%s' is not a domain name", a)
		}
		if !plugin.Zones(f.Zones).Contains(n) {
			return c.Errf("'%s' is not inside this block's zones (%s): write the full name, e.g. '%s'",
				a, strings.Join(f.Zones, " "), strings.TrimSuffix(a, ".")+"."+f.Zones[0])
		}
		f.Names[n] = struct{}{}
	}
	return nil
}

func parseMaxChain(c *caddy.Controller) (int, error) {
	return parseCount(c, "max_chain", "the CNAME hops allowed", 1, maxMaxChain, defaultMaxChain)
}

// validName reports whether name is a syntactically valid domain name.
func validName(name string) bool {
	_, ok := dns.IsDomainName(name)
	return ok && name != ""
}
