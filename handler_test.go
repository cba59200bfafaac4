package flatten

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/dnssec"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/dnsflatten/flatten/plugin/own"

	"github.com/miekg/dns"
	ot "github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
)

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

func newBackend() *backend {
	return &backend{
		rrs: append(append([]dns.RR{}, zoneRRs...), append(hops(12), test.A("h12.example.org. 30 IN A 192.0.2.12"))...),
		fail: map[string]int{
			"servfail.example.net.": dns.RcodeServerFailure,
			"timeout.example.net.":  -1,
			"silent.example.net.":   -2,
		},
	}
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
			name: "apex ANY gets both address types, never the CNAME",
			q: test.Case{Qname: "example.org.", Qtype: dns.TypeANY, Answer: []dns.RR{
				test.A("example.org. 300 IN A 192.0.2.10"), test.A("example.org. 300 IN A 192.0.2.11"),
				test.AAAA("example.org. 300 IN AAAA 2001:db8::10"),
			}},
			wantLookups: 2,
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
			name: "MX at the apex passes through (no siblings known)",
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
			name: "dangling target gives NODATA with the zone's SOA and says why",
			mode: All,
			q: test.Case{Qname: "dangling.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{
				test.SOA("example.org. 120 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300"),
			}},
			ede:         "0: dangling alias: target gone.example.net. does not exist (NXDOMAIN): dangling.example.org. -> gone.example.net.",
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
			ede:         "0: CNAME chain longer than max_chain 10: h0.example.org. -> h1.example.org. -> h2.example.org. -> h3.example.org. -> ...(4 more)... -> h8.example.org. -> h9.example.org. -> h10.example.org. -> h11.example.org.",
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
			b := newBackend()
			f, _ := newTest(t, b, b, func(c *config) {
				c.mode = tc.mode
				if tc.max > 0 {
					c.maxChain = tc.max
				}
				if tc.mode == Names {
					c.names = map[string]struct{}{}
					for _, n := range tc.names {
						c.names[n] = struct{}{}
					}
				}
			})
			r := tc.q.Msg()
			if !tc.noEDNS {
				r.SetEdns0(1232, false)
			}
			before := lookupsDone()
			m := serve(t, f, r)
			if hasOPT := m.IsEdns0() != nil; hasOPT == tc.noEDNS && tc.ede != "" {
				t.Errorf("reply has OPT = %v to a question with EDNS = %v", hasOPT, !tc.noEDNS)
			}
			expect(t, m, tc.q, tc.ede)
			if n := lookupsDone() - before; n != tc.wantLookups {
				t.Errorf("lookups = %d, want %d", n, tc.wantLookups)
			}
		})
	}
}

// Only ordinary queries are touched: other opcodes go to the next plugin untouched, even for a
// name whose flattened answer is cached.
func TestOtherOpcodesPass(t *testing.T) {
	b := newBackend()
	f, _ := newTest(t, b, b)
	ask(t, f, "example.org.", dns.TypeA) // warm
	for _, op := range []int{dns.OpcodeNotify, dns.OpcodeUpdate, dns.OpcodeStatus} {
		r := new(dns.Msg)
		r.SetQuestion("example.org.", dns.TypeA)
		r.Opcode = op
		if m := serve(t, f, r); len(m.Answer) != 1 || m.Answer[0].Header().Rrtype != dns.TypeCNAME {
			t.Errorf("%s: %v, want the backend's own answer", dns.OpcodeToString[op], m)
		}
	}
}

