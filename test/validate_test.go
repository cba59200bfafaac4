package test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

const auditCorefile = `example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    ready %s
    flatten {
        resolver %s
        audit 1s
        %s
    }
    file %s {
        reload 1s
    }
}
`

// auditServer serves a copy of db.audit.example.org (which the test may change) with flatten
// resolving outside names through a real oracle server. It returns the server, the zone file and
// the metrics and ready addresses.
func auditServer(tb testing.TB, extra string) (s *server, zone, metrics, ready string) {
	tb.Helper()
	oracle := oracleServer(tb)
	zone = filepath.Join(tb.TempDir(), "db.example.org")
	b, err := os.ReadFile("testdata/db.audit.example.org")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(zone, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	metrics = fmt.Sprintf("127.0.0.1:%d", freePort(tb))
	ready = fmt.Sprintf("127.0.0.1:%d", freePort(tb))
	s = start(tb, fmt.Sprintf(auditCorefile, metrics, ready, oracle.addr, extra, zone))
	return s, zone, metrics, ready
}

// At start-up the plugin reads the zone from the file plugin (no transfer directive), checks every
// rule, logs a summary and each finding, counts them, and only then reports ready.
func TestAuditAtStartup(t *testing.T) {
	s, _, metrics, ready := auditServer(t, "")
	s.waitLog(t, "[INFO] plugin/flatten: audit of example.org. (serial 1, 11 records): 7 finding(s): 1 critical, 5 error, 1 warning")
	for _, line := range []string{
		"[ERROR] plugin/flatten: audit: critical takeover-risk app.example.org.: subdomain-takeover risk: abandoned.azurewebsites.net. does not exist and names under azurewebsites.net. can be claimed by anyone",
		"[WARNING] plugin/flatten: audit: error cname-at-apex example.org.: CNAME at the zone apex, which must hold SOA and NS",
		"[WARNING] plugin/flatten: audit: error cname-and-other-data example.org.: CNAME beside MX, TXT: only DNSSEC records may share a name with a CNAME",
		"[WARNING] plugin/flatten: audit: error cname-and-other-data txt.example.org.: CNAME beside TXT",
		"[WARNING] plugin/flatten: audit: error cname-loop loop1.example.org.: CNAME loop: loop1.example.org. -> loop2.example.org. -> loop1.example.org. (RFC 1034 3.6.2)",
		"[WARNING] plugin/flatten: audit: error relative-name shops.example.org.: target shops.myplatform.com.example.org. looks like shops.myplatform.com. written without its trailing dot",
		"[WARNING] plugin/flatten: audit: warning dangling-cname shops.example.org.: dangling CNAME: shops.myplatform.com.example.org. does not exist (NXDOMAIN)",
	} {
		s.waitLog(t, line)
	}
	for rule, want := range map[string]float64{
		`rule="takeover-risk",severity="critical"`:     1,
		`rule="cname-at-apex",severity="error"`:        1,
		`rule="cname-and-other-data",severity="error"`: 2,
		`rule="cname-loop",severity="error"`:           1,
		`rule="relative-name",severity="error"`:        1,
		`rule="dangling-cname",severity="warning"`:     1,
		`rule="multiple-cnames",severity="error"`:      0,
		`rule="target-is-alias",severity="error"`:      0,
	} {
		if got := metric(t, metrics, "coredns_flatten_findings_total", rule); got != want {
			t.Errorf("coredns_flatten_findings_total{%s} = %v, want %v", rule, got, want)
		}
	}
	eventually(t, 5*time.Second, func() error {
		resp, err := http.Get("http://" + ready + "/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/ready answered %d", resp.StatusCode)
		}
		return nil
	})
}

