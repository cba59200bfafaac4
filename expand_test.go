package flatten

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// A transfer sends every name the plugin flattens with its addresses instead of its alias record,
// keeps the name's other records, and sends a name whose target does not resolve without them.
func TestExpandName(t *testing.T) {
	b := newBackend()
	f, _ := newTest(t, b, b, func(c *config) {
		c.mode, c.expandTransfer = All, true
		c.aliases = map[string]string{"declared.example.org.": "www.example.net."}
	})
	for _, tc := range []struct {
		name string
		in   []dns.RR
		want []string
	}{
		{name: "apex CNAME", in: []dns.RR{soaOrg, test.NS("example.org. 3600 IN NS ns1.example.net."), test.CNAME("example.org. 300 IN CNAME www.example.net."),
			test.MX("example.org. 3600 IN MX 10 mx.example.net.")},
			want: []string{soaOrg.String(), "example.org.\t3600\tIN\tNS\tns1.example.net.", "example.org.\t3600\tIN\tMX\t10 mx.example.net.",
				"example.org.\t300\tIN\tA\t192.0.2.10", "example.org.\t300\tIN\tA\t192.0.2.11", "example.org.\t300\tIN\tAAAA\t2001:db8::10"}},
		{name: "dangling", in: []dns.RR{test.CNAME("dangling.example.org. 120 IN CNAME gone.example.net.")}, want: nil},
		{name: "declared, its own address replaced", in: []dns.RR{test.A("declared.example.org. 3600 IN A 198.51.100.1"), test.TXT(`declared.example.org. 3600 IN TXT "kept"`)},
			want: []string{"declared.example.org.\t3600\tIN\tTXT\t\"kept\"", "declared.example.org.\t600\tIN\tA\t192.0.2.10",
				"declared.example.org.\t600\tIN\tA\t192.0.2.11", "declared.example.org.\t600\tIN\tAAAA\t2001:db8::10"}},
		{name: "a name not flattened", in: []dns.RR{test.A("plain.example.org. 300 IN A 192.0.2.1")}, want: []string{"plain.example.org.\t300\tIN\tA\t192.0.2.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rrs := (expansion{f: f, ctx: context.Background(), zone: "example.org."}).name(tc.in)
			got := make([]string, 0, len(rrs))
			for _, rr := range rrs {
				got = append(got, rr.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