// A question passed on reaches the next plugin as without flatten. Outside a trace the plugin calls
// the next one itself, with the writer it was given (apex mode) or its own (all mode), never a
// writer of plugin.NextOrFailure's; inside a trace, the next plugin runs in a span of its own, a
// child of the question's, as NextOrFailure opens it.
func TestPassedOnInAndOutOfATrace(t *testing.T) {
	var got dns.ResponseWriter
	var span ot.Span
	next := handlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		got, span = w, ot.SpanFromContext(ctx)
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{test.A(r.Question[0].Name + " 300 IN A 192.0.2.1")}
		return dns.RcodeSuccess, w.WriteMsg(m)
	})
	for _, tc := range []struct {
		mode  Mode
		qname string
	}{{Apex, "www.example.com."}, {Apex, "www.example.org."}, {All, "www.example.org."}} {
		name := fmt.Sprintf("%s in %s mode", tc.qname, map[Mode]string{All: "all", Apex: "apex"}[tc.mode])
		f, _ := newTest(t, next, nil, func(c *config) { c.mode = tc.mode })
		r := new(dns.Msg)
		r.SetQuestion(tc.qname, dns.TypeA)

		got, span = nil, nil
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		if _, err := f.ServeDNS(context.Background(), rec, r); err != nil || rec.Msg == nil || len(rec.Msg.Answer) != 1 {
			t.Fatalf("%s, no trace: error %v, reply %v", name, err, rec.Msg)
		}
		if span != nil {
			t.Errorf("%s, no trace: the next plugin runs in span %v", name, span)
		}
		switch typ := fmt.Sprintf("%T", got); {
		case tc.qname == "www.example.com." && got != dns.ResponseWriter(rec):
			t.Errorf("%s, no trace: the next plugin got a writer of type %s, not the one the plugin was given", name, typ)
		case tc.qname != "www.example.com." && !strings.HasPrefix(typ, "*flatten."):
			t.Errorf("%s, no trace: the next plugin got a writer of type %s, not the plugin's own", name, typ)
		}

		tracer := mocktracer.New()
		root := tracer.StartSpan("servedns")
		got, span = nil, nil
		rec = dnstest.NewRecorder(&test.ResponseWriter{})
		if _, err := f.ServeDNS(ot.ContextWithSpan(context.Background(), root), rec, r); err != nil || rec.Msg == nil || len(rec.Msg.Answer) != 1 {
			t.Fatalf("%s, traced: error %v, reply %v", name, err, rec.Msg)
		}
		root.Finish()
		child, ok := span.(*mocktracer.MockSpan)
		if !ok {
			t.Fatalf("%s, traced: the next plugin runs in span %v, want one of its own", name, span)
		}
		if child.OperationName != "func" || child.ParentID != root.(*mocktracer.MockSpan).SpanContext.SpanID || child.FinishTime.IsZero() {
			t.Errorf("%s, traced: the next plugin ran in span %q (parent %d, finished %v), want a finished span \"func\" under the question's (%d)",
				name, child.OperationName, child.ParentID, !child.FinishTime.IsZero(), root.(*mocktracer.MockSpan).SpanContext.SpanID)
		}
	}
}

// Alone in its block (no plugin after it), the plugin answers as the block would without it:
// REFUSED, as CoreDNS answers for a block with no plugins, not SERVFAIL; but a declared alias,
// whose target it resolves itself, is answered.
func TestAloneInBlock(t *testing.T) {
	f, _ := newTest(t, nil, newBackend(), func(c *config) { c.aliases = map[string]string{"shop.example.org.": "www.example.net."} })
	f.Next = nil
	for _, name := range []string{"example.org.", "www.example.org."} {
		r := new(dns.Msg)
		r.SetQuestion(name, dns.TypeA)
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		if rcode, err := f.ServeDNS(context.Background(), rec, r); rcode != dns.RcodeRefused || err != nil || rec.Msg != nil {
			t.Errorf("%s: rcode %s, error %v, written %v; want REFUSED for the server to write", name, dns.RcodeToString[rcode], err, rec.Msg)
		}
	}
	if m := ask(t, f, "shop.example.org.", dns.TypeA); m.Rcode != dns.RcodeSuccess || len(m.Answer) == 0 || m.Answer[0].Header().Name != "shop.example.org." {
		t.Errorf("the declared alias alone in its block: %v", m)
	}
}

