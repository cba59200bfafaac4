package flatten

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// backend is a small authoritative stand-in for the rest of the plugin chain. Unlike the file
// plugin it never chases a CNAME, so every hop past the first answer costs the handler a lookup.
type backend struct {
	rrs     []dns.RR
	fail    map[string]int // names answered with this rcode
	lookups int
}

var (
	soaOrg = test.SOA("example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")
	soaNet = test.SOA("example.net. 3600 IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 300")
)

func (b *backend) answer(r *dns.Msg) *dns.Msg {
	q := r.Question[0]
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if rc, ok := b.fail[strings.ToLower(q.Name)]; ok {
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

// Lookup implements Lookuper.
func (b *backend) Lookup(_ context.Context, _ request.Request, name string, qtype uint16) (*dns.Msg, error) {
	b.lookups++
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	if rc := b.fail[strings.ToLower(name)]; rc == -1 {
		return nil, errors.New("i/o timeout")
	} else if rc == -2 {
		return nil, nil
	}
	return b.answer(r), nil
}

var zoneRRs = []dns.RR{
	soaOrg,
	test.NS("example.org. 3600 IN NS ns1.example.net."),
	test.CNAME("example.org. 300 IN CNAME www.example.net."),
	test.CNAME("www.example.org. 3600 IN CNAME www.example.net."),
	test.MX("example.org. 3600 IN MX 10 mx.example.net."),
	test.A("www.example.net. 600 IN A 192.0.2.10"),
	test.A("www.example.net. 600 IN A 192.0.2.11"),
	test.AAAA("www.example.net. 600 IN AAAA 2001:db8::10"),
	test.CNAME("dangling.example.org. 120 IN CNAME gone.example.net."),
	test.CNAME("noaaaa.example.org. 120 IN CNAME ns1.example.net."),
	test.A("ns1.example.net. 60 IN A 192.0.2.53"),
	test.CNAME("loop.example.org. 300 IN CNAME loop.example.net."),
	test.CNAME("loop.example.net. 300 IN CNAME loop2.example.net."),
	test.CNAME("loop2.example.net. 300 IN CNAME LOOP.example.org."),
	test.CNAME("broken.example.org. 300 IN CNAME servfail.example.net."),
	test.CNAME("timeout.example.org. 300 IN CNAME timeout.example.net."),
	test.CNAME("silent.example.org. 300 IN CNAME silent.example.net."),
	test.CNAME("long.example.org. 300 IN CNAME h0.example.org."),
}

func newTestFlatten(mode Mode, max int, names ...string) (*Flatten, *backend) {
	b := &backend{
		rrs: append(append([]dns.RR{}, zoneRRs...), append(hops(12), test.A("h12.example.org. 30 IN A 192.0.2.12"))...),
		fail: map[string]int{
			"servfail.example.net.": dns.RcodeServerFailure,
			"timeout.example.net.":  -1,
			"silent.example.net.":   -2,
		},
	}
	f := New([]string{"example.org."})
	f.Mode, f.MaxChain, f.Next, f.Lookup = mode, max, b, b
	if mode == Names {
		f.Names = map[string]struct{}{}
		for _, n := range names {
			f.Names[n] = struct{}{}
		}
	}
	return f, b
}

func TestServeDNS(t *testing.T) {
	tests := []struct {
		name        string
		mode        Mode
		names       []string
		max         int
		q           test.Case
		noEDNS      bool
		ede         string // "code: text" of the extended error, when one is expected
		maxLookups  int
		wantLookups int
	}{
		{
			name: "apex A is flattened with the chain's lowest TTL",
			q: test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.A("example.org. 300 IN A 192.0.2.10"), test.A("example.org. 300 IN A 192.0.2.11"),
			}},
			wantLookups: 1,
		},
		{
			name: "apex AAAA, owner spelled as the client did",
			q: test.Case{Qname: "eXaMpLe.OrG.", Qtype: dns.TypeAAAA, Answer: []dns.RR{
				test.AAAA("eXaMpLe.OrG. 300 IN AAAA 2001:db8::10"),
			}},
			wantLookups: 1,
		},
		{
			name: "non-apex name passes through in apex mode",
			q: test.Case{Qname: "www.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.CNAME("www.example.org. 3600 IN CNAME www.example.net."),
			}},
		},
		{
			name: "all mode flattens any name in the zone",
			mode: All,
			q: test.Case{Qname: "www.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.A("www.example.org. 600 IN A 192.0.2.10"), test.A("www.example.org. 600 IN A 192.0.2.11"),
			}},
			wantLookups: 1,
		},
		{
			name:  "names mode flattens a listed name",
			mode:  Names,
			names: []string{"www.example.org."},
			q: test.Case{Qname: "WWW.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.A("WWW.example.org. 600 IN A 192.0.2.10"), test.A("WWW.example.org. 600 IN A 192.0.2.11"),
			}},
			wantLookups: 1,
		},
		{
			name:  "names mode leaves the apex alone when not listed",
			mode:  Names,
			names: []string{"www.example.org."},
			q: test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.CNAME("example.org. 300 IN CNAME www.example.net."),
			}},
		},
		{
			name: "MX at the apex passes through",
			q: test.Case{Qname: "example.org.", Qtype: dns.TypeMX, Answer: []dns.RR{
				test.MX("example.org. 3600 IN MX 10 mx.example.net."),
			}},
		},
		{
			name: "CNAME question passes through",
			q: test.Case{Qname: "example.org.", Qtype: dns.TypeCNAME, Answer: []dns.RR{
				test.CNAME("example.org. 300 IN CNAME www.example.net."),
			}},
		},
		{
			name: "dangling target gives NODATA with the zone's SOA",
			mode: All,
			q: test.Case{Qname: "dangling.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{
				test.SOA("example.org. 120 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300"),
			}},
			wantLookups: 2, // the target, then the zone's SOA
		},
		{
			name: "target without the type gives NODATA",
			mode: All,
			q: test.Case{Qname: "noaaaa.example.org.", Qtype: dns.TypeAAAA, Ns: []dns.RR{
				test.SOA("example.org. 120 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300"),
			}},
			wantLookups: 2,
		},
		{
			name:        "loop across zones",
			mode:        All,
			q:           test.Case{Qname: "loop.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			ede:         "0: CNAME loop: loop.example.org. -> loop.example.net. -> loop2.example.net. -> loop.example.org.",
			wantLookups: 2,
		},
		{
			name:        "12-hop chain with max_chain 10",
			mode:        All,
			q:           test.Case{Qname: "h0.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			ede:         "0: CNAME chain longer than max_chain 10: h0.example.org. -> h1.example.org. -> h2.example.org. -> h3.example.org. -> ...(5 more)... -> h9.example.org. -> h10.example.org. -> h11.example.org.",
			wantLookups: 10,
		},
		{
			name: "12-hop chain with max_chain 12",
			mode: All,
			max:  12,
			q: test.Case{Qname: "h0.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.A("h0.example.org. 30 IN A 192.0.2.12"),
			}},
			wantLookups: 12,
		},
		{
			name:        "target lookup answers SERVFAIL",
			mode:        All,
			q:           test.Case{Qname: "broken.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			ede:         "22: lookup of target servfail.example.net. A answered SERVFAIL",
			wantLookups: 1,
		},
		{
			name:        "target lookup times out",
			mode:        All,
			q:           test.Case{Qname: "timeout.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			ede:         "23: lookup of target timeout.example.net. A failed: i/o timeout",
			wantLookups: 1,
		},
		{
			name:        "target lookup gets nothing",
			mode:        All,
			q:           test.Case{Qname: "silent.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			ede:         "23: lookup of target silent.example.net. A got no answer",
			wantLookups: 1,
		},
		{
			name:        "no EDNS, no extended error",
			mode:        All,
			noEDNS:      true,
			q:           test.Case{Qname: "loop.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			wantLookups: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = defaultMaxChain
			}
			f, b := newTestFlatten(tc.mode, max, tc.names...)
			r := tc.q.Msg()
			if !tc.noEDNS {
				r.SetEdns0(1232, false)
			}
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			if _, err := f.ServeDNS(context.Background(), rec, r); err != nil {
				t.Fatal(err)
			}
			if rec.Msg == nil {
				t.Fatal("no reply written")
			}
			if got := ede(rec.Msg); got != tc.ede {
				t.Errorf("extended error = %q, want %q", got, tc.ede)
			}
			if hasOPT := rec.Msg.IsEdns0() != nil; hasOPT == tc.noEDNS && tc.ede != "" {
				t.Errorf("reply has OPT = %v to a question with EDNS = %v", hasOPT, !tc.noEDNS)
			}
			rec.Msg.Extra = withoutOPT(rec.Msg.Extra)
			if err := test.SortAndCheck(rec.Msg, tc.q); err != nil {
				t.Error(err)
			}
			if b.lookups != tc.wantLookups {
				t.Errorf("lookups = %d, want %d", b.lookups, tc.wantLookups)
			}
		})
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
			return itoa(int(e.InfoCode)) + ": " + e.ExtraText
		}
	}
	return ""
}

