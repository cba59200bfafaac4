// Command coredns is CoreDNS 1.15.0 with every in-tree plugin plus flatten.
package main

import (
	"fmt"
	"os"

	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/core/plugin" // Every in-tree plugin.
	"github.com/coredns/coredns/coremain"
	_ "github.com/dnsflatten/flatten" // Registers the flatten directive.
	"github.com/dnsflatten/flatten/internal/directive"
)

func init() {
	d, err := directive.Place(dnsserver.Directives)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dnsserver.Directives = d
}

func main() { coremain.Run() }
