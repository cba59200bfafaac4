package flatten

import (
	"context"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/miekg/dns"
)

// A block that listens on two addresses counts each question under its own server's label, as
// the questions alternate between them; the counters found once are those of the metric vectors.
func TestCountersPerServer(t *testing.T) {
	var cc counterCache
	a := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: "dns://127.0.0.1:10531"})
	b := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: "dns://127.0.0.1:10532"})
	read := func() [5]float64 {
		return [5]float64{
			testutil.ToFloat64(cacheHits.WithLabelValues(metrics.WithServer(a))),
			testutil.ToFloat64(cacheHits.WithLabelValues(metrics.WithServer(b))),
			testutil.ToFloat64(flattenedCount.WithLabelValues(metrics.WithServer(b), "AAAA")),
			testutil.ToFloat64(flattenedCount.WithLabelValues(metrics.WithServer(b), "MX")),
			testutil.ToFloat64(flattenedCount.WithLabelValues(metrics.WithServer(a), "AAAA")),
		}
	}
	before := read()
	for range 3 {
		cc.of(a).hits.Inc()
		cc.of(b).flattenedOf(dns.TypeAAAA).Inc()
		cc.of(b).flattenedOf(dns.TypeMX).Inc() // a type not prepared: looked up
	}
	after := read()
	for i, c := range []struct {
		want float64
		what string
	}{
		{3, "hits of a"}, {0, "hits of b"}, {3, "AAAA of b"}, {3, "MX of b"}, {0, "AAAA of a"},
	} {
		if got := after[i] - before[i]; got != c.want {
			t.Errorf("%s: grew by %v, want %v", c.what, got, c.want)
		}
	}
}
