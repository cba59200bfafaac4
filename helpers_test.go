package flatten

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/target"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	soaOrg = test.SOA("example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")
	soaNet = test.SOA("example.net. 3600 IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 300")
)

// newTest builds the plugin, configured by the defaults for example.org and then opts, in front
// of next, with names outside its zones resolved by out, on a fake clock. It is stopped when the
// test ends.
func newTest(t *testing.T, next plugin.Handler, out target.Outside, opts ...func(*config)) (*Flatten, *clock) {
	t.Helper()
	cfg := defaults(chain.Zones{"example.org."})
	for _, o := range opts {
		o(&cfg)
	}
	f := newFlatten(cfg, next, block{outside: out})
	clk := &clock{t: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	f.chase.Now = clk.now
	t.Cleanup(f.stop)
	return f, clk
}

// clock is a fake clock for the cache: tests move it, never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// backend is a small authoritative stand-in for the rest of the plugin chain (example.org) and for
// the servers outside (example.net). Unlike the file plugin it never chases a CNAME, so every hop
// past the first answer costs the plugin a lookup.
type backend struct {
	rrs  []dns.RR
	fail map[string]int // names answered with this rcode; -1: a transport error, -2: no answer
	// gate, when set, holds outside lookups until closed.
	gate  chan struct{}
	calls atomic.Int32 // outside lookups
}

func (b *backend) answer(r *dns.Msg) *dns.Msg {
	q := r.Question[0]
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if rc, ok := b.fail[strings.ToLower(q.Name)]; ok && rc >= 0 {
		m.Rcode = rc
		return m
	}
	exists := false
	var cname []dns.RR
	for _, rr := range b.rrs {
		if !strings.EqualFold(rr.Header().Name, q.Name) {
			continue
		}
		exists = true
		switch rr.Header().Rrtype {
		case q.Qtype:
			m.Answer = append(m.Answer, rr)
		case dns.TypeCNAME:
			cname = append(cname, rr)
		}
	}
	if len(m.Answer) == 0 {
		m.Answer = cname
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{soaOrg}
		if strings.HasSuffix(strings.ToLower(q.Name), "example.net.") {
			m.Ns = []dns.RR{soaNet}
		}
		if !exists {
			m.Rcode = dns.RcodeNameError
		}
	}
	return m
}

func (b *backend) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	w.WriteMsg(b.answer(r))
	return dns.RcodeSuccess, nil
}

func (b *backend) Name() string { return "backend" }

func (b *backend) Lookup(_ context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	b.calls.Add(1)
	if b.gate != nil {
		<-b.gate
	}
	switch b.fail[strings.ToLower(name)] {
	case -1:
		return nil, "", errors.New("i/o timeout")
	case -2:
		return nil, "", nil
	}
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	return b.answer(r), "", nil
}

// set replaces the records of names outside example.org.
func (b *backend) set(rrs []dns.RR, fail map[string]int) {
	var keep []dns.RR
	for _, rr := range b.rrs {
		if chain.In(rr.Header().Name, "example.org.") {
			keep = append(keep, rr)
		}
	}
	b.rrs, b.fail = append(keep, rrs...), fail
}

type handlerFunc func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error)

func (h handlerFunc) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return h(ctx, w, r)
}
func (h handlerFunc) Name() string { return "func" }

// ask sends the plugin one question with EDNS and returns its reply.
func ask(t *testing.T, f *Flatten, name string, qtype uint16) *dns.Msg {
	t.Helper()
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	r.SetEdns0(1232, false)
	return serve(t, f, r)
}

// serve sends the plugin r and returns its reply.
func serve(t *testing.T, f *Flatten, r *dns.Msg) *dns.Msg {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := f.ServeDNS(context.Background(), rec, r); err != nil {
		t.Fatal(err)
	}
	if rec.Msg == nil {
		t.Fatal("no reply")
	}
	return rec.Msg
}

// expect checks a reply, and its extended error ("code: text", or "" for none).
func expect(t *testing.T, m *dns.Msg, want test.Case, wantEDE string) {
	t.Helper()
	if got := ede(m); got != wantEDE {
		t.Errorf("extended error %q, want %q", got, wantEDE)
	}
	m.Extra = withoutOPT(m.Extra)
	if err := test.SortAndCheck(m, want); err != nil {
		t.Error(err)
	}
}

func withoutOPT(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

// ede returns the extended error in m as "code: text", or "".
func ede(m *dns.Msg) string {
	o := m.IsEdns0()
	if o == nil {
		return ""
	}
	for _, opt := range o.Option {
		if e, ok := opt.(*dns.EDNS0_EDE); ok {
			return strconv.Itoa(int(e.InfoCode)) + ": " + e.ExtraText
		}
	}
	return ""
}

// lookupsDone returns the lookups counted so far (the metric, server label "" in unit tests).
func lookupsDone() int { return int(metric("coredns_flatten_lookups_total", "server", "")) }

// metric returns the value of the process's metric name with the labels given (name, value, ...),
// as Prometheus would scrape it; 0 when it does not exist.
func metric(name string, labels ...string) float64 {
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func withECS(r *dns.Msg, family uint16, bits uint8, addr string) *dns.Msg {
	r.IsEdns0().Option = append(r.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: bits, Address: net.ParseIP(addr)})
	return r
}

// hops returns a chain h0 -> h1 -> ... -> hn in example.org.
func hops(n int) []dns.RR {
	rrs := make([]dns.RR, 0, n)
	for i := range n {
		rrs = append(rrs, test.CNAME(hopName(i)+" 300 IN CNAME "+hopName(i+1)))
	}
	return rrs
}

func hopName(i int) string { return "h" + strconv.Itoa(i) + ".example.org." }
