package chain

import (
	"errors"
	"slices"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

func TestFollow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		max     int
		answer  []dns.RR
		want    []string // final records as text, nil when the chain ends without data
		wantTTL uint32
		wantErr string
		last    string
	}{
		{
			name:    "cname to address",
			qname:   "example.org.",
			answer:  []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net."), test.A("www.example.net. 600 IN A 192.0.2.10")},
			want:    []string{"www.example.net.\t600\tIN\tA\t192.0.2.10"},
			wantTTL: 300,
			last:    "www.example.net.",
		},
		{
			name:  "mixed case owners and targets",
			qname: "ExAmPlE.org.",
			answer: []dns.RR{
				test.CNAME("EXAMPLE.ORG. 300 IN CNAME A.Example.NET."),
				test.CNAME("a.example.net. 100 IN CNAME b.example.net."),
				test.A("B.EXAMPLE.NET. 600 IN A 192.0.2.10"),
			},
			want:    []string{"B.EXAMPLE.NET.\t600\tIN\tA\t192.0.2.10"},
			wantTTL: 100,
			last:    "b.example.net.",
		},
		{
			name:  "final rrset sets the lowest ttl",
			qname: "example.org.",
			answer: []dns.RR{
				test.CNAME("example.org. 300 IN CNAME www.example.net."),
				test.A("www.example.net. 60 IN A 192.0.2.10"),
				test.A("www.example.net. 60 IN A 192.0.2.11"),
			},
			want:    []string{"www.example.net.\t60\tIN\tA\t192.0.2.10", "www.example.net.\t60\tIN\tA\t192.0.2.11"},
			wantTTL: 60,
			last:    "www.example.net.",
		},
		{
			name:  "records off the chain are ignored",
			qname: "example.org.",
			answer: []dns.RR{
				test.A("evil.example.com. 600 IN A 203.0.113.66"),
				test.CNAME("example.org. 300 IN CNAME www.example.net."),
				test.CNAME("other.example.net. 5 IN CNAME evil.example.com."),
				test.AAAA("www.example.net. 600 IN AAAA 2001:db8::66"),
				test.A("www.example.net. 600 IN A 192.0.2.10"),
			},
			want:    []string{"www.example.net.\t600\tIN\tA\t192.0.2.10"},
			wantTTL: 300,
			last:    "www.example.net.",
		},
		{
			name:    "chain ends without data",
			qname:   "example.org.",
			answer:  []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net.")},
			wantTTL: 300,
			last:    "www.example.net.",
		},
		{
			name:  "loop of three names",
			qname: "a.example.org.",
			answer: []dns.RR{
				test.CNAME("a.example.org. 300 IN CNAME b.example.org."),
				test.CNAME("b.example.org. 300 IN CNAME C.example.org."),
				test.CNAME("c.example.org. 300 IN CNAME a.example.org."),
			},
			wantErr: "CNAME loop: a.example.org. -> b.example.org. -> c.example.org. -> a.example.org.",
		},
		{
			name:    "cname to itself",
			qname:   "a.example.org.",
			answer:  []dns.RR{test.CNAME("a.example.org. 300 IN CNAME A.example.org.")},
			wantErr: "CNAME loop: a.example.org. -> a.example.org.",
		},
		{
			name:    "longer than max_chain",
			qname:   "h0.example.org.",
			max:     2,
			answer:  hops(3),
			wantErr: "CNAME chain longer than max_chain 2: h0.example.org. -> h1.example.org. -> h2.example.org. -> h3.example.org.",
		},
		{
			name:    "exactly max_chain",
			qname:   "h0.example.org.",
			max:     3,
			answer:  append(hops(3), test.A("h3.example.org. 300 IN A 192.0.2.1")),
			want:    []string{"h3.example.org.\t300\tIN\tA\t192.0.2.1"},
			wantTTL: 300,
			last:    "h3.example.org.",
		},
		{
			name:  "two cnames with different targets",
			qname: "a.example.org.",
			answer: []dns.RR{
				test.CNAME("a.example.org. 300 IN CNAME b.example.org."),
				test.CNAME("a.example.org. 300 IN CNAME c.example.org."),
			},
			wantErr: "more than one CNAME at a.example.org. (RFC 2181 10.1): a.example.org.",
		},
		{
			name:  "duplicate cname is one cname",
			qname: "a.example.org.",
			answer: []dns.RR{
				test.CNAME("a.example.org. 300 IN CNAME b.example.org."),
				test.CNAME("a.example.org. 200 IN CNAME B.example.org."),
				test.A("b.example.org. 300 IN A 192.0.2.1"),
			},
			want:    []string{"b.example.org.\t300\tIN\tA\t192.0.2.1"},
			wantTTL: 200,
			last:    "b.example.org.",
		},
		{
			name:  "a DNAME rewrites a name below its owner (RFC 6672)",
			qname: "cname.example.org.",
			answer: []dns.RR{
				test.CNAME("cname.example.org. 300 IN CNAME a.cnamedname.example.org."),
				&dns.DNAME{Hdr: dns.RR_Header{Name: "cnamedname.example.org.", Rrtype: dns.TypeDNAME, Class: dns.ClassINET, Ttl: 120}, Target: "target.example.net."},
				test.A("a.target.example.net. 600 IN A 192.0.2.7"),
			},
			want:    []string{"a.target.example.net.\t600\tIN\tA\t192.0.2.7"},
			wantTTL: 120,
			last:    "a.target.example.net.",
		},
		{
			name:  "the synthesized CNAME beside a DNAME is followed as any CNAME",
			qname: "a.old.example.org.",
			answer: []dns.RR{
				&dns.DNAME{Hdr: dns.RR_Header{Name: "old.example.org.", Rrtype: dns.TypeDNAME, Class: dns.ClassINET, Ttl: 120}, Target: "new.example.org."},
				test.CNAME("a.old.example.org. 120 IN CNAME a.new.example.org."),
				test.A("a.new.example.org. 60 IN A 192.0.2.8"),
			},
			want:    []string{"a.new.example.org.\t60\tIN\tA\t192.0.2.8"},
			wantTTL: 60,
			last:    "a.new.example.org.",
		},
		{
			name:  "a DNAME owned by the name itself does not rewrite it",
			qname: "old.example.org.",
			answer: []dns.RR{
				&dns.DNAME{Hdr: dns.RR_Header{Name: "old.example.org.", Rrtype: dns.TypeDNAME, Class: dns.ClassINET, Ttl: 120}, Target: "new.example.org."},
			},
			wantTTL: MaxTTL,
			last:    "old.example.org.",
		},
		{
			name:  "a loop through a DNAME",
			qname: "x.a.example.org.",
			answer: []dns.RR{
				&dns.DNAME{Hdr: dns.RR_Header{Name: "a.example.org.", Rrtype: dns.TypeDNAME, Class: dns.ClassINET, Ttl: 120}, Target: "b.example.org."},
				test.CNAME("x.b.example.org. 300 IN CNAME x.a.example.org."),
			},
			wantErr: "CNAME loop: x.a.example.org. -> x.b.example.org. -> x.a.example.org.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = 10
			}
			qtype := tc.qtype
			if qtype == 0 {
				qtype = dns.TypeA
			}
			c := New(tc.qname, Limits{Max: max})
			final, err := c.Follow(tc.answer, qtype)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if len(final) != len(tc.want) {
				t.Fatalf("final = %v, want %v", final, tc.want)
			}
			for i := range final {
				if final[i].String() != tc.want[i] {
					t.Errorf("final[%d] = %q, want %q", i, final[i].String(), tc.want[i])
				}
			}
			if c.ttl != tc.wantTTL {
				t.Errorf("ttl = %d, want %d", c.ttl, tc.wantTTL)
			}
			if c.Last() != tc.last {
				t.Errorf("last = %s, want %s", c.Last(), tc.last)
			}
		})
	}
}

