package flatten

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var soaSvc = test.SOA("svc.example. 30 IN SOA ns.svc.example. hostmaster.svc.example. 1 7200 1800 86400 30")

// hider answers like CoreDNS's service backends (plugin/backend_lookup.go): an A or AAAA question
// at a name with a CNAME into the zone whose chase finds nothing gets NODATA without the CNAME; a
// CNAME question gets the CNAME.
type hider struct {
	cnames map[string]string // owner -> target, inside svc.example.
	addrs  map[string]string // owner -> IPv4 address
	f      *Flatten          // for lookups through "this server"
	probes int               // CNAME questions asked
}

func (h *hider) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if q.Qtype == dns.TypeCNAME {
		h.probes++
	}
	target, isAlias := h.cnames[name]
	addr, hasAddr := h.addrs[name]
	switch {
	case q.Qtype == dns.TypeSOA && name == "svc.example.":
		m.Answer = []dns.RR{soaSvc}
	case q.Qtype == dns.TypeCNAME && isAlias:
		m.Answer = []dns.RR{test.CNAME(q.Name + " 30 IN CNAME " + target)}
	case q.Qtype == dns.TypeA && hasAddr:
		m.Answer = []dns.RR{test.A(q.Name + " 30 IN A " + addr)}
	case isAlias || hasAddr:
		m.Ns = []dns.RR{soaSvc}
	default:
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{soaSvc}
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

func (h *hider) Name() string { return "hider" }

// Lookup sends the question through the plugin, as CoreDNS's upstream package does.
func (h *hider) Lookup(ctx context.Context, _ request.Request, name string, qtype uint16) (*dns.Msg, error) {
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	h.f.ServeDNS(ctx, rec, r)
	return rec.Msg, nil
}

func newHider(unhiding bool) *Flatten {
	h := &hider{
		cnames: map[string]string{
			"loop-a.svc.example.": "loop-b.svc.example.",
			"loop-b.svc.example.": "loop-a.svc.example.",
			"orphan.svc.example.": "nothere.svc.example.",
			"ext.svc.example.":    "v4only.example.net.",
		},
		addrs: map[string]string{"plain.svc.example.": "10.96.0.5", "v4only.example.net.": "192.0.2.1"},
	}
	f := New([]string{"svc.example."})
	f.Mode, f.Next, f.Lookup = All, h, h
	f.unhiding.Store(unhiding)
	h.f = f
	return f
}

func TestUnhide(t *testing.T) {
	tests := []struct {
		name     string
		unhiding bool
		q        test.Case
		ede      string
		probes   int // CNAME questions the plugin asks
	}{
		{name: "loop between two hidden aliases", unhiding: true,
			q:   test.Case{Qname: "loop-a.svc.example.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			ede: "0: CNAME loop: loop-a.svc.example. -> loop-b.svc.example. -> loop-a.svc.example.", probes: 2},
		{name: "hidden alias to a name that does not exist", unhiding: true,
			q: test.Case{Qname: "orphan.svc.example.", Qtype: dns.TypeA, Ns: []dns.RR{soaSvc}}, probes: 1},
		// The target is outside the zones: its NODATA is not checked (it might cost a question
		// upstream).
		{name: "hidden alias to an outside name without AAAA", unhiding: true,
			q: test.Case{Qname: "ext.svc.example.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soaSvc}}, probes: 1},
		{name: "plain NODATA stays as it is", unhiding: true,
			q: test.Case{Qname: "plain.svc.example.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soaSvc}}, probes: 1},
		{name: "addresses pass", unhiding: true,
			q: test.Case{Qname: "plain.svc.example.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("plain.svc.example. 30 IN A 10.96.0.5")}}},
		// Without a service backend in the server block nothing is asked: the loop stays hidden.
		{name: "no service backend", unhiding: false,
			q: test.Case{Qname: "loop-a.svc.example.", Qtype: dns.TypeA, Ns: []dns.RR{soaSvc}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newHider(tc.unhiding)
			before := counter(danglingCount)
			r := tc.q.Msg()
			r.SetEdns0(1232, false)
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			f.ServeDNS(context.Background(), rec, r)
			if rec.Msg == nil {
				t.Fatal("no reply")
			}
			if got := ede(rec.Msg); got != tc.ede {
				t.Errorf("extended error %q, want %q", got, tc.ede)
			}
			rec.Msg.Extra = nil
			if err := test.SortAndCheck(rec.Msg, tc.q); err != nil {
				t.Errorf("%v\n%s", err, rec.Msg)
			}
			if h := f.Next.(*hider); h.probes != tc.probes {
				t.Errorf("%d CNAME questions asked, want %d", h.probes, tc.probes)
			}
			if dangling := counter(danglingCount) - before; (tc.q.Qname == "orphan.svc.example.") != (dangling == 1) {
				t.Errorf("dangling counted %v times", dangling)
			}
		})
	}
}

// counter sums a counter vector's samples.
func counter(c *prometheus.CounterVec) float64 {
	ch := make(chan prometheus.Metric, 16)
	go func() { c.Collect(ch); close(ch) }()
	sum := 0.0
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) == nil && pb.Counter != nil {
			sum += pb.Counter.GetValue()
		}
	}
	return sum
}