func TestPreSigned(t *testing.T) {
	sig := test.RRSIG("example.org. 300 IN RRSIG CNAME 13 2 300 20300101000000 20200101000000 12345 example.org. c2lnbmF0dXJl")
	f, b := newTestFlatten(Apex, defaultMaxChain)
	b.rrs = append(b.rrs, sig)
	f.Next = handlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		// Answer as a signed zone does: the CNAME with its signature.
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net."), sig}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})

	for _, do := range []bool{true, false} {
		r := new(dns.Msg)
		r.SetQuestion("example.org.", dns.TypeA)
		r.SetEdns0(1232, do)
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		f.ServeDNS(context.Background(), rec, r)
		var want test.Case
		if do {
			want = test.Case{Qname: "example.org.", Qtype: dns.TypeA, Do: true, Answer: []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net."), sig}}
		} else {
			want = test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.A("example.org. 300 IN A 192.0.2.10"), test.A("example.org. 300 IN A 192.0.2.11"),
			}}
		}
		if err := test.SortAndCheck(rec.Msg, want); err != nil {
			t.Errorf("DO=%v: %v", do, err)
		}
	}
}

type handlerFunc func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error)

func (h handlerFunc) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return h(ctx, w, r)
}
func (h handlerFunc) Name() string { return "func" }

