package chain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/response"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// Replies are classified as CoreDNS classifies them (plugin/pkg/response Typify): a referral is not
// NODATA (RFC 2308 2.2).
func TestReadClassifies(t *testing.T) {
	t.Parallel()
	soa := test.SOA("example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 60")
	reply := func(rcode int, answer, ns []dns.RR) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("www.example.com.", dns.TypeA)
		m.Response, m.Rcode, m.Answer, m.Ns = true, rcode, answer, ns
		return m
	}
	for _, tc := range []struct {
		name     string
		via      string // who answered: a resolver, or "" for the block's own plugins
		m        *dns.Msg
		end      End
		ttl      uint32
		names    int // the chain's length
		cause    Cause
		wantErr  bool
		typified response.Type // what Typify says of m, for the replies without a chain
	}{
		{name: "referral", m: reply(dns.RcodeSuccess, nil, []dns.RR{test.NS("sub.example.com. 3600 IN NS ns.elsewhere.example.")}),
			wantErr: true, cause: Referral, typified: response.Delegation},
		{name: "upward referral", m: reply(dns.RcodeSuccess, nil, []dns.RR{test.NS(". 3600 IN NS a.root-servers.net.")}),
			wantErr: true, cause: Referral, typified: response.Delegation},
		{name: "NODATA with SOA", m: reply(dns.RcodeSuccess, nil, []dns.RR{soa}), end: NODATA, ttl: 60, names: 1, typified: response.NoData},
		{name: "NXDOMAIN with SOA", m: reply(dns.RcodeNameError, nil, []dns.RR{soa}), end: NXDOMAIN, ttl: 60, names: 1, typified: response.NameError},
		{name: "NXDOMAIN without SOA", m: reply(dns.RcodeNameError, nil, nil), end: NXDOMAIN, ttl: NegativeTTL, names: 1, typified: response.NameError},
		{name: "NOERROR with nothing", m: reply(dns.RcodeSuccess, nil, nil), end: NODATA, ttl: NegativeTTL, names: 1, typified: response.NoError},
		{name: "SERVFAIL", m: reply(dns.RcodeServerFailure, nil, nil), wantErr: true, cause: Failed, typified: response.ServerError},
		{name: "REFUSED", m: reply(dns.RcodeRefused, nil, nil), wantErr: true, cause: Failed, typified: response.OtherError},
		{name: "positive", m: reply(dns.RcodeSuccess, []dns.RR{test.A("www.example.com. 120 IN A 192.0.2.1")}, nil),
			end: Positive, ttl: 120, names: 1, typified: response.NoError},
		{name: "truncated", m: func() *dns.Msg { m := reply(dns.RcodeSuccess, nil, nil); m.Truncated = true; return m }(),
			wantErr: true, cause: Unreachable, typified: response.NoError},
		// With a chain: the rest of the reply speaks of the chain's last name (RFC 6604).
		{name: "a CNAME out of the zone that answered, with its NS: the walk goes on",
			m:   reply(dns.RcodeSuccess, []dns.RR{test.CNAME("www.example.com. 300 IN CNAME cdn.example.net.")}, []dns.RR{test.NS("example.com. 3600 IN NS ns1.example.com.")}),
			end: Continues, ttl: 300, names: 2},
		{name: "a CNAME back into the zone that answered, with its NS: the walk goes on",
			m: reply(dns.RcodeSuccess, []dns.RR{test.CNAME("www.example.com. 300 IN CNAME x.example.net."), test.CNAME("x.example.net. 200 IN CNAME y.example.com.")},
				[]dns.RR{test.NS("example.com. 3600 IN NS ns1.example.com.")}),
			end: Continues, ttl: 200, names: 3},
		{name: "a resolver's CNAME into a delegated zone: a referral", via: "192.0.2.53:53",
			m:       reply(dns.RcodeSuccess, []dns.RR{test.CNAME("www.example.com. 300 IN CNAME a.sub.example.com.")}, []dns.RR{test.NS("sub.example.com. 3600 IN NS ns.elsewhere.example.")}),
			wantErr: true, cause: Referral},
		{name: "the block's CNAME into a delegated part of its zone: the walk goes on, to ask the child's servers",
			m:   reply(dns.RcodeSuccess, []dns.RR{test.CNAME("www.example.com. 300 IN CNAME a.sub.example.com.")}, []dns.RR{test.NS("sub.example.com. 3600 IN NS ns.elsewhere.example.")}),
			end: Continues, ttl: 300, names: 2},
		{name: "a CNAME to a name that does not exist",
			m:   reply(dns.RcodeNameError, []dns.RR{test.CNAME("www.example.com. 300 IN CNAME gone.example.com.")}, []dns.RR{soa}),
			end: NXDOMAIN, ttl: 60, names: 2},
		{name: "a CNAME whose target failed: the walk goes on",
			m:   reply(dns.RcodeServerFailure, []dns.RR{test.CNAME("www.example.com. 300 IN CNAME cdn.example.net.")}, nil),
			end: Continues, ttl: 300, names: 2},
		{name: "a loop in the answer",
			m:   reply(dns.RcodeSuccess, []dns.RR{test.CNAME("www.example.com. 300 IN CNAME a.example.com."), test.CNAME("a.example.com. 30 IN CNAME www.example.com.")}, nil),
			end: Broken, ttl: 30, names: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Read("www.example.com.", dns.TypeA, tc.m, From{MaxChain: 10, Via: tc.via})
			if tc.wantErr {
				var le *LookupError
				if !errors.As(err, &le) || le.Cause != tc.cause {
					t.Fatalf("got %v, %v; want a lookup error of cause %d", e, err, tc.cause)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if e.End != tc.end || e.TTL != tc.ttl || len(e.Names) != tc.names {
					t.Errorf("end %d ttl %d names %v; want %d, %d, %d names", e.End, e.TTL, e.Names, tc.end, tc.ttl, tc.names)
				}
			}
			if len(tc.m.Answer) == 0 || tc.typified != 0 {
				if got, _ := response.Typify(tc.m, time.Now()); got != tc.typified {
					t.Errorf("response.Typify says %s, the test says %s", got, tc.typified)
				}
			}
		})
	}
}

