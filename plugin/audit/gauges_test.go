package audit

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Two server blocks' auditors publish to one gauge vector: each replaces only its own values, so
// one block's audit never erases the other's figures.
func TestGaugeSetsShareAVector(t *testing.T) {
	vec := promauto.With(nil).NewGaugeVec(prometheus.GaugeOpts{Name: "refs", Help: "test"}, []string{"target"}) // registered nowhere
	a, b := newGaugeSet(vec), newGaugeSet(vec)
	a.publish([]gauge{{[]string{"cdn.example.net."}, 3}, {[]string{"old.example.net."}, 1}})
	b.publish([]gauge{{[]string{"mail.example.com."}, 2}})
	a.publish([]gauge{{[]string{"cdn.example.net."}, 4}}) // old.example.net. no longer referenced

	if n := testutil.CollectAndCount(vec); n != 2 {
		t.Errorf("%d series, want 2 (cdn from a, mail from b)", n)
	}
	for target, want := range map[string]float64{"cdn.example.net.": 4, "mail.example.com.": 2} {
		if got := testutil.ToFloat64(vec.WithLabelValues(target)); got != want {
			t.Errorf("%s = %v, want %v", target, got, want)
		}
	}
	b.publish(nil)
	if n := testutil.CollectAndCount(vec); n != 1 {
		t.Errorf("%d series after b found nothing, want 1", n)
	}
}