// A question asked while the plugin waits on the plugin chain: the name the plugin asked for
// passes once; anything else (a backend chasing a CNAME target) is refused without reaching the
// next plugin, so that the plugin resolves the target itself.
func TestNestedQuestions(t *testing.T) {
	f, _ := newTestFlatten(All, defaultMaxChain)
	called := 0
	f.Next = handlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
		called++
		return dns.RcodeSuccess, nil
	})
	ctx := context.WithValue(context.Background(), scopeKey{}, &scope{pending: "target.example.net."})
	for _, tc := range []struct {
		name       string
		qtype      uint16
		wantRcode  int
		wantCalled int
	}{
		{name: "other.example.net.", qtype: dns.TypeA, wantRcode: dns.RcodeRefused, wantCalled: 0},
		{name: "Target.Example.NET.", qtype: dns.TypeA, wantRcode: dns.RcodeSuccess, wantCalled: 1},
		{name: "target.example.net.", qtype: dns.TypeA, wantRcode: dns.RcodeRefused, wantCalled: 1},
		{name: "target.example.net.", qtype: dns.TypeMX, wantRcode: dns.RcodeSuccess, wantCalled: 2},
	} {
		r := new(dns.Msg)
		r.SetQuestion(tc.name, tc.qtype)
		rc, _ := f.ServeDNS(ctx, dnstest.NewRecorder(&test.ResponseWriter{}), r)
		if rc != tc.wantRcode || called != tc.wantCalled {
			t.Errorf("%s %s: rcode %d, next called %d times; want %d, %d", tc.name, dns.TypeToString[tc.qtype], rc, called, tc.wantRcode, tc.wantCalled)
		}
	}
}