func TestReferralText(t *testing.T) {
	t.Parallel()
	m := new(dns.Msg)
	m.SetQuestion("www.sub.example.com.", dns.TypeA)
	m.Response, m.Ns = true, []dns.RR{test.NS("Sub.Example.com. 3600 IN NS ns.elsewhere.example.")}
	_, err := Read("www.sub.example.com.", dns.TypeA, m, From{MaxChain: 10, Via: "127.0.0.1:5301"})
	want := "lookup of target www.sub.example.com. A: resolver 127.0.0.1:5301 answered with a referral to sub.example.com.: it is not a recursive resolver"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if le := err.(*LookupError); le.Cause != Referral || le.StaleAllowed() {
		t.Errorf("cause %d (want a referral), stale allowed %v (a referral is never served stale)", le.Cause, le.StaleAllowed())
	}
}

// Every failed lookup says so in the same words, which the alert FlattenLookupFailures greps the
// log for ('lookup of target'): each cause, from this server and from a resolver.
func TestLookupErrorsNameTheLookup(t *testing.T) {
	t.Parallel()
	for _, e := range []*LookupError{
		{Cause: Unreachable, Err: errors.New("i/o timeout"), Via: "127.0.0.1:5301"},
		{Cause: Unreachable},
		{Cause: Failed, Rcode: dns.RcodeServerFailure, Via: "127.0.0.1:5301"},
		{Cause: Failed, Rcode: dns.RcodeRefused},
		{Cause: Referral, Zone: "example.net.", Via: "127.0.0.1:5301"},
		{Cause: Referral, Zone: "example.net."},
		{Cause: Busy},
	} {
		e.Name, e.Qtype = "www.example.net.", dns.TypeAAAA
		if got := e.Error(); !strings.HasPrefix(got, "lookup of target www.example.net. AAAA") {
			t.Errorf("cause %d, via %q: %q does not start 'lookup of target www.example.net. AAAA'", e.Cause, e.Via, got)
		}
	}
}
