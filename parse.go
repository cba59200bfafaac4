package flatten

// Reading a flatten block of the Corefile into a config, and the values of its properties: zones,
// selectors, aliases, addresses, targets, TTLs, counts and durations. Every mistake stops CoreDNS
// at start-up with the file, the line and what to write instead.

import (
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/durations"
	hostport "github.com/coredns/coredns/plugin/pkg/parse"
	"github.com/coredns/coredns/plugin/pkg/transport"
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// probePortEnv names the environment variable that moves probe_ns's questions off port 53, for
// tests whose name servers listen on loopback ports.
const probePortEnv = "FLATTEN_PROBE_PORT"

// properties lists the block's properties for the error about an unknown one.
const properties = "apex, all, names, max_chain, alias, resolver, ttl, cache, stale, dangling, audit, max_lookups, targets, expand_transfer, ecs, probe_ns"

// parse reads the flatten block of a server block:
//
//	flatten [ZONES...] {
//	    apex | all | names NAME...
//	    max_chain N
//	    alias NAME TARGET
//	    resolver ADDRESS...
//	    ttl [MIN] MAX
//	    cache SIZE
//	    stale DURATION
//	    dangling nodata | nxdomain | servfail
//	    audit INTERVAL
//	    max_lookups N
//	    targets ZONE...
//	    expand_transfer
//	    probe_ns
//	    ecs [client_address]
//	}
func parse(c *caddy.Controller) (config, error) {
	var (
		cfg  config
		seen bool
	)
	for c.Next() {
		if seen {
			return config{}, c.Err("flatten may appear once per server block; list every zone in that one line")
		}
		seen = true
		zones, err := parseZones(c)
		if err != nil {
			return config{}, err
		}
		cfg = defaults(zones)
		cfg.at = fmt.Sprintf("%s:%d", c.File(), c.Line())
		selector := ""
		given := map[string]int{} // property -> its line
		for c.NextBlock() {
			prop := c.Val()
			// alias repeats; the selectors, resolver and targets say their own fix when repeated.
			if line, ok := given[prop]; ok && !slices.Contains([]string{"alias", "apex", "all", "names", "resolver", "targets"}, prop) {
				return config{}, c.Errf("'%s' is given twice in this block (line %d too): keep one", prop, line)
			}
			given[prop] = c.Line()
			if err := parseProperty(c, &cfg, &selector); err != nil {
				return config{}, err
			}
		}
		if line, ok := given["ecs"]; ok && len(cfg.resolvers) == 0 {
			return config{}, fmt.Errorf("%s:%d - Error during parsing: 'ecs' passes client subnets to the 'resolver' servers: add 'resolver ADDRESS...' to the block", c.File(), line)
		}
	}
	if !seen {
		return config{}, c.ArgErr()
	}
	if err := checkTargets(c, cfg); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// rootApexNote is the warning for a block that flattens no name: apex mode (the default) for the
// root alone, with no alias declared. The root is no zone's apex, and the zones below it (file's,
// auto's) are not apexes of ZONES. The block still validates its answers and audits those zones,
// which may be all it is for: this is said, not refused.
func rootApexNote(cfg config) string {
	if cfg.mode != Apex || len(cfg.aliases) > 0 || len(cfg.zones) != 1 || cfg.zones[0] != "." {
		return ""
	}
	return fmt.Sprintf("%s - flatten for the root in apex mode (the default) flattens no name, as '.' is no zone's apex "+
		"(answers and zones are still validated). To flatten, list the zones whose apex is an alias (flatten example.org "+
		"example.com), or write 'all' or 'names NAME...' in the block", cfg.at)
}

// checkTargets refuses a declared alias whose target the targets list would refuse.
func checkTargets(c *caddy.Controller, cfg config) error {
	if len(cfg.targets) == 0 {
		return nil
	}
	allowed := append(slices.Clone(cfg.zones), cfg.targets...)
	for _, name := range slices.Sorted(maps.Keys(cfg.aliases)) {
		if target := cfg.aliases[name]; !allowed.Holds(chain.Lower(target)) {
			return c.Errf("alias target '%s' of '%s' is outside the zones 'targets' allows (%s): add its zone to 'targets'",
				target, name, strings.Join(cfg.targets, " "))
		}
	}
	return nil
}

// parseProperty reads one line of the block.
func parseProperty(c *caddy.Controller, cfg *config, selector *string) error {
	var err error
	switch prop := c.Val(); prop {
	case "apex", "all", "names":
		switch *selector {
		case "":
		case prop:
			if prop == "names" {
				return c.Err("'names' given twice: list every name on one 'names' line")
			}
			return c.Errf("'%s' given twice: keep one", prop)
		default:
			return c.Errf("'%s' conflicts with '%s' given before it: use one of apex, all or names", prop, *selector)
		}
		*selector = prop
		err = parseSelector(c, cfg, prop)
	case "max_chain":
		cfg.maxChain, err = parseCount(c, "the CNAME hops allowed", 1, maxMaxChain, defaultMaxChain)
	case "alias":
		err = parseAlias(c, cfg)
	case "resolver":
		err = parseResolver(c, cfg)
	case "ttl":
		err = parseTTL(c, cfg)
	case "cache":
		cfg.cacheSize, err = parseCount(c, "the number of entries the cache holds", 1, 10_000_000, defaultCacheSize)
		if err == nil && cfg.cacheSize < minCacheSize {
			// CoreDNS's cache keeps 256 shards of at least 4 entries: said, not done silently.
			log.Warningf("%s:%d: cache %d is raised to %d, the fewest entries the cache holds (256 shards of at least 4): write 'cache %d' to say so",
				c.File(), c.Line(), cfg.cacheSize, minCacheSize, minCacheSize)
			cfg.cacheSize = minCacheSize
		}
	case "stale":
		cfg.maxStale, err = parseDuration(c, "how long expired data may be served, e.g. 'stale 24h' (0 disables)")
	case "max_lookups":
		cfg.maxLookups, err = parseCount(c, "the target lookups allowed in flight at once", 1, 100_000, defaultMaxLookups)
	case "audit":
		cfg.audit, err = parseDuration(c, "how often the zones' serials are checked for a new audit, e.g. 'audit 15s' (0: at start-up only)")
	case "targets":
		err = parseTargets(c, cfg)
	case "expand_transfer":
		if len(c.RemainingArgs()) != 0 {
			return c.Err("'expand_transfer' takes no arguments")
		}
		cfg.expandTransfer, cfg.expandAt = true, fmt.Sprintf("%s:%d", c.File(), c.Line())
	case "probe_ns":
		if len(c.RemainingArgs()) != 0 {
			return c.Err("'probe_ns' takes no arguments")
		}
		// The port is moved only by tests, whose name servers listen on loopback ports.
		cfg.probeNS, cfg.probePort = true, os.Getenv(probePortEnv)
	case "ecs":
		switch args := c.RemainingArgs(); {
		case len(args) == 0:
		case len(args) == 1 && args[0] == "client_address":
			cfg.ecsClient = true
		default:
			return c.Errf("'ecs %s': write 'ecs' (pass on a client's subnet) or 'ecs client_address' (also send the client's own address when it sent none)", strings.Join(args, " "))
		}
		cfg.ecs = true
	case "dangling":
		args := c.RemainingArgs()
		rc, ok := map[string]int{"nodata": dns.RcodeSuccess, "nxdomain": dns.RcodeNameError, "servfail": dns.RcodeServerFailure}[strings.ToLower(strings.Join(args, " "))]
		if !ok {
			return c.Errf("'dangling %s': write 'dangling nodata' (the default), 'dangling nxdomain' or 'dangling servfail'", strings.Join(args, " "))
		}
		cfg.dangling = rc
	default:
		return c.Errf("unknown property '%s': expected one of %s", prop, properties)
	}
	return err
}

// validName reports whether name is a syntactically valid domain name.
func validName(name string) bool {
	_, ok := dns.IsDomainName(name)
	return ok && name != ""
}

// parseZones reads the zones after the directive, or takes the server block's.
func parseZones(c *caddy.Controller) (chain.Zones, error) {
	args := c.RemainingArgs()
	if len(args) == 0 {
		return plugin.OriginsFromArgsOrServerBlock(nil, c.ServerBlockKeys), nil
	}
	var served chain.Zones // every zone of the block's keys (a /23 key is two reverse zones)
	for _, k := range c.ServerBlockKeys {
		served = append(served, plugin.Host(k).NormalizeExact()...)
	}
	zones := make(chain.Zones, 0, len(args))
	for _, a := range args {
		z := plugin.Host(a).NormalizeExact()
		if len(z) == 0 || !validName(z[0]) {
			return nil, c.Errf("'%s' is not a zone name: write a domain name such as example.org", a)
		}
		for _, zone := range z {
			// The plugin sees only the questions its block answers: a zone outside the block's
			// keys would never get one.
			if len(served) > 0 && !served.Holds(zone) {
				return nil, c.Errf("zone '%s' is not served by this server block (%s): flatten sees only its block's questions; add the zone to the block's keys, e.g. '%s %s { ... }', or leave the zones out to take the block's",
					a, strings.Join(served, " "), strings.TrimSuffix(zone, "."), strings.Join(served, " "))
			}
		}
		zones = append(zones, z...)
	}
	return zones, nil
}

// parseSelector reads 'apex', 'all' or 'names NAME...'.
func parseSelector(c *caddy.Controller, cfg *config, prop string) error {
	args := c.RemainingArgs()
	if prop != "names" {
		if len(args) != 0 {
			return c.Errf("'%s' takes no arguments; to flatten chosen names write 'names %s'", prop, strings.Join(args, " "))
		}
		cfg.mode = map[string]Mode{"apex": Apex, "all": All}[prop]
		return nil
	}
	if len(args) == 0 {
		return c.Err("'names' needs at least one owner name, e.g. 'names www.example.org'")
	}
	cfg.mode = Names
	cfg.names = make(map[string]struct{}, len(args))
	for _, a := range args {
		n := strings.ToLower(dns.Fqdn(a))
		if !validName(n) {
			return c.Errf("'%s' is not a domain name", a)
		}
		if !cfg.zones.Holds(n) {
			if dns.CountLabel(n) == 1 { // a relative name: the zone left off
				return c.Errf("'%s' is not inside this block's zones (%s): write the full name, e.g. '%s'",
					a, strings.Join(cfg.zones, " "), strings.TrimSuffix(a, ".")+"."+cfg.zones[0])
			}
			return c.Errf("'%s' is not inside this block's zones (%s): flatten answers only for its zones; name a name of them, or flatten %s in a block that serves its zone",
				a, strings.Join(cfg.zones, " "), a)
		}
		cfg.names[n] = struct{}{}
	}
	return nil
}

// parseAlias reads 'alias NAME TARGET': NAME inside the block's zones, TARGET any domain name.
func parseAlias(c *caddy.Controller, cfg *config) error {
	args := c.RemainingArgs()
	if len(args) != 2 {
		return c.Err("'alias' takes a name and its target, e.g. 'alias example.org www.example.net'")
	}
	name, target := strings.ToLower(dns.Fqdn(args[0])), dns.Fqdn(args[1])
	if !validName(name) || !validName(target) {
		return c.Errf("'alias %s %s': both must be domain names", args[0], args[1])
	}
	if !cfg.zones.Holds(name) {
		return c.Errf("alias name '%s' is not inside this block's zones (%s): write the full name", args[0], strings.Join(cfg.zones, " "))
	}
	if chain.Equal(name, target) {
		return c.Errf("'alias %s %s' points at itself", args[0], args[1])
	}
	if _, dup := cfg.aliases[name]; dup {
		return c.Errf("'%s' is declared an alias twice: keep one 'alias' line for it", args[0])
	}
	if cfg.aliases == nil {
		cfg.aliases = map[string]string{}
	}
	cfg.aliases[name] = target
	return nil
}

// parseResolver reads 'resolver ADDRESS...': IP addresses with an optional port (53 by default),
// or a resolv.conf-style file, as CoreDNS's forward takes them (plugin/pkg/parse).
func parseResolver(c *caddy.Controller, cfg *config) error {
	args, err := listOnce(c, cfg.resolvers != nil, "address", "127.0.0.1:5301")
	if err != nil {
		return err
	}
	for _, a := range args {
		if strings.ContainsRune(a, '/') && !strings.Contains(a, "://") {
			if _, err := os.Stat(a); err != nil {
				return c.Errf("resolver '%s' names a resolv.conf file that cannot be read (%v): give the file's path, or addresses such as 127.0.0.1:5301", a, err)
			}
		}
		addrs, err := hostport.HostPortOrFile(a)
		if trans, _ := hostport.Transport(a); err != nil || trans != transport.DNS {
			return c.Errf("resolver address '%s' is not an IP address with an optional port or a resolv.conf file, e.g. 127.0.0.1:5301, [::1]:53 or /etc/resolv.conf", a)
		}
		for _, addr := range addrs {
			// plugin/pkg/parse takes any number for a port: one out of range would fail every
			// lookup at run time instead.
			_, port, _ := net.SplitHostPort(addr)
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return c.Errf("resolver address '%s' has port '%s': the port must be a number from 1 to 65535, e.g. 127.0.0.1:5301", a, port)
			}
		}
		cfg.resolvers = append(cfg.resolvers, addrs...)
	}
	return nil
}

// parseTargets reads 'targets ZONE...': the zones, beside the block's, that chains may reach.
func parseTargets(c *caddy.Controller, cfg *config) error {
	args, err := listOnce(c, cfg.targets != nil, "zone", "example.net cdn.example.com")
	if err != nil {
		return err
	}
	for _, a := range args {
		z := plugin.Host(a).NormalizeExact()
		if len(z) == 0 || !validName(z[0]) {
			return c.Errf("targets zone '%s' is not a zone name: write a domain name such as example.net", a)
		}
		cfg.targets = append(cfg.targets, z...)
	}
	return nil
}

// listOnce reads the current property's list of what (at least one), and refuses the property
// given a second time (seen).
func listOnce(c *caddy.Controller, seen bool, what, example string) ([]string, error) {
	prop, args := c.Val(), c.RemainingArgs()
	if len(args) == 0 {
		return nil, c.Errf("'%s' needs at least one %s, e.g. '%s %s'", prop, what, prop, example)
	}
	if seen {
		return nil, c.Errf("'%s' given twice: list every %s on one line", prop, what)
	}
	return args, nil
}

// parseTTL reads 'ttl [MIN] MAX', in seconds.
func parseTTL(c *caddy.Controller, cfg *config) error {
	args := c.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return c.Errf("'ttl' takes [MIN] MAX in seconds, e.g. 'ttl 30 3600' (default %d %d)", defaultMinTTL, defaultMaxTTL)
	}
	var n [2]uint32
	for i, a := range args {
		v, err := strconv.ParseUint(a, 10, 32)
		if err != nil || v > chain.MaxTTL {
			return c.Errf("ttl '%s' is not a number of seconds from 0 to %d", a, chain.MaxTTL)
		}
		n[i] = uint32(v)
	}
	lo, hi := cfg.minTTL, n[0]
	if len(args) == 2 {
		lo, hi = n[0], n[1]
	}
	switch {
	case hi == 0:
		return c.Errf("'ttl %s': MAX must be at least 1 second", strings.Join(args, " "))
	case lo > hi && len(args) == 1:
		return c.Errf("'ttl %d': MAX %d is below the default MIN %d: write 'ttl 0 %d' to allow TTLs that low", hi, hi, lo, hi)
	case lo > hi:
		return c.Errf("'ttl %d %d': MIN %d is above MAX %d: write MIN first, e.g. 'ttl %d %d'", lo, hi, lo, hi, hi, lo)
	}
	cfg.minTTL, cfg.maxTTL = lo, hi
	return nil
}

// parseCount reads the current property's one whole number in [lo, hi].
func parseCount(c *caddy.Controller, what string, lo, hi, def int) (int, error) {
	prop, args := c.Val(), c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.Errf("'%s' takes one number, %s (default %d)", prop, what, def)
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return 0, c.Errf("%s '%s' is not a whole number: write one from %d to %d, %s (default %d)", prop, args[0], lo, hi, what, def)
	}
	if n < lo || n > hi {
		return 0, c.Errf("%s '%s' is out of range: write a whole number from %d to %d (default %d)", prop, args[0], lo, hi, def)
	}
	return n, nil
}

// parseDuration reads the current property's one duration from 0 to a week (a bare number is
// seconds, as everywhere in CoreDNS).
func parseDuration(c *caddy.Controller, what string) (time.Duration, error) {
	prop, args := c.Val(), c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.Errf("'%s' takes one duration, %s", prop, what)
	}
	d, err := durations.NewDurationFromArg(args[0])
	if err != nil || d < 0 || d > 7*24*time.Hour {
		return 0, c.Errf("%s '%s' is not a duration from 0 to 168h, e.g. 24h, 30m or 15s", prop, args[0])
	}
	return d, nil
}
