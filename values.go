package flatten

// The values of a flatten block's properties: zones, selectors, aliases, addresses, targets, TTLs,
// counts and durations, each read with the error an operator needs to mend it.

import (
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/durations"
	hostport "github.com/coredns/coredns/plugin/pkg/parse"
	"github.com/coredns/coredns/plugin/pkg/transport"

	"github.com/miekg/dns"
)

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
		if !plugin.Zones(cfg.zones).Contains(n) {
			return c.Errf("'%s' is not inside this block's zones (%s): write the full name, e.g. '%s'",
				a, strings.Join(cfg.zones, " "), strings.TrimSuffix(a, ".")+"."+cfg.zones[0])
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
	if !plugin.Zones(cfg.zones).Contains(name) {
		return c.Errf("alias name '%s' is not inside this block's zones (%s): write the full name", args[0], strings.Join(cfg.zones, " "))
	}
	if equalFold(name, target) {
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
		addrs, err := hostport.HostPortOrFile(a)
		if trans, _ := hostport.Transport(a); err != nil || trans != transport.DNS {
			return c.Errf("resolver address '%s' is not an IP address with an optional port or a resolv.conf file, e.g. 127.0.0.1:5301, [::1]:53 or /etc/resolv.conf", a)
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
		if err != nil || v > maxTTL {
			return c.Errf("ttl '%s' is not a number of seconds from 0 to %d", a, maxTTL)
		}
		n[i] = uint32(v)
	}
	lo, hi := cfg.minTTL, n[0]
	if len(args) == 2 {
		lo, hi = n[0], n[1]
	}
	if hi == 0 || lo > hi {
		return c.Errf("ttl MIN %d and MAX %d: MAX must be at least 1 and not below MIN", lo, hi)
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
	if err != nil || n < lo || n > hi {
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
