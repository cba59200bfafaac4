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
	for range 3 {
		cc.of(a).hits.Inc()
		cc.of(b).flattenedOf(dns.TypeAAAA).Inc()
		cc.of(b).flattenedOf(dns.TypeMX).Inc() // a type not prepared: looked up
	}
	for _, c := range []struct {
		got  float64
		want float64
		what string
	}{
		{testutil.ToFloat64(cacheHits.WithLabelValues(metrics.WithServer(a))), 3, "hits of a"},
		{testutil.ToFloat64(cacheHits.WithLabelValues(metrics.WithServer(b))), 0, "hits of b"},
		{testutil.ToFloat64(flattenedCount.WithLabelValues(metrics.WithServer(b), "AAAA")), 3, "AAAA of b"},
		{testutil.ToFloat64(flattenedCount.WithLabelValues(metrics.WithServer(b), "MX")), 3, "MX of b"},
		{testutil.ToFloat64(flattenedCount.WithLabelValues(metrics.WithServer(a), "AAAA")), 0, "AAAA of a"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
}
