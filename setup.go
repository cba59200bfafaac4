package flatten

import (
	"strconv"
	"strings"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/upstream"

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
			default:
				return nil, c.Errf("unknown property '%s': expected apex, all, names or max_chain", prop)
			}
		}
	}
	return f, nil
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
	args := c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.Errf("'max_chain' takes one number, the CNAME hops allowed (1 to %d, default %d)", maxMaxChain, defaultMaxChain)
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > maxMaxChain {
		return 0, c.Errf("max_chain '%s' is out of range: write a whole number from 1 to %d (default %d)", args[0], maxMaxChain, defaultMaxChain)
	}
	return n, nil
}

// validName reports whether name is a syntactically valid domain name.
func validName(name string) bool {
	_, ok := dns.IsDomainName(name)
	return ok && name != ""
}