// hops returns a chain h0 -> h1 -> ... -> hn in example.org.
func hops(n int) []dns.RR {
	rrs := make([]dns.RR, 0, n)
	for i := range n {
		rrs = append(rrs, test.CNAME(hopName(i)+" 300 IN CNAME "+hopName(i+1)))
	}
	return rrs
}

func hopName(i int) string { return "h" + itoa(i) + ".example.org." }

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, zone string
		want       bool
	}{
		{"example.org.", "example.org.", true},
		{"WWW.Example.ORG.", "example.org.", true},
		{"wwwexample.org.", "example.org.", false},
		{`www\.example.org.`, "example.org.", false},
		{`www\\.example.org.`, "example.org.", true},
		{"org.", "example.org.", false},
		{"anything.", ".", true},
	} {
		if got := In(tc.name, tc.zone); got != tc.want {
			t.Errorf("In(%q, %q) = %v, want %v", tc.name, tc.zone, got, tc.want)
		}
	}
}

// TestLongChainsLeaveTheFrame walks chains of every length up to MaxHops across lookups (Extend),
// past the names a Chain holds in itself: the path, the loop check and the hop bound see every name,
// whether it is held in the Chain or moved to the heap.
func TestLongChainsLeaveTheFrame(t *testing.T) {
	t.Parallel()
	for n := 1; n <= MaxHops; n++ {
		names := make([]string, n+1)
		for i := range names {
			names[i] = hopName(i)
		}
		var c Chain
		c.Start(names[0], Limits{Max: n})
		for i := 1; i <= n; i++ {
			if err := c.Extend(names[i-1:i+1], uint32(1000-i)); err != nil {
				t.Fatalf("%d hops: hop %d: %v", n, i, err)
			}
		}
		if got := c.Path(); !slices.Equal(got, names) || c.Last() != names[n] || c.Hops() != n || c.TTL() != uint32(1000-n) {
			t.Fatalf("%d hops: path %v last %s hops %d ttl %d", n, got, c.Last(), c.Hops(), c.TTL())
		}
		// A step back to any name on the chain is a loop naming the whole path; one more new name
		// is a chain too long.
		for i := range names {
			err := c.Step(names[i])
			var ce *Error
			if !errors.As(err, &ce) || ce.Kind != Loop || len(ce.Names) != n+2 || ce.Names[n+1] != names[i] {
				t.Fatalf("%d hops: step back to %s: %v", n, names[i], err)
			}
		}
		var ce *Error
		if err := c.Step("new.example.org."); !errors.As(err, &ce) || ce.Kind != TooLong || ce.Max != n {
			t.Fatalf("%d hops: one more: %v", n, err)
		}
		// A restarted Chain holds only its new name.
		c.Start("again.example.org.", Limits{Max: 1})
		if got := c.Path(); !slices.Equal(got, []string{"again.example.org."}) {
			t.Fatalf("%d hops: restarted: %v", n, got)
		}
	}
}
