package rules

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// A zone given in part (a service backend's aliases, not its every name): a target in it that the
// records do not hold is asked of the Oracle, not taken as nonexistent. Chains within the records
// are walked as in any zone.
func TestPartialZone(t *testing.T) {
	t.Parallel()
	records := make([]dns.RR, 0, 6)
	for _, s := range []string{
		"cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5",
		"web.prod.svc.cluster.local. 5 IN CNAME www.example.net.",
		"api.prod.svc.cluster.local. 5 IN CNAME backend.prod.svc.cluster.local.",   // a service: exists
		"stray.prod.svc.cluster.local. 5 IN CNAME nosuch.prod.svc.cluster.local.",  // no such service
		"loop-x.prod.svc.cluster.local. 5 IN CNAME loop-y.prod.svc.cluster.local.", // two aliases
		"loop-y.prod.svc.cluster.local. 5 IN CNAME loop-x.prod.svc.cluster.local.",
	} {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, rr)
	}
	// What the service backend and the world answer: backend exists, nosuch does not.
	o := &partialOracle{known: fakeOracle{
		"www.example.net.":                {"www.example.net. 60 IN A 192.0.2.10"},
		"backend.prod.svc.cluster.local.": {"backend.prod.svc.cluster.local. 5 IN A 10.96.0.20"},
	}, missing: map[string]bool{"nosuch.prod.svc.cluster.local.": true}}

	res := Run(context.Background(), []Zone{{Origin: "cluster.local.", Records: records, Partial: true}}, Config{Oracle: o})
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Rule+" "+f.Owner)
	}
	want := []string{"cname-loop loop-x.prod.svc.cluster.local.", "dangling-cname stray.prod.svc.cluster.local."}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("findings %q, want %q", got, want)
	}
	if !o.asked["backend.prod.svc.cluster.local."] || !o.asked["nosuch.prod.svc.cluster.local."] {
		t.Errorf("the names of the zone that the records lack were not asked: %v", o.asked)
	}

	// The same records given as the whole zone: every target they lack does not exist.
	res = Run(context.Background(), []Zone{{Origin: "cluster.local.", Records: records}}, Config{Oracle: o})
	got = got[:0]
	for _, f := range res.Findings {
		got = append(got, f.Rule+" "+f.Owner)
	}
	want = []string{"dangling-cname api.prod.svc.cluster.local.", "cname-loop loop-x.prod.svc.cluster.local.", "dangling-cname stray.prod.svc.cluster.local."}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("whole zone: findings %q, want %q", got, want)
	}
}

// partialOracle answers known names with their records and missing ones with NXDOMAIN; anything
// else is REFUSED. It notes every name asked.
type partialOracle struct {
	known   fakeOracle
	missing map[string]bool
	mu      sync.Mutex
	asked   map[string]bool
}

func (o *partialOracle) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	name = dns.CanonicalName(name)
	o.mu.Lock()
	if o.asked == nil {
		o.asked = map[string]bool{}
	}
	o.asked[name] = true
	o.mu.Unlock()
	if _, ok := o.known[name]; ok {
		return o.known.Lookup(ctx, name, qtype)
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Rcode = dns.RcodeRefused
	if o.missing[name] {
		m.Rcode = dns.RcodeNameError
	}
	return m, nil
}