// An apex with a CNAME beside MX and TXT: A is flattened; MX and TXT come from the zone, not the
// CNAME the file plugin gives for every type; a type the apex lacks is NODATA.
func TestApexSiblingsServed(t *testing.T) {
	s, _, _, _ := auditServer(t, "")
	s.waitLog(t, "audit of example.org.")
	for _, network := range []string{"udp", "tcp"} {
		check(t, s.query(t, network, "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("example.org. 60 IN A 192.0.2.10")}}, "")
		check(t, s.query(t, network, "example.org.", dns.TypeMX), test.Case{Qname: "example.org.", Qtype: dns.TypeMX,
			Answer: []dns.RR{test.MX("example.org. 3600 IN MX 10 mx.example.net.")}}, "")
		check(t, s.query(t, network, "Example.Org.", dns.TypeTXT), test.Case{Qname: "Example.Org.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`example.org. 3600 IN TXT "v=spf1 mx -all"`)}}, "")
		check(t, s.query(t, network, "example.org.", dns.TypeCAA), test.Case{Qname: "example.org.", Qtype: dns.TypeCAA,
			Ns: []dns.RR{test.SOA("example.org. 300 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")}}, "")
		// SOA and NS are the file plugin's, as always.
		check(t, s.query(t, network, "example.org.", dns.TypeNS), test.Case{Qname: "example.org.", Qtype: dns.TypeNS,
			Answer: []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")}}, "")
	}
}

// A new serial starts a new audit; a fixed zone audits clean and the apex index goes with it.
func TestAuditOnSerialChange(t *testing.T) {
	s, zone, _, _ := auditServer(t, "")
	s.waitLog(t, "audit of example.org. (serial 1, 11 records): 7 finding(s)")
	fixed := `$ORIGIN example.org.
@ 3600 IN SOA ns1.example.net. hostmaster.example.org. 2 7200 3600 1209600 300
@ 3600 IN NS  ns1.example.net.
@ 3600 IN MX  10 mx.example.net.
@ 3600 IN A   192.0.2.99
`
	if err := os.WriteFile(zone, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "[INFO] plugin/flatten: audit of example.org. (serial 2, 4 records): no findings")
	// The apex is no alias any more: its own records answer.
	eventually(t, 5*time.Second, func() error {
		if got := answer(s.query(t, "udp", "example.org.", dns.TypeA)); got != "NOERROR example.org. 3600 A 192.0.2.99" {
			return fmt.Errorf("answer %q after the zone changed", got)
		}
		return nil
	})
}

const appDangling = "0: dangling alias: target abandoned.azurewebsites.net. does not exist (NXDOMAIN): app.example.org. -> abandoned.azurewebsites.net."

// Findings in live answers: a dangling alias into a claimable provider's namespace is logged as a
// takeover risk and counted; the dangling option chooses its reply.
func TestLiveFindingsAndDanglingOption(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		option string
		want   test.Case
		ede    string
	}{
		{"dangling nodata", test.Case{Qname: "app.example.org.", Qtype: dns.TypeA,
			Ns: []dns.RR{test.SOA("example.org. 60 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")}}, appDangling},
		{"dangling nxdomain", test.Case{Qname: "app.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError,
			Ns: []dns.RR{test.SOA("example.org. 60 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")}}, appDangling},
		{"dangling servfail", test.Case{Qname: "app.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure}, appDangling},
	} {
		t.Run(tc.option, func(t *testing.T) {
			s, _, metrics, _ := auditServer(t, "all\n        "+tc.option)
			s.waitLog(t, "audit of example.org.")
			before := metric(t, metrics, "coredns_flatten_findings_total", `rule="takeover-risk"`)
			check(t, s.query(t, "udp", "app.example.org.", dns.TypeA), tc.want, tc.ede)
			s.waitLog(t, "[ERROR] plugin/flatten: critical takeover-risk app.example.org.: subdomain-takeover risk: abandoned.azurewebsites.net. does not exist and names under azurewebsites.net. can be claimed by anyone (known takeovers; Azure App Service; an asuid TXT verification record blocks takeover): app.example.org. -> abandoned.azurewebsites.net.")
			if got := metric(t, metrics, "coredns_flatten_findings_total", `rule="takeover-risk"`) - before; got != 1 {
				t.Errorf("live takeover-risk findings counted %v, want 1", got)
			}
			if !strings.Contains(s.out.String(), "audit:") {
				t.Error("no audit log lines")
			}
		})
	}
}

var auditLine = regexp.MustCompile(`\] plugin/flatten: audit: (\w+) ([a-z-]+) (\S+):`)

// Every rule through the audit at start-up: each test zone, served by the file plugin, gives in
// the server's log exactly the findings the linter gives for the file.
func TestAuditEveryRule(t *testing.T) {
	t.Parallel()
	oracle := oracleServer(t)
	for file, want := range expectedFindings(t, filepath.Join(lintZones, "expected-findings.txt")) {
		t.Run(file, func(t *testing.T) {
			path, err := filepath.Abs(filepath.Join(lintZones, file))
			if err != nil {
				t.Fatal(err)
			}
			s := start(t, fmt.Sprintf("example.org:{{PORT}} {\n    bind 127.0.0.1\n    flatten {\n        resolver %s\n        audit 0\n    }\n    file %s\n}\n", oracle.addr, path))
			s.waitLog(t, "plugin/flatten: audit of example.org. (serial 1, ")
			// The findings are logged after the summary: wait for them.
			eventually(t, 5*time.Second, func() error {
				var got []string
				for _, m := range auditLine.FindAllStringSubmatch(s.out.String(), -1) {
					got = append(got, m[1]+" "+m[2]+" "+m[3])
				}
				if !slices.Equal(got, want) {
					return fmt.Errorf("audit findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
				return nil
			})
		})
	}
}

// With a resolver that answers nothing, the audit still reports what it found in the zone, and
// says once per pass how many names outside it were not checked, and why; the gauge shows them.
func TestAuditSaysWhatItCouldNotCheck(t *testing.T) {
	zone := filepath.Join(t.TempDir(), "db.example.org")
	b, err := os.ReadFile("testdata/db.audit.example.org")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, zone, string(b))
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ready := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // nothing listens: connection refused
	s := start(t, fmt.Sprintf(auditCorefile, metrics, ready, dead, "", zone))
	s.waitLog(t, "[INFO] plugin/flatten: audit of example.org. (serial 1, 11 records): 6 finding(s): 5 error, 1 warning")
	s.waitLog(t, "[WARNING] plugin/flatten: audit: 4 name(s) outside the zones not checked, no answer after one retry (read udp "+dead+": read: connection refused)")
	s.waitLog(t, "connection refused): abandoned.azurewebsites.net. A, mx.example.net. CNAME, ns1.example.net. CNAME, www.example.net. A; their findings are unknown until the resolver answers")
	if got := metric(t, metrics, "coredns_flatten_audit_unchecked_names", `zone="example.org."`); got != 4 {
		t.Errorf("coredns_flatten_audit_unchecked_names{zone=\"example.org.\"} = %v, want 4", got)
	}
	if n := strings.Count(s.out.String(), "name(s) outside the zones not checked"); n != 1 {
		t.Errorf("the warning logged %d times in one pass", n)
	}
}

// Every counter of the plugin exists from start-up at 0, with its server label; a chain longer
// than max_chain is logged as far as it was followed, never with a CNAME called its end; a fork
// is counted where the README says.
func TestLiveChainProblems(t *testing.T) {
	var zone strings.Builder
	zone.WriteString("$ORIGIN example.org.\n@ 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300\n@ 3600 IN NS ns1.example.net.\n")
	for i := range 12 {
		next := fmt.Sprintf("c%d", i+1)
		if i == 11 {
			next = "end"
		}
		fmt.Fprintf(&zone, "c%d 300 IN CNAME %s\n", i, next)
	}
	zone.WriteString("end 300 IN A 192.0.2.1\nfork 300 IN CNAME end\nfork 300 IN CNAME c0\n")
	file := filepath.Join(t.TempDir(), "db.example.org")
	writeFile(t, file, zone.String())
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, fmt.Sprintf("example.org:{{PORT}} {\n    bind 127.0.0.1\n    prometheus %s\n    flatten {\n        all\n    }\n    file %s\n}\n", metrics, file))
	server := fmt.Sprintf(`server="dns://127.0.0.1:%d"`, s.port)

	page := get(t, "http://"+metrics+"/metrics")
	for _, series := range []string{
		"coredns_flatten_loops_total{" + server + "} 0",
		"coredns_flatten_chain_too_long_total{" + server + "} 0",
		"coredns_flatten_prohibited_total{" + server + "} 0",
		"coredns_flatten_dangling_total{" + server + "} 0",
		"coredns_flatten_stale_answers_total{" + server + "} 0",
		"coredns_flatten_fallback_answers_total{" + server + "} 0",
		"coredns_flatten_lookups_total{" + server + "} 0",
		`coredns_flatten_lookup_failures_total{cause="servfail",` + server + "} 0",
		"coredns_flatten_cache_hits_total{" + server + "} 0",
		"coredns_flatten_refreshes_total{" + server + "} 0",
		"coredns_flatten_alias_mode_total{" + server + "} 0",
		`coredns_flatten_flattened_total{` + server + `,type="A"} 0`,
		`coredns_flatten_findings_total{rule="cname-loop",severity="error"} 0`,
	} {
		if !strings.Contains(page, "\n"+series+"\n") {
			t.Errorf("no %s at start-up", series)
		}
	}

	// The server resolves no name outside its zones: the audit says once that it cannot check
	// them, and counts no failure.
	s.waitLog(t, "[INFO] plugin/flatten: audit: 1 name(s) outside the zones are not checked: this server resolves no names outside its zones; give flatten a resolver, or the block a forward, to check them")
	if strings.Contains(s.out.String(), "not checked, no answer") || metric(t, metrics, "coredns_flatten_audit_unchecked_names") != 0 {
		t.Errorf("names an authoritative-only server does not resolve are counted as failed:\n%s", s.out)
	}
	forks := metric(t, metrics, "coredns_flatten_findings_total", `rule="multiple-cnames"`) // the audit's
	if m := s.query(t, "udp", "c0.example.org.", dns.TypeA); m.Rcode != dns.RcodeServerFailure {
		t.Errorf("c0: rcode %s", dns.RcodeToString[m.Rcode])
	}
	s.waitLog(t, "[WARNING] plugin/flatten: warning chain-too-long c0.example.org.: CNAME chain of more than max_chain 10 hops from c0.example.org., not followed past c11.example.org.: c0.example.org. -> ")
	if strings.Contains(s.out.String(), "chain's end, c11") {
		t.Errorf("a CNAME called the chain's end:\n%s", s.out)
	}
	for range 3 {
		if m := s.query(t, "udp", "fork.example.org.", dns.TypeA); m.Rcode != dns.RcodeServerFailure {
			t.Errorf("fork: rcode %s", dns.RcodeToString[m.Rcode])
		}
	}
	if got := metric(t, metrics, "coredns_flatten_findings_total", `rule="multiple-cnames"`) - forks; got != 3 {
		t.Errorf("findings_total{rule=\"multiple-cnames\"} = %v after 3 questions at a fork", got)
	}
	if got := metric(t, metrics, "coredns_flatten_chain_too_long_total", server); got != 1 {
		t.Errorf("chain_too_long_total = %v", got)
	}
}

// With `flatten . { all }` no plugin serves the root: the audit reads the zones the block's file
// plugin serves below it instead, says so, and reports what it finds in them at start-up; names
// outside those zones are asked of the resolver (a takeover risk is found only so), not of the
// block.
func TestRootAuditsTheBlocksZones(t *testing.T) {
	oracle := oracleServer(t)
	s := start(t, fmt.Sprintf(`.:{{PORT}} {
    bind 127.0.0.1
    flatten . {
        all
        resolver %s
    }
    file {{DIR}}/db.audit.example.org example.org
}
`, oracle.addr))
	for _, line := range []string{
		"[INFO] plugin/flatten: audit: no plugin in this server block serves zone . itself; the zones its plugins serve below it are audited: example.org.",
		"[INFO] plugin/flatten: audit of example.org. (serial 1, 11 records): 7 finding(s): 1 critical, 5 error, 1 warning",
		"[ERROR] plugin/flatten: audit: critical takeover-risk app.example.org.: subdomain-takeover risk: abandoned.azurewebsites.net. does not exist and names under azurewebsites.net. can be claimed by anyone",
		"[WARNING] plugin/flatten: audit: error cname-loop loop1.example.org.: CNAME loop: loop1.example.org. -> loop2.example.org. -> loop1.example.org. (RFC 1034 3.6.2)",
	} {
		s.waitLog(t, line)
	}
	if out := s.out.String(); strings.Contains(out, "not audited") || strings.Contains(out, "not checked") {
		t.Errorf("a zone or a name was left unchecked:\n%s", out)
	}

	// The apex of a zone below the root is flattened in all mode, and its other types are its own
	// records, NODATA for a type it lacks, never the CNAME; a CNAME below an apex is file's, as is.
	for _, network := range []string{"udp", "tcp"} {
		check(t, s.query(t, network, "example.org.", dns.TypeMX), test.Case{Qname: "example.org.", Qtype: dns.TypeMX,
			Answer: []dns.RR{test.MX("example.org. 3600 IN MX 10 mx.example.net.")}}, "")
		check(t, s.query(t, network, "example.org.", dns.TypeCAA), test.Case{Qname: "example.org.", Qtype: dns.TypeCAA,
			Ns: []dns.RR{test.SOA("example.org. 300 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")}}, "")
	}
	check(t, s.query(t, "udp", "txt.example.org.", dns.TypeMX), test.Case{Qname: "txt.example.org.", Qtype: dns.TypeMX,
		Answer: []dns.RR{test.CNAME("txt.example.org. 3600 IN CNAME www.example.net.")},
		Ns:     []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")}}, "")
}

// A reload that drops a zone from the Corefile drops its audit_findings series with it, at once;
// the series of a zone still audited stay through the reload (an alert on them neither resolves
// nor fires again because of it) until the new audit publishes its own.
func TestReloadDropsARemovedZonesGauges(t *testing.T) {
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	const corefile = `%s:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    flatten
    file {{DIR}}/db.a.test a.test
    file {{DIR}}/db.b.test b.test
}
`
	s := start(t, fmt.Sprintf(corefile, "a.test b.test", metrics))
	s.waitLog(t, "plugin/flatten: audit of a.test.")
	s.waitLog(t, "plugin/flatten: audit of b.test.")
	findings := func(zone string) float64 {
		return metric(t, metrics, "coredns_flatten_audit_findings", `zone="`+zone+`"`)
	}
	var a, b float64
	eventually(t, 10*time.Second, func() error {
		if a, b = findings("a.test."), findings("b.test."); a == 0 || b == 0 {
			return fmt.Errorf("audit_findings: a.test. %v, b.test. %v; want both above 0 (each zone's apex is a CNAME)", a, b)
		}
		return nil
	})

	conf := s.cmd.Args[slices.Index(s.cmd.Args, "-conf")+1]
	if err := os.WriteFile(conf, []byte(expand(t, fmt.Sprintf(corefile, "a.test", metrics), s.port)), 0o644); err != nil {
		t.Fatal(err)
	}
	audits := strings.Count(s.out.String(), "plugin/flatten: audit of a.test.")
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "[INFO] Reloading complete")
	if got := findings("b.test."); got != 0 {
		t.Errorf("after the reload without b.test: audit_findings{zone=\"b.test.\"} = %v, want no series", got)
	}
	if got := findings("a.test."); got == 0 {
		t.Errorf("right after the reload: audit_findings{zone=\"a.test.\"} has no series (it was %v): the zone's figures went before its new audit", a)
	}
	eventually(t, 10*time.Second, func() error {
		if n := strings.Count(s.out.String(), "plugin/flatten: audit of a.test."); n <= audits {
			return fmt.Errorf("a.test. was not audited again after the reload")
		}
		return nil
	})
	if got := findings("a.test."); got == 0 {
		t.Errorf("after a.test's new audit: audit_findings{zone=\"a.test.\"} has no series")
	}
}

// In names mode without the apex listed, the apex's CNAME is not flattened, and its other types are
// not answered from the zone either: A and MX both get the zone plugin's CNAME, one consistent
// answer, not a CNAME for one type and the apex's own records for another.
func TestApexNotFlattenedKeepsItsCNAME(t *testing.T) {
	s, _, _, _ := auditServer(t, "names txt.example.org")
	s.waitLog(t, "audit of example.org.")
	for _, qtype := range []uint16{dns.TypeA, dns.TypeMX, dns.TypeTXT} {
		m := s.query(t, "udp", "example.org.", qtype)
		if len(m.Answer) == 0 || m.Answer[0].Header().Rrtype != dns.TypeCNAME || m.Answer[0].(*dns.CNAME).Target != "www.example.net." {
			t.Errorf("%s at the apex, not flattened: answer %v, want the zone's CNAME to www.example.net. first", dns.TypeToString[qtype], m.Answer)
		}
		for _, rr := range m.Answer {
			if rr.Header().Name == "example.org." && rr.Header().Rrtype == qtype {
				t.Errorf("%s at the apex, not flattened: %v answered from the zone beside its CNAME", dns.TypeToString[qtype], rr)
			}
		}
	}
}
