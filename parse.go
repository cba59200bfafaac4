package flatten

// Reading a flatten block of the Corefile into a config. Every mistake stops CoreDNS at start-up
// with the file, the line and what to write instead.

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"

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

// checkTargets refuses a declared alias whose target the targets list would refuse.
func checkTargets(c *caddy.Controller, cfg config) error {
	if len(cfg.targets) == 0 {
		return nil
	}
	allowed := append(slices.Clone(cfg.zones), cfg.targets...)
	for _, name := range slices.Sorted(maps.Keys(cfg.aliases)) {
		if target := cfg.aliases[name]; plugin.Zones(allowed).Matches(target) == "" {
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
		if *selector != "" {
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
		cfg.expandTransfer = true
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