func TestPreSigned(t *testing.T) {
	sig := test.RRSIG("example.org. 300 IN RRSIG CNAME 13 2 300 20300101000000 20200101000000 12345 example.org. c2lnbmF0dXJl")
	b := newBackend()
	signed := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		// Answer as a signed zone does: the CNAME with its signature.
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net."), sig}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	f, _ := newTest(t, signed, b)
	for _, do := range []bool{true, false} {
		r := new(dns.Msg)
		r.SetQuestion("example.org.", dns.TypeA)
		r.SetEdns0(1232, do)
		m := serve(t, f, r)
		var want test.Case
		if do {
			want = test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net."), sig}}
		} else {
			want = test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.A("example.org. 300 IN A 192.0.2.10"), test.A("example.org. 300 IN A 192.0.2.11"),
			}}
		}
		expect(t, m, want, "")
	}
}

// A question the plugin caused: its own lookup through the server passes once to the backends;
// anything else (a backend chasing a CNAME target) is refused without reaching them, so that the
// plugin resolves the target itself.
func TestNestedQuestions(t *testing.T) {
	called := 0
	next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		called++
		m := new(dns.Msg)
		m.SetReply(r)
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	f, _ := newTest(t, next, newBackend(), func(c *config) { c.mode = All })
	ctx := own.With(context.Background(), own.Pending("target.example.net."))
	for _, tc := range []struct {
		name       string
		qtype      uint16
		wantRcode  int
		wantCalled int
	}{
		{name: "other.example.net.", qtype: dns.TypeA, wantRcode: dns.RcodeRefused, wantCalled: 0},
		{name: "www.example.org.", qtype: dns.TypeAAAA, wantRcode: dns.RcodeRefused, wantCalled: 0},
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

// The shapes added for today's web: HTTPS at an alias, HTTPS AliasMode as an alias, and a chain
// the targets option does not allow.
func TestModernShapes(t *testing.T) {
	b := newBackend()
	b.rrs = append(b.rrs,
		mustParse(t, `www.example.net. 120 IN HTTPS 1 . alpn="h2" port=8443`),
		mustParse(t, `alias.example.org. 300 IN HTTPS 0 www.example.net.`),
		mustParse(t, `evil.example.org. 300 IN CNAME evil.example.com.`),
	)
	for _, tc := range []struct {
		name    string
		mode    Mode
		targets []string
		q       test.Case
		ede     string
	}{
		{name: "HTTPS at an apex alias: the target's, owned by the apex", q: test.Case{Qname: "example.org.", Qtype: dns.TypeHTTPS,
			Answer: []dns.RR{mustParse(t, `example.org. 120 IN HTTPS 1 . alpn="h2" port=8443`)}}},
		{name: "A at an AliasMode name", mode: All, q: test.Case{Qname: "alias.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("alias.example.org. 300 IN A 192.0.2.10"), test.A("alias.example.org. 300 IN A 192.0.2.11")}}},
		{name: "ANY at an AliasMode name: the target's addresses", mode: All, q: test.Case{Qname: "alias.example.org.", Qtype: dns.TypeANY,
			Answer: []dns.RR{test.A("alias.example.org. 300 IN A 192.0.2.10"), test.A("alias.example.org. 300 IN A 192.0.2.11"),
				test.AAAA("alias.example.org. 300 IN AAAA 2001:db8::10")}}},
		{name: "a chain out of the zones targets allows", mode: All, targets: []string{"example.net."},
			q:   test.Case{Qname: "evil.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			ede: "18: target evil.example.com. is outside the zones allowed (targets): not followed: evil.example.org. -> evil.example.com."},
		{name: "a chain within them", mode: All, targets: []string{"example.net."}, q: test.Case{Qname: "www.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("www.example.org. 600 IN A 192.0.2.10"), test.A("www.example.org. 600 IN A 192.0.2.11")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newTest(t, b, b, func(c *config) { c.mode, c.targets = tc.mode, tc.targets })
			before := b.calls.Load()
			viaAliasMode := metric("coredns_flatten_alias_mode_total", "server", "")
			expect(t, ask(t, f, tc.q.Qname, tc.q.Qtype), tc.q, tc.ede)
			expect(t, ask(t, f, tc.q.Qname, tc.q.Qtype), tc.q, tc.ede) // warm
			want := 0.0
			if strings.Contains(tc.name, "AliasMode") {
				want = 2
			}
			if got := metric("coredns_flatten_alias_mode_total", "server", "") - viaAliasMode; got != want {
				t.Errorf("coredns_flatten_alias_mode_total grew by %v, want %v", got, want)
			}
			if tc.targets != nil && tc.q.Rcode == dns.RcodeServerFailure && b.calls.Load() != before {
				t.Error("a name outside the zones allowed was looked up")
			}
		})
	}
}

func mustParse(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// A question whose answer starts no chain passes through 'all' mode as it would without the
// plugin: the next plugin gets the client's question itself (its EDNS buffer, DO bit and TSIG as
// sent) and sees the client's transport, so that forward asks its upstream as it would for the
// client (over UDP for a UDP client); the client gets the next plugin's reply itself.
func TestPassThroughUntouched(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edns     uint16
		do, tsig bool
		tcp      bool
	}{
		{name: "UDP, no EDNS"},
		{name: "UDP, EDNS 1232 DO", edns: 1232, do: true},
		{name: "UDP, EDNS 1232 TSIG", edns: 1232, tsig: true},
		{name: "TCP", tcp: true},
	} {
		var got *dns.Msg
		var proto string
		var sent *dns.Msg
		next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
			state := request.Request{W: w, Req: r}
			got, proto = r, state.Proto()
			sent = new(dns.Msg)
			sent.SetReply(r)
			sent.Answer = []dns.RR{test.A("plain.example.org. 300 IN A 192.0.2.1")}
			return dns.RcodeSuccess, w.WriteMsg(sent)
		})
		f := newFlatten(withMode(All), next, block{})
		r := new(dns.Msg)
		r.SetQuestion("plain.example.org.", dns.TypeA)
		if tc.edns > 0 {
			r.SetEdns0(tc.edns, tc.do)
		}
		if tc.tsig {
			r.SetTsig("key.", dns.HmacSHA256, 300, 0)
		}
		rec := dnstest.NewRecorder(&test.ResponseWriter{TCP: tc.tcp})
		if _, err := f.ServeDNS(context.Background(), rec, r); err != nil {
			t.Fatal(err)
		}
		if got != r {
			t.Errorf("%s: the next plugin got %v, want the client's question itself %v", tc.name, got, r)
		}
		if want := map[bool]string{false: "udp", true: "tcp"}[tc.tcp]; proto != want {
			t.Errorf("%s: the next plugin sees a %s client, want %s", tc.name, proto, want)
		}
		if rec.Msg != sent {
			t.Errorf("%s: the client got %v, want the next plugin's reply itself %v", tc.name, rec.Msg, sent)
		}
	}
}

// An authoritative backend that chases a CNAME's target through the server (file does, through
// CoreDNS's upstream) merges what came back into its answer: cut to the question's buffer by the
// server's scrub writer, with the TC bit lost. The plugin uses the chased part only when it fits the
// buffer with room for a record more (so nothing was cut); else it reads the answer as far as its
// own zone and looks the target up itself. The set it caches and serves is whole either way, and
// the question went down as the client sent it.
func TestChainReadWithinItsZone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int // addresses of big.example.net.
		edns    uint16
		lookups int32 // of the target, by the plugin
	}{
		{name: "a big set cut to 512 bytes", n: 60, lookups: 1},
		{name: "a big set cut to 1232 bytes", n: 90, edns: 1232, lookups: 1},
		{name: "a small set, whole", n: 3, lookups: 0},
		{name: "a big set asked with a 64 KiB buffer", n: 60, edns: dns.MaxMsgSize, lookups: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := new(dns.Msg)
			full.SetQuestion("big.example.net.", dns.TypeA)
			out := &backend{}
			for i := range tc.n {
				rr := test.A(fmt.Sprintf("big.example.net. 300 IN A 192.0.%d.%d", 2+i/250, i%250+1))
				full.Answer = append(full.Answer, rr)
				out.rrs = append(out.rrs, rr)
			}
			var sizes []int
			next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
				state := request.Request{W: w, Req: r}
				size := state.Size()
				sizes = append(sizes, size)
				chased := full.Copy()
				chased.Truncate(size) // what the server's scrub writer does to the chase
				m := new(dns.Msg)
				m.SetReply(r)
				m.Authoritative = true
				m.Answer = append([]dns.RR{test.CNAME("big.example.org. 300 IN CNAME big.example.net.")}, chased.Answer...)
				return dns.RcodeSuccess, w.WriteMsg(m)
			})
			f := newFlatten(withMode(All), next, block{outside: out})
			r := new(dns.Msg)
			r.SetQuestion("big.example.org.", dns.TypeA)
			if tc.edns > 0 {
				r.SetEdns0(tc.edns, false)
			}
			if m := serve(t, f, r); len(m.Answer) != tc.n {
				t.Errorf("%d records, want all %d", len(m.Answer), tc.n)
			}
			if want := []int{int(max(tc.edns, 512))}; !slices.Equal(sizes, want) {
				t.Errorf("buffers of the questions down the chain: %v, want %v (the client's)", sizes, want)
			}
			if n := out.calls.Load(); n != tc.lookups {
				t.Errorf("the target was looked up %d times, want %d", n, tc.lookups)
			}
		})
	}
}

