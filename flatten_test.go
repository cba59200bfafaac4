package flatten

import (
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

func TestFlattenedKeepsQuestionSpelling(t *testing.T) {
	r := new(dns.Msg)
	r.SetQuestion("ExAmPlE.oRg.", dns.TypeA)
	src := test.A("www.example.net. 600 IN A 192.0.2.10")
	m := flattened(r, 42, []dns.RR{src, test.A("www.example.net. 600 IN A 192.0.2.10")})
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
		m := negative(r, tc.rcode, soa, tc.chain)
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
	long := &ChainError{Kind: Loop}
	for i := range 12 {
		long.Names = append(long.Names, strings.Repeat("x", 60)+itoa(i)+".example.org.")
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
		{size: 4096, texts: errorTexts(long), want: long.Error()},
		{size: 512, texts: errorTexts(long), want: long.short()},
		{size: 512, texts: []string{strings.Repeat("y", 600)}, want: "~"},
		{size: 512, noEDNS: true, texts: errorTexts(long), wantNone: true},
	} {
		r := new(dns.Msg)
		r.SetQuestion(long.Names[0], dns.TypeA)
		if !tc.noEDNS {
			r.SetEdns0(uint16(tc.size), false)
		}
		m := servfail(r, tc.size, dns.ExtendedErrorCodeOther, tc.texts...)
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
	if s := long.short(); !strings.Contains(s, "...(11 more)...") {
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
	m := sibling(r, mx, sigs, nil)
	if len(m.Answer) != 3 {
		t.Fatalf("answer %v, want two MX and their RRSIG", m.Answer)
	}
	m.Answer[0].Header().Ttl = 1
	if mx[0].Header().Ttl != 3600 || mx[:3][2] != nil {
		t.Error("the reply shares records or the backing array with the snapshot")
	}
}
