package main

// What cnamelint takes from a Corefile: the zone files of the file plugin, with their zones (from
// the server blocks' keys when a file line names none), and the aliases declared to flatten.

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// zoneOfKey is the zone a server block key names: its scheme and port left out, a reverse zone
// for an IPv4 or IPv6 network whose prefix ends on a label; "" when it names none.
func zoneOfKey(key string) string {
	if _, rest, ok := strings.Cut(key, "://"); ok {
		key = rest
	}
	if _, n, err := net.ParseCIDR(key); err == nil {
		ones, bits := n.Mask.Size()
		step := 8
		if bits == 128 {
			step = 4
		}
		if ones%step != 0 {
			return ""
		}
		rev, err := dns.ReverseAddr(n.IP.String())
		if err != nil {
			return ""
		}
		labels := dns.SplitDomainName(rev)
		return dns.Fqdn(strings.Join(labels[(bits-ones)/step:], "."))
	}
	if i := strings.LastIndexByte(key, ':'); i >= 0 && !strings.Contains(key[:i], ":") {
		if _, err := strconv.Atoi(key[i+1:]); err == nil || key[i+1:] == "" {
			key = key[:i]
		}
	}
	if key == "" {
		return "."
	}
	return dns.CanonicalName(key)
}

// corefileZone is a zone file a Corefile serves, with one of its origins.
type corefileZone struct {
	path, origin string
}

// readCorefile reads a Corefile's zone files (file plugin lines, each for every zone it names or
// else the server block's zones) and declared aliases (flatten plugin alias lines). Relative zone
// file paths are taken from the Corefile's directory, or from the block's root directive (itself
// relative to that directory).
func readCorefile(path string) ([]corefileZone, map[string]string, error) {
	b, err := os.ReadFile(path) // #nosec G703 -- the Corefile the command line names is the input
	if err != nil {
		return nil, nil, err
	}
	blocks, err := parseCorefile(string(b))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	var zones []corefileZone
	aliases := map[string]string{}
	for _, sb := range blocks {
		var keys []string
		for _, k := range sb.keys {
			if z := zoneOfKey(k); z != "" {
				keys = append(keys, z)
			}
		}
		root := dir
		for _, d := range sb.directives {
			if d.name == "root" && len(d.args) == 1 {
				root = d.args[0].text
				if !filepath.IsAbs(root) {
					root = filepath.Join(dir, root)
				}
			}
		}
		for _, d := range sb.directives {
			switch d.name {
			case "file":
				if len(d.args) == 0 {
					return nil, nil, fmt.Errorf("%s:%d: file needs a zone file", path, d.line)
				}
				file := d.args[0].text
				if !filepath.IsAbs(file) {
					file = filepath.Join(root, file)
				}
				origins := keys
				if len(d.args) > 1 {
					origins = nil
					for _, a := range d.args[1:] {
						origins = append(origins, dns.CanonicalName(a.text))
					}
				}
				for _, o := range origins {
					zones = append(zones, corefileZone{path: file, origin: o})
				}
			case "flatten":
				for _, a := range d.block {
					if a.name == "alias" && len(a.args) == 2 {
						aliases[dns.CanonicalName(a.args[0].text)] = dns.CanonicalName(a.args[1].text)
					}
				}
			}
		}
	}
	return zones, aliases, nil
}
