package rules

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// RFC 9460 Appendix D: every presentation form of its test vectors, valid and invalid, read as
// BIND reads them: quoted values, escaped commas and backslashes, values across lines.
func TestSVCBTestVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, record string
		want         string // the problem's message, in part; "" for a record read
	}{
		{"D.1 Figure 2: AliasMode", `example.com.   HTTPS   0 foo.example.com.`, ""},
		{"D.2 Figure 3: TargetName is .", `example.com.   SVCB   1 .`, ""},
		{"D.2 Figure 4: a port", `example.com.   SVCB   16 foo.example.com. port=53`, ""},
		{"D.2 Figure 5: a generic key, unquoted", `example.com.   SVCB   1 foo.example.com. key667=hello`, ""},
		{"D.2 Figure 6: a generic key, quoted with a decimal escape", `example.com.   SVCB   1 foo.example.com. key667="hello\210qoo"`, ""},
		{"D.2 Figure 7: two quoted IPv6 hints", "example.com.   SVCB   1 foo.example.com. (\n                      ipv6hint=\"2001:db8::1,2001:db8::53:1\"\n                      )", ""},
		{"D.2 Figure 8: an IPv6 hint in the embedded IPv4 syntax", "example.com.   SVCB   1 example.com. (\n                       ipv6hint=\"2001:db8:122:344::192.0.2.33\"\n                       )", ""},
		{"D.2 Figure 9: keys in any order", "example.com.   SVCB   16 foo.example.org. (\n                      alpn=h2,h3-19 mandatory=ipv4hint,alpn\n                      ipv4hint=192.0.2.1\n                      )", ""},
		{"D.2 Figure 10: an escaped comma and backslash, quoted", `example.com.   SVCB   16 foo.example.org. alpn="f\\\\oo\\,bar,h2"`, ""},
		{"D.2 Figure 10: the same, unquoted", `example.com.   SVCB   16 foo.example.org. alpn=f\\\092oo\092,bar,h2`, ""},
		{"an HTTPS record as zones write it", `www.example.com. 600 IN HTTPS 1 . alpn="h2,h3" ipv4hint=192.0.2.10,192.0.2.11`, ""},
		{"D.3 Figure 11: a key twice", "example.com.   SVCB   1 foo.example.com. (\n                       key123=abc key123=def\n                       )", "key123 appears twice"},
		{"D.3 Figure 12: mandatory empty", `example.com.   SVCB   1 foo.example.com. mandatory`, "mandatory has no value"},
		{"D.3 Figure 12: alpn empty", `example.com.   SVCB   1 foo.example.com. alpn`, "alpn has no value"},
		{"D.3 Figure 12: port empty", `example.com.   SVCB   1 foo.example.com. port`, "SvcParams: a value is missing or wrong"},
		{"D.3 Figure 12: ipv4hint empty", `example.com.   SVCB   1 foo.example.com. ipv4hint`, "SvcParams: a value is missing or wrong"},
		{"D.3 Figure 12: ipv6hint empty", `example.com.   SVCB   1 foo.example.com. ipv6hint`, "SvcParams: a value is missing or wrong"},
		{"D.3 Figure 13: no-default-alpn with a value", `example.com.   SVCB   1 foo.example.com. no-default-alpn=abc`, "SvcParams: a value is missing or wrong"},
		{"D.3 Figure 14: a mandatory key missing", `example.com.   SVCB   1 foo.example.com. mandatory=key123`, "mandatory lists key123, which the record does not give"},
		{"D.3 Figure 15: mandatory in its own list", `example.com.   SVCB   1 foo.example.com. mandatory=mandatory`, "mandatory lists mandatory itself"},
		{"D.3 Figure 16: a key twice in mandatory", "example.com.   SVCB   1 foo.example.com. (\n                      mandatory=key123,key123 key123=abc\n                      )", "mandatory lists key123 twice"},
		{"a blank between a key and its quoted value", `example.com. SVCB 1 . alpn= "h2"`, "SVCB key can't contain double quotes"},
		{"a key right after a quoted value", `example.com. SVCB 1 . key65534="a"alpn=h2`, "bad SVCB value quotation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, err := ParseZone(strings.NewReader("$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 h 1 7200 3600 1209600 300\n"+tc.record+"\n"), "", "db.example.com")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && len(z.Problems) > 0:
				t.Errorf("not read: %s", z.Problems[0].Message)
			case tc.want == "" && z.Records[len(z.Records)-1].Header().Rrtype == dns.TypeSOA:
				t.Error("no record read")
			case tc.want != "" && (len(z.Problems) != 1 || !strings.Contains(z.Problems[0].Message, tc.want)):
				t.Errorf("problems %v, want one saying %q", z.Problems, tc.want)
			}
		})
	}
}
