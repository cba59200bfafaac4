package flatten

import (
	"context"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/miekg/dns"
)

// A server block with two keys ('example.org example.net { ... }') builds its chain once per key,
// with the same function: it gets one plugin, the one its hooks start (audit, resolver), with the
// chain built last after it. Two plugins would leave the one answering the first key without a
// running audit: no purge of its cached chains when a zone's serial changes.
func TestOnePluginPerBlock(t *testing.T) {
	c := caddy.NewTestController("dns", "flatten example.org")
	c.ServerBlockKeys = []string{"example.org.:53", "example.net.:53"}
	if err := setup(c); err != nil {
		t.Fatal(err)
	}
	build := dnsserver.GetConfig(c).Plugin
	if len(build) != 1 {
		t.Fatalf("%d plugin functions, want 1", len(build))
	}
	first := handlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) { return 0, nil })
	last := handlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) { return 1, nil })
	a, b := build[0](first), build[0](last)
	f, ok := b.(*Flatten)
	if !ok || a != b {
		t.Fatalf("the two keys got %p and %p: want one plugin", a, b)
	}
	t.Cleanup(f.stop)
	if rc, _ := f.Next.ServeDNS(context.Background(), nil, nil); rc != 1 {
		t.Error("the plugin's next is not the chain built last")
	}
	if m, err := f.chase.Ask(context.Background(), "example.org.", dns.TypeA); err != nil || m.Rcode != 1 {
		t.Errorf("the plugin's own questions got %v, %v: they do not go to the chain built last", m, err)
	}
}
