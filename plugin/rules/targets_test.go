package rules

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// recordingOracle answers as the test oracle and records each question as "name TYPE".
type recordingOracle struct {
	mu    sync.Mutex
	asked []string
}

func (o *recordingOracle) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	o.mu.Lock()
	o.asked = append(o.asked, dns.CanonicalName(name)+" "+dns.TypeToString[qtype])
	o.mu.Unlock()
	return oracle.Lookup(ctx, name, qtype)
}

// questions is what was asked, sorted, each once (a question that failed is asked twice).
func (o *recordingOracle) questions() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Compact(slices.Sorted(slices.Values(o.asked)))
}

// Chains must stay within the zones checked and the targets allowed; the first name outside both
// is named, and nothing is asked about it or beyond.
func TestTargetsAllowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		targets  []string
		zone     string
		findings []string
		asked    []string
	}{{
		name:    "no limit",
		targets: nil,
		zone:    "www IN CNAME shop.example.com.\n",
		asked:   []string{"ns1.example.net. CNAME", "shop.example.com. A"},
	}, {
		name:    "a CNAME to an allowed zone, and one out of it",
		targets: []string{"example.net", "Example.Edu."},
		zone:    "www IN CNAME www.example.net.\nshop IN CNAME shop.example.com.\n",
		findings: []string{"error target-not-allowed shop.example.org.: CNAME chain leaves the targets allowed at shop.example.com., which is under none of the zones checked nor the targets allowed (example.edu., example.net.): shop.example.org. -> shop.example.com.; " +
			"fix: point shop.example.org. at a name under a zone allowed, or allow the zone of shop.example.com."},
		asked: []string{"ns1.example.net. CNAME", "www.example.net. A"},
	}, {
		name:    "a chain within the zone, then out through a DNAME",
		targets: []string{"example.net."},
		zone:    "a IN CNAME b\nb IN CNAME x.d\nd IN DNAME example.com.\n",
		findings: []string{"error target-not-allowed a.example.org.: CNAME chain leaves the targets allowed at x.example.com., which is under none of the zones checked nor the targets allowed (example.net.): a.example.org. -> b.example.org. -> x.d.example.org. -> x.example.com.; " +
			"fix: point a.example.org. at a name under a zone allowed, or allow the zone of x.example.com."},
		asked: []string{"ns1.example.net. CNAME"},
	}, {
		name:    "no zone outside the zones checked; an AliasMode record",
		targets: []string{},
		zone:    "@ IN HTTPS 0 cdn.example.net.\nwww IN CNAME @\n",
		findings: []string{"error target-not-allowed www.example.org.: alias chain leaves the targets allowed at cdn.example.net., which is outside the zones checked, and no other zone is allowed: www.example.org. -> example.org. -> cdn.example.net.; " +
			"fix: point www.example.org. at a name under a zone allowed, or allow the zone of cdn.example.net."},
		asked: []string{"ns1.example.net. CNAME"},
	}, {
		name:    "an email delegation out of the targets is not followed",
		targets: []string{"example.net."},
		zone:    "s1._domainkey IN CNAME s1.dkim.example.com.\n",
		findings: []string{"error target-not-allowed s1._domainkey.example.org.: CNAME chain leaves the targets allowed at s1.dkim.example.com., which is under none of the zones checked nor the targets allowed (example.net.): s1._domainkey.example.org. -> s1.dkim.example.com.; " +
			"fix: point s1._domainkey.example.org. at a name under a zone allowed, or allow the zone of s1.dkim.example.com."},
		asked: []string{"ns1.example.net. CNAME"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			o := &recordingOracle{}
			got := texts(Check(context.Background(), []Zone{zone(t, tc.zone)}, Config{Oracle: o, Targets: tc.targets}))
			if !slices.Equal(got, tc.findings) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.findings, "\n  "))
			}
			if asked := o.questions(); !slices.Equal(asked, tc.asked) {
				t.Errorf("asked %v, want %v", asked, tc.asked)
			}
		})
	}
}
