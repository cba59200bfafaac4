// Command coredns is CoreDNS 1.15.0 with every in-tree plugin plus flatten.
package main

import (
	"fmt"
	"os"

	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/core/plugin" // Every in-tree plugin.
	"github.com/coredns/coredns/coremain"

	_ "github.com/dnsflatten/flatten" // Registers the flatten directive.
)

// anchor is the directive flatten is inserted in front of: cache, so that the plugin's own replies
// (and their extended errors, which CoreDNS 1.15's cache drops) go straight to the client. See the
// README's "Plugin order".
const anchor = "cache"

func init() {
	d, err := insertBefore(dnsserver.Directives, anchor, "flatten")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dnsserver.Directives = d
}

// insertBefore returns directives with name inserted just before anchor. It fails when anchor is
// missing, so that a CoreDNS upgrade that renames or drops it stops the build's binary from starting
// with the plugin in a wrong place.
func insertBefore(directives []string, anchor, name string) ([]string, error) {
	for i, d := range directives {
		if d == anchor {
			out := make([]string, 0, len(directives)+1)
			out = append(out, directives[:i]...)
			out = append(out, name)
			return append(out, directives[i:]...), nil
		}
	}
	return nil, fmt.Errorf("flatten: directive %q not found in CoreDNS's plugin order; cannot place %q", anchor, name)
}

func main() { coremain.Run() }