// A recursive resolver's answer (forward to one: no AA) is whole or truncated: the plugin uses all
// of it, with no lookup of its own.
func TestRecursiveAnswerUsedWhole(t *testing.T) {
	next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		m.Answer = append([]dns.RR{test.CNAME("www.example.org. 300 IN CNAME cdn.example.net."),
			test.CNAME("cdn.example.net. 60 IN CNAME edge.example.com.")}, test.A("edge.example.com. 20 IN A 192.0.2.7"))
		return dns.RcodeSuccess, w.WriteMsg(m)
	})
	out := &backend{}
	f := newFlatten(withMode(All), next, block{outside: out})
	expect(t, ask(t, f, "www.example.org.", dns.TypeA), test.Case{Qname: "www.example.org.", Qtype: dns.TypeA,
		Answer: []dns.RR{test.A("www.example.org. 20 IN A 192.0.2.7")}}, "")
	if n := out.calls.Load(); n != 0 {
		t.Errorf("%d lookups of the plugin's own, want none", n)
	}
}

// An answer that starts a chain but came truncated (TC) is never read: the plugin asks for the
// name itself, as a UDP client with a 1232-byte buffer and, when that is truncated too, as a TCP
// client, which forward sends upstream over TCP. The client gets the whole set (fitted to its buffer
// by the server as it leaves). A question whose answer fits never goes down over TCP.
func TestTruncatedChainAskedOverTCP(t *testing.T) {
	type asked struct {
		proto string
		size  int
	}
	var seen []asked
	next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		state := request.Request{W: w, Req: r}
		seen = append(seen, asked{state.Proto(), state.Size()})
		m := new(dns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		m.Answer = []dns.RR{test.CNAME(r.Question[0].Name + " 300 IN CNAME big.example.net.")}
		n := 60
		if r.Question[0].Name == "big.example.org." && state.Size() < 4096 {
			n, m.Truncated = 2, true
		}
		for i := range n {
			m.Answer = append(m.Answer, test.A(fmt.Sprintf("big.example.net. 300 IN A 192.0.2.%d", i+1)))
		}
		return dns.RcodeSuccess, w.WriteMsg(m)
	})
	f := newFlatten(withMode(All), next, block{outside: &backend{}})
	r := new(dns.Msg)
	r.SetQuestion("big.example.org.", dns.TypeA)
	if m := serve(t, f, r); len(m.Answer) != 60 || m.Truncated {
		t.Errorf("%d records, TC=%v; want all 60 (the server fits them to the client as they leave)", len(m.Answer), m.Truncated)
	}
	want := []asked{{"udp", 512}, {"udp", 1232}, {"tcp", dns.MaxMsgSize}}
	if !slices.Equal(seen, want) {
		t.Errorf("questions down the chain %v, want %v", seen, want)
	}
	seen = nil
	r.SetQuestion("small.example.org.", dns.TypeA)
	serve(t, f, r)
	if want := []asked{{"udp", 512}}; !slices.Equal(seen, want) {
		t.Errorf("questions down the chain for an answer that fits: %v, want %v", seen, want)
	}
}

