package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dnsflatten/flatten/internal/expected"

	"github.com/miekg/dns"
)

// fakeOracle answers from a fixed set of external names: what a resolver would say of them, as
// the end-to-end tests' oracle server does (test/lint_test.go): the names of oracleZones that it
// lacks do not exist (NXDOMAIN); names outside them are REFUSED.
type fakeOracle map[string][]string // name -> records (presentation format)

// oracleZones are the zones the oracle knows whole.
var oracleZones = []string{"example.net.", "azurewebsites.net.", "cloudfront.net.", "example."}

func (o fakeOracle) Lookup(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	rrs, ok := o[dns.CanonicalName(name)]
	if !ok {
		m.Rcode = dns.RcodeRefused
		if slices.ContainsFunc(oracleZones, func(z string) bool { return dns.IsSubDomain(z, name) }) {
			m.Rcode = dns.RcodeNameError
		}
		return m, nil
	}
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			return nil, err
		}
		if rr.Header().Rrtype == qtype {
			m.Answer = append(m.Answer, rr)
		}
	}
	return m, nil
}

var oracle = fakeOracle{
	"example.net.":         {"example.net. 60 IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 300"},
	"azurewebsites.net.":   {"azurewebsites.net. 60 IN SOA ns1.azurewebsites.net. h.azurewebsites.net. 1 7200 3600 1209600 60"},
	"cloudfront.net.":      {"cloudfront.net. 60 IN SOA ns1.cloudfront.net. h.cloudfront.net. 1 7200 3600 1209600 60"},
	"example.":             {"example. 60 IN SOA ns1.example.net. h.example.net. 1 7200 3600 1209600 60"},
	"www.example.net.":     {"www.example.net. 60 IN A 192.0.2.10"},
	"mx.example.net.":      {"mx.example.net. 60 IN A 192.0.2.25"},
	"sip.example.net.":     {"sip.example.net. 60 IN A 192.0.2.26"},
	"ns1.example.net.":     {"ns1.example.net. 60 IN A 192.0.2.53"},
	"a.example.net.":       {"a.example.net. 60 IN A 192.0.2.1"},
	"b.example.net.":       {"b.example.net. 60 IN A 192.0.2.2"},
	"s1.dkim.example.net.": {`s1.dkim.example.net. 60 IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="`},
	"s2.dkim.example.net.": {`s2.dkim.example.net. 60 IN TXT "v=spf1 -all"`},
	"nohost.example.net.":  {`nohost.example.net. 60 IN TXT "no addresses here"`},
	"bimi.example.net.":    {`bimi.example.net. 60 IN TXT "not a bimi record"`},
}

func summary(fs []Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s", f.Severity, f.Rule, f.Owner))
	}
	return out
}

func TestRules(t *testing.T) {
	t.Parallel()
	for file, expected := range expectedFindings(t, "testdata/expected-findings.txt") {
		t.Run(file, func(t *testing.T) {
			z, err := ParseZoneFile("testdata/"+file, "")
			if err != nil {
				t.Fatal(err)
			}
			got := summary(Check(context.Background(), []Zone{z}, Config{Oracle: oracle}))
			if !slices.Equal(got, expected) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(expected, "\n  "))
			}
		})
	}
}

// Without an oracle, checks that need one are skipped, never guessed.
func TestRulesWithoutOracle(t *testing.T) {
	t.Parallel()
	for file, expected := range map[string][]string{
		"dangling.example.org": {"warning dangling-cname gone.example.org."},
		"email.example.org":    nil,
		"pointers.example.org": {"error target-is-alias _sip._tcp.example.org.", "error target-is-alias example.org.", "error target-is-alias sub.example.org."},
		// Every target is in the zone.
		"noaddress.example.org": {"warning target-no-address _sip._tcp.example.org.", "error target-no-address example.org.", "error target-no-address lab.example.org."},
		"dname.example.org":     {"warning dangling-cname gone.example.org.", "error target-is-alias mail.example.org."},
	} {
		z, err := ParseZoneFile("testdata/"+file, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(Check(context.Background(), []Zone{z}, Config{})); !slices.Equal(got, expected) {
			t.Errorf("%s: findings %v, want %v", file, got, expected)
		}
	}
}

// A loop across two zones is found when they are checked together, and reported once.
func TestLoopAcrossZones(t *testing.T) {
	t.Parallel()
	a, _ := ParseZone(strings.NewReader("@ 3600 IN SOA ns. h. 1 2 3 4 5\n@ 3600 IN CNAME b.test.\n"), "a.test.", "a")
	b, _ := ParseZone(strings.NewReader("@ 3600 IN SOA ns. h. 1 2 3 4 5\n@ 3600 IN CNAME a.test.\n"), "b.test.", "b")
	got := Check(context.Background(), []Zone{a, b}, Config{})
	var loops []string
	for _, f := range got {
		if f.Rule == RuleLoop {
			loops = append(loops, f.Message)
		}
	}
	if !slices.Equal(loops, []string{"CNAME loop: a.test. -> b.test. -> a.test."}) {
		t.Errorf("loops %v", loops)
	}
}

func TestFindingText(t *testing.T) {
	t.Parallel()
	z, _ := ParseZoneFile("testdata/relative.example.org", "")
	for _, f := range Check(context.Background(), []Zone{z}, Config{}) {
		if f.Rule == RuleRelative && f.Owner == "shops.example.org." {
			want := "error relative-name shops.example.org.: target shops.myplatform.com.example.org. looks like shops.myplatform.com. written without its trailing dot: the zone's origin example.org. was appended (RFC 1035 5.1); fix: write the target as 'shops.myplatform.com.', with the trailing dot"
			if f.String() != want {
				t.Errorf("finding text\n%s\nwant\n%s", f, want)
			}
			return
		}
	}
	t.Error("no relative-name finding for shops")
}

func TestTakeoverTable(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]Claim{
		"x.azurewebsites.net.":               Vulnerable,
		"x.cloudapp.net.":                    Edge,
		"d123.cloudfront.net.":               NotVulnerable,
		"x.web.core.windows.net.":            Vulnerable,
		"myapp.eu-west-1.elb.amazonaws.com.": NotVulnerable,
		"www.example.net.":                   Unknown,
		"azurewebsites.net.":                 Unknown, // the provider's own name is not an abandoned one
	} {
		p, _ := DefaultSuffixes.Match(name)
		if p.Claim != want {
			t.Errorf("%s: claim %d, want %d", name, p.Claim, want)
		}
	}
}

// expectedFindings reads expected-findings.txt (see internal/expected).
func expectedFindings(t *testing.T, path string) map[string][]string {
	t.Helper()
	want, err := expected.Findings(path)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

func TestSeverityJSON(t *testing.T) {
	t.Parallel()
	for s := Info; s <= Critical; s++ {
		b, err := json.Marshal(s)
		var back Severity
		if err != nil || json.Unmarshal(b, &back) != nil || back != s {
			t.Errorf("%v: %s %v, back %v", s, b, err, back)
		}
	}
	var s Severity
	if err := json.Unmarshal([]byte(`"fatal"`), &s); err == nil {
		t.Error("fatal read as a severity")
	}
}
