package audit

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// countingOracle answers NXDOMAIN for every name and counts the questions.
type countingOracle struct{ asked atomic.Int32 }

func (o *countingOracle) Lookup(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
	o.asked.Add(1)
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Rcode = dns.RcodeNameError
	return m, nil
}

// A check queued by a zone change reuses the answers asked within the audit interval, but for the
// names answered in memory; without an interval nothing is reused; every outcome is recorded
// for the next interval's comparison.
func TestRecorderKeepsAnswers(t *testing.T) {
	t.Parallel()
	live := func(name string) bool { return strings.HasSuffix(name, ".cluster.local.") }
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		keep        time.Duration
		qname       string
		wantAsked   int32
		wantOutcome int
	}{
		{"kept within the interval", time.Hour, "gone.example.net.", 1, dns.RcodeNameError},
		{"answered in memory: never kept", time.Hour, "nosuch.default.svc.cluster.local.", 2, dns.RcodeNameError},
		{"no interval: never kept", 0, "gone.example.net.", 2, dns.RcodeNameError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &countingOracle{}
			r := newRecorder(o, tc.keep, live)
			r.Lookup(ctx, tc.qname, dns.TypeA)
			r.reset() // the next check
			m, err := r.Lookup(ctx, strings.ToUpper(tc.qname), dns.TypeA)
			if err != nil || m.Rcode != dns.RcodeNameError {
				t.Fatalf("second answer %v, %v", m, err)
			}
			if got := o.asked.Load(); got != tc.wantAsked {
				t.Errorf("asked the oracle %d times, want %d", got, tc.wantAsked)
			}
			if got := r.seen[question{name: tc.qname, qtype: dns.TypeA}]; got != tc.wantOutcome {
				t.Errorf("recorded outcome %d, want %d", got, tc.wantOutcome)
			}
		})
	}

	// An answer older than the interval is asked again, and dropped at the next check.
	o := &countingOracle{}
	r := newRecorder(o, time.Hour, live)
	r.Lookup(ctx, "old.example.net.", dns.TypeA)
	q := question{name: "old.example.net.", qtype: dns.TypeA}
	r.kept[q] = kept{m: r.kept[q].m, at: time.Now().Add(-2 * time.Hour)}
	r.reset()
	if _, ok := r.kept[q]; ok {
		t.Error("an answer older than the interval is still kept after a reset")
	}
	r.Lookup(ctx, "old.example.net.", dns.TypeA)
	if got := o.asked.Load(); got != 2 {
		t.Errorf("asked %d times, want 2: an answer older than the interval is asked again", got)
	}
}

// proberFunc is a rules.Prober from a function.
type proberFunc func(ctx context.Context, server, name string, qtype uint16) (*dns.Msg, error)

func (f proberFunc) Probe(ctx context.Context, server, name string, qtype uint16) (*dns.Msg, error) {
	return f(ctx, server, name, qtype)
}

// A probe's outcome is recorded and asked again every interval: a delegation whose zone is
// deleted at its DNS host turns lame with no change in this zone, and the next interval sees it.
// A NOERROR reply without the SOA (NODATA) is an outcome of its own.
func TestRecorderProbes(t *testing.T) {
	t.Parallel()
	var served atomic.Bool
	served.Store(true)
	var probes atomic.Int32
	p := proberFunc(func(_ context.Context, server, name string, qtype uint16) (*dns.Msg, error) {
		probes.Add(1)
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		if served.Load() {
			soa, _ := dns.NewRR(name + " 60 IN SOA " + server + " h. 1 2 3 4 5")
			m.Answer = []dns.RR{soa}
		}
		return m, nil
	})
	ctx := context.Background()
	r := newRecorder(&countingOracle{}, time.Hour, nil)
	r.p = p
	r.Probe(ctx, "NS1.Host.example.net.", "sub.example.org.", dns.TypeSOA)
	if got := r.seen[question{name: "sub.example.org.", qtype: dns.TypeSOA, server: "ns1.host.example.net."}]; got != dns.RcodeSuccess {
		t.Errorf("recorded outcome %d, want NOERROR", got)
	}
	if r.changed(ctx) || probes.Load() != 2 {
		t.Errorf("unchanged name server: changed, or %d probes (want 2)", probes.Load())
	}
	served.Store(false) // the zone is gone at the host: NOERROR, no SOA
	if !r.changed(ctx) || probes.Load() != 3 {
		t.Errorf("a name server that stopped serving the zone is not seen as a change (%d probes)", probes.Load())
	}
}

// gatedOracle answers NXDOMAIN once recheckParallel questions are in flight together, and
// records the most it saw in flight.
type gatedOracle struct {
	inflight, most atomic.Int32
	gate           chan struct{}
	once           sync.Once
}

func (o *gatedOracle) Lookup(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
	n := o.inflight.Add(1)
	defer o.inflight.Add(-1)
	for m := o.most.Load(); n > m && !o.most.CompareAndSwap(m, n); m = o.most.Load() {
	}
	if n == recheckParallel {
		o.once.Do(func() { close(o.gate) })
	}
	select {
	case <-o.gate:
	case <-time.After(time.Second): // asked one at a time: the gate never opens
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Rcode = dns.RcodeNameError
	return m, nil
}

// The questions asked again every interval are asked recheckParallel at a time, never more: name
// servers that do not answer cost seconds each, and the audit's pass waits for them.
func TestRecorderChangedInParallel(t *testing.T) {
	o := &gatedOracle{gate: make(chan struct{})}
	r := newRecorder(o, 0, nil)
	for i := range 4 * recheckParallel {
		r.seen[question{name: fmt.Sprintf("t%d.example.net.", i), qtype: dns.TypeA}] = dns.RcodeNameError
	}
	if r.changed(context.Background()) {
		t.Error("no outcome changed, but changed says one did")
	}
	if got := o.most.Load(); got != recheckParallel {
		t.Errorf("at most %d questions in flight, want %d", got, recheckParallel)
	}
}