// A plugin down the chain may keep the writer and context it got after answering (cache's
// background refresh of a stale entry keeps the writer): they stay the question's own, never
// recycled for another question, in 'all' mode and in the watch of a name not flattened.
func TestWriterKeptByNextPlugin(t *testing.T) {
	type key struct{}
	type kept struct {
		w   dns.ResponseWriter
		ctx context.Context
		i   int
	}
	for _, mode := range []Mode{All, Apex} {
		name := map[Mode]string{All: "all", Apex: "apex"}[mode]
		var keep []kept
		next := handlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
			keep = append(keep, kept{w, ctx, ctx.Value(key{}).(int)})
			m := new(dns.Msg)
			m.SetReply(r)
			m.Answer = []dns.RR{test.A("www.example.org. 300 IN A 192.0.2.1")}
			return dns.RcodeSuccess, w.WriteMsg(m)
		})
		f := newFlatten(withMode(mode), next, block{})
		for i := range 3 {
			r := new(dns.Msg)
			r.SetQuestion("www.example.org.", dns.TypeA)
			rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: fmt.Sprintf("10.0.0.%d", i+1)})
			if _, err := f.ServeDNS(context.WithValue(context.Background(), key{}, i), rec, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range keep {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s, question %d: a kept writer or context panics after the answer: %v", name, k.i, p)
					}
				}()
				if got := k.ctx.Value(key{}); got != k.i {
					t.Errorf("%s, question %d: the kept context now holds question %v's values", name, k.i, got)
				}
				if ip := k.w.RemoteAddr().String(); !strings.HasPrefix(ip, fmt.Sprintf("10.0.0.%d:", k.i+1)) {
					t.Errorf("%s, question %d: the kept writer now gives client %s", name, k.i, ip)
				}
			}()
		}
	}
}

