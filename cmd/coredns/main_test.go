package main

import (
	"slices"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

// The order the README promises: directly before cache (the plugin's replies and their extended
// errors go straight to the client; cache still serves everything the plugin passes through),
// after the plugins that shape questions and log or count replies, before dnssec (which the plugin
// calls itself to sign what it composes) and every plugin that produces CNAMEs.
func TestDirectiveOrder(t *testing.T) {
	at := slices.Index(dnsserver.Directives, "flatten")
	if at < 0 {
		t.Fatal("flatten is not in the directive order")
	}
	if dnsserver.Directives[at+1] != "cache" {
		t.Errorf("flatten is followed by %s, want cache", dnsserver.Directives[at+1])
	}
	for _, before := range []string{"acl", "rewrite", "any", "dns64", "prometheus", "errors", "log"} {
		if i := slices.Index(dnsserver.Directives, before); i < 0 || i > at {
			t.Errorf("%s must come before flatten (at %d, flatten at %d)", before, i, at)
		}
	}
	for _, after := range []string{"cache", "dnssec", "minimal", "template", "hosts", "route53", "azure", "clouddns", "k8s_external", "kubernetes", "file", "auto", "secondary", "etcd", "forward", "grpc"} {
		if i := slices.Index(dnsserver.Directives, after); i < at {
			t.Errorf("%s must come after flatten (at %d, flatten at %d)", after, i, at)
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(dnsserver.Directives), func(d string) bool { return d != "flatten" })); n != 1 {
		t.Errorf("flatten appears %d times", n)
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(caddy.ListPlugins()["others"], "dns.flatten") {
		t.Errorf("dns.flatten is not registered: %v", caddy.ListPlugins()["others"])
	}
}
