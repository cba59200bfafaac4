package reply

import (
	"strconv"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

func TestFlattenedKeepsQuestionSpelling(t *testing.T) {
	r := new(dns.Msg)
	r.SetQuestion("ExAmPlE.oRg.", dns.TypeA)
	src := test.A("www.example.net. 600 IN A 192.0.2.10")
	m := Flattened(r, 42, []dns.RR{src, test.A("www.example.net. 600 IN A 192.0.2.10")})
	if len(m.Answer) != 1 || !m.Authoritative {
		t.Fatalf("duplicates kept or not authoritative: %v", m)
	}
	if got := m.Answer[0].String(); got != "ExAmPlE.oRg.\t42\tIN\tA\t192.0.2.10" {
		t.Errorf("answer = %q", got)
	}
	if src.Header().Name != "www.example.net." || src.Header().Ttl != 600 {
		t.Errorf("source record was changed: %s", src)
	}
}

func TestNegativeSOATTL(t *testing.T) {
	r := new(dns.Msg)
	r.SetQuestion("example.org.", dns.TypeA)
	soa := test.SOA("example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")
	for _, tc := range []struct {
		rcode       int
		chain, want uint32
	}{{dns.RcodeSuccess, 600, 300}, {dns.RcodeSuccess, 30, 30}, {dns.RcodeNameError, 100, 100}} {
		m := Negative(r, tc.rcode, soa, tc.chain)
		if m.Rcode != tc.rcode || len(m.Answer) != 0 || len(m.Ns) != 1 || m.Ns[0].Header().Ttl != tc.want {
			t.Errorf("chain ttl %d: got %v, want rcode %d with SOA ttl %d", tc.chain, m, tc.rcode, tc.want)
		}
		if soa.Hdr.Ttl != 3600 {
			t.Fatal("the SOA was changed")
		}
	}
}

// An extended error never makes a reply overflow the client's buffer: the fullest text that fits
// is used, and the last is cut when none does.
func TestExtendedErrorFitsBuffer(t *testing.T) {
	long := &chain.Error{Kind: chain.Loop}
	for i := range 12 {
		long.Names = append(long.Names, strings.Repeat("x", 60)+strconv.Itoa(i)+".example.org.")
	}
	long.Names = append(long.Names, long.Names[0])
	for _, tc := range []struct {
		size     int
		want     string // the text used; "~" for a cut one
		noEDNS   bool
		qname    string
		texts    []string
		wantNone bool
	}{
		{size: 4096, texts: Texts(long), want: long.Error()},
		{size: 512, texts: Texts(long), want: long.Short()},
		{size: 512, texts: []string{strings.Repeat("y", 600)}, want: "~"},
		{size: 512, noEDNS: true, texts: Texts(long), wantNone: true},
	} {
		r := new(dns.Msg)
		r.SetQuestion(long.Names[0], dns.TypeA)
		if !tc.noEDNS {
			r.SetEdns0(uint16(tc.size), false)
		}
		m := Servfail(r, tc.size, dns.ExtendedErrorCodeOther, tc.texts...)
		if m.Len() > tc.size {
			t.Errorf("buffer %d: reply of %d bytes", tc.size, m.Len())
		}
		got := ede(m)
		switch {
		case tc.wantNone && got != "":
			t.Errorf("no EDNS: extended error %q", got)
		case tc.want == "~" && (!strings.HasPrefix(got, "0: yyy") || !strings.HasSuffix(got, "...")):
			t.Errorf("buffer %d: %q, want a cut text", tc.size, got)
		case tc.want != "~" && !tc.wantNone && got != "0: "+tc.want:
			t.Errorf("buffer %d: %q, want %q", tc.size, got, tc.want)
		}
	}
	if s := long.Short(); !strings.Contains(s, "...(11 more)...") {
		t.Errorf("short text %q does not say how many names it left out", s)
	}
}

// Answers from the zone's own records are copies: what a client or a plugin above does with them
// never reaches the audit's snapshot.
func TestSiblingCopies(t *testing.T) {
	mx := make([]dns.RR, 2, 4) // spare capacity, as a slice built with append has
	mx[0], mx[1] = test.MX("example.org. 3600 IN MX 10 mx.example.net."), test.MX("example.org. 3600 IN MX 20 mx2.example.net.")
	sigs := []dns.RR{test.RRSIG("example.org. 3600 IN RRSIG MX 13 2 3600 20300101000000 20200101000000 12345 example.org. c2ln")}
	r := new(dns.Msg)
	r.SetQuestion("example.org.", dns.TypeMX)
	r.SetEdns0(1232, true)
	m := Sibling(r, mx, sigs, nil)
	if len(m.Answer) != 3 {
		t.Fatalf("answer %v, want two MX and their RRSIG", m.Answer)
	}
	m.Answer[0].Header().Ttl = 1
	if mx[0].Header().Ttl != 3600 || mx[:3][2] != nil {
		t.Error("the reply shares records or the backing array with the snapshot")
	}
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

// Each failure gets the extended error code RFC 8914 gives it.
func TestInfoCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want uint16
	}{
		{&chain.Error{Kind: chain.Loop}, dns.ExtendedErrorCodeOther},
		{&chain.Error{Kind: chain.Prohibited}, dns.ExtendedErrorCodeProhibited},
		{&chain.LookupError{Cause: chain.Referral}, dns.ExtendedErrorCodeNoReachableAuthority},
		{&chain.LookupError{Cause: chain.Failed, Rcode: dns.RcodeServerFailure}, dns.ExtendedErrorCodeNoReachableAuthority},
		{&chain.LookupError{Cause: chain.Unreachable}, dns.ExtendedErrorCodeNetworkError},
		{&chain.LookupError{Cause: chain.Busy}, dns.ExtendedErrorCodeOther},
	} {
		if got := InfoCode(tc.err); got != tc.want {
			t.Errorf("%#v: code %d, want %d", tc.err, got, tc.want)
		}
	}
}