// A flattened reply says what kind of answer it is as the question's own answer did: from an
// authoritative backend, AA set and RA clear; from a recursive resolver (forward), RA set and AA
// clear, as the block answers without the plugin. Warm or cold, positive or negative.
func TestFlagsFollowTheFirstAnswer(t *testing.T) {
	for _, recursive := range []bool{false, true} {
		b := newBackend()
		next := handlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
			m := b.answer(r)
			if recursive {
				m.Authoritative, m.RecursionAvailable = false, true
			}
			return dns.RcodeSuccess, w.WriteMsg(m)
		})
		f, _ := newTest(t, next, b, func(c *config) { c.mode = All })
		for _, q := range []struct {
			name  string
			qtype uint16
			n     int
		}{{"www.example.org.", dns.TypeA, 2}, {"www.example.org.", dns.TypeA, 2}, {"noaaaa.example.org.", dns.TypeAAAA, 0}} {
			m := ask(t, f, q.name, q.qtype)
			if len(m.Answer) != q.n || m.Authoritative == recursive || m.RecursionAvailable != recursive {
				t.Errorf("recursive %v, %s %s: AA=%v RA=%v, %d records; want AA=%v RA=%v, %d records",
					recursive, q.name, dns.TypeToString[q.qtype], m.Authoritative, m.RecursionAvailable, len(m.Answer), !recursive, recursive, q.n)
			}
		}
	}
}

// The signer knows the zones its dnssec plugin signs, read from the plugin: a pre-signed zone
// beside them is not one of them (TestPreSignedZone asks a server so configured).
func TestSignerZones(t *testing.T) {
	s := newSigner(dnssec.New([]string{"example.com."}, nil, false, nil, nil))
	for name, want := range map[string]bool{"example.com.": true, "www.example.com.": true, "example.org.": false, "com.": false} {
		if got := s.signs(name); got != want {
			t.Errorf("signs(%s) = %v, want %v", name, got, want)
		}
	}
	if (*signer)(nil).signs("example.com.") {
		t.Error("a block without dnssec signs")
	}
}
