package flatten

import (
	"context"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"

	"github.com/miekg/dns"
)

// A block that listens on two addresses counts each answer under its own server's label, as the
// questions alternate between them; the counters found once are those of the metric vectors.
func TestCountersPerServer(t *testing.T) {
	cc := newCounters()
	const sa, sb = "dns://127.0.0.1:10531", "dns://127.0.0.1:10532"
	a := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: sa})
	b := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: sb})
	read := func() [6]float64 {
		return [6]float64{
			metric("coredns_flatten_flattened_total", "server", sa, "type", "A"),
			metric("coredns_flatten_alias_mode_total", "server", sa),
			metric("coredns_flatten_flattened_total", "server", sb, "type", "AAAA"),
			metric("coredns_flatten_flattened_total", "server", sb, "type", "MX"),
			metric("coredns_flatten_flattened_total", "server", sa, "type", "AAAA"),
			metric("coredns_flatten_alias_mode_total", "server", sb),
		}
	}
	before := read()
	for range 3 {
		cc.Of(a).answered(dns.TypeA, true)
		cc.Of(b).answered(dns.TypeAAAA, false)
		cc.Of(b).answered(dns.TypeMX, false) // a type not prepared: looked up
	}
	after := read()
	for i, c := range []struct {
		want float64
		what string
	}{
		{3, "A of a"}, {3, "alias mode of a"}, {3, "AAAA of b"}, {3, "MX of b"}, {0, "AAAA of a"}, {0, "alias mode of b"},
	} {
		if got := after[i] - before[i]; got != c.want {
			t.Errorf("%s: grew by %v, want %v", c.what, got, c.want)
		}
	}
}
