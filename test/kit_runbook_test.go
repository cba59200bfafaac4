package test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsflatten/flatten/internal/loopback"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
	"sigs.k8s.io/yaml"
)

// runbookCommand is how every alert's description sends the operator to the log.
const runbookCommand = "kubectl -n kube-system logs -l k8s-app=kube-dns --tail=-1 --prefix | grep "

// runbookGrep reads the grep of a runbook command: its pattern, and whether it is extended (-E).
var runbookGrep = regexp.MustCompile(regexp.QuoteMeta(runbookCommand) + `(-E )?'([^']+)'`)

// alertRunbooks returns each alert's grep pattern, as its description in flatten.rules.yaml gives
// it (folded to one line), and fails for a description that sends to the log another way.
func alertRunbooks(t *testing.T) map[string][2]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, "flatten.rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file ruleFile
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			d := r.Annotations["description"]
			if !strings.Contains(d, " logs ") {
				continue
			}
			m := runbookGrep.FindStringSubmatch(d)
			if m == nil {
				t.Errorf("%s sends to the log without %q + a quoted pattern: %s", r.Alert, runbookCommand, d)
				continue
			}
			out[r.Alert] = [2]string{m[1], m[2]}
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d alerts send to the log: the test reads the rules wrong", len(out))
	}
	return out
}

// grepMatcher compiles a grep pattern as grep reads it: extended with -E, basic otherwise (where
// | ( ) { } + ? are plain characters).
func grepMatcher(t *testing.T, extended, pattern string) *regexp.Regexp {
	t.Helper()
	if extended == "" {
		pattern = regexp.MustCompile(`[|(){}+?]`).ReplaceAllStringFunc(pattern, func(c string) string { return `\` + c })
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("pattern %q: %v", pattern, err)
	}
	return re
}

// Every alert that sends to the log gives a command that finds its line: each event is driven on
// a real server, the server's log is taken as kubectl prints it (--prefix), and the alert's own
// pattern, from the rules file, must find a line of that event. The README's table shows the same
// patterns.
func TestKitRunbooksFindTheirLines(t *testing.T) {
	runbooks := alertRunbooks(t)
	logs := runbookEvents(t)

	// The rule an alert's labels carry, for the patterns that name it.
	ruleOf := map[string]string{"FlattenTakeoverRisk": rules.RuleTakeover, "FlattenFindingErrors": rules.RuleLoop}
	// The alerts on counters of live answers: their line is the answer's, not the audit's.
	live := map[string]bool{"FlattenCNAMELoop": true, "FlattenChainTooLong": true, "FlattenDanglingAnswers": true}
	for alert, rb := range runbooks {
		pattern := strings.ReplaceAll(rb[1], "{{ $labels.rule }}", ruleOf[alert])
		re := grepMatcher(t, rb[0], pattern)
		found := ""
		for line := range strings.SplitSeq(logs, "\n") {
			if live[alert] && strings.Contains(line, "plugin/flatten: audit") {
				continue
			}
			if re.MatchString(line) {
				found = line
				break
			}
		}
		if found == "" {
			t.Errorf("%s: grep %s'%s' finds no line of its event in the log:\n%s", alert, rb[0], pattern, logs)
		} else {
			t.Logf("%s: grep %s'%s' finds %s", alert, rb[0], pattern, found)
		}
	}

	readme, err := os.ReadFile(filepath.Join(deployDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (Flatten\\w+) \\|.*`logs \\\\\\| grep (-E )?'([^`]+)'`")
	seen := 0
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		seen++
		want, ok := runbooks[m[1]]
		pattern := strings.ReplaceAll(strings.ReplaceAll(m[3], `\|`, "|"), "RULE", "{{ $labels.rule }}")
		if !ok || want[0] != m[2] || want[1] != strings.TrimSuffix(pattern, "'") {
			t.Errorf("README's table greps %s for %s; the rule's description %q", m[2]+m[3], m[1], want)
		}
	}
	if seen != len(runbooks) {
		t.Errorf("README's table gives %d log patterns; %d alerts send to the log", seen, len(runbooks))
	}
}

// runbookEvents drives every event an alert sends to the log for, on two real servers, and returns
// their logs as `kubectl logs --prefix` prints them.
func runbookEvents(t *testing.T) string {
	t.Helper()
	var all strings.Builder
	prefixed := func(pod string, out string) {
		for line := range strings.SplitSeq(out, "\n") {
			if line != "" {
				fmt.Fprintf(&all, "[pod/%s/coredns] %s\n", pod, line)
			}
		}
	}

	// Chains and findings: a loop, a chain too long, a dangling alias, a takeover risk, answered
	// live and found by the audit, with a real server for the names outside the zone.
	oracle := oracleServer(t)
	var zone strings.Builder
	zone.WriteString("$ORIGIN example.org.\n@ 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300\n@ 3600 IN NS ns1.example.net.\n")
	zone.WriteString("loop1 300 IN CNAME loop2\nloop2 300 IN CNAME loop1\ngone 300 IN CNAME gone.example.net.\napp 300 IN CNAME abandoned.azurewebsites.net.\n")
	for i := range 12 {
		fmt.Fprintf(&zone, "c%d 300 IN CNAME c%d\n", i, i+1)
	}
	zone.WriteString("c12 300 IN A 192.0.2.1\n")
	file := filepath.Join(t.TempDir(), "db.example.org")
	writeFile(t, file, zone.String())
	a := start(t, fmt.Sprintf("example.org:{{PORT}} {\n    bind 127.0.0.1\n    flatten {\n        all\n        resolver %s\n    }\n    file %s\n}\n", oracle.addr, file))
	a.waitLog(t, "plugin/flatten: audit of example.org.")
	for _, name := range []string{"loop1", "c0", "gone", "app"} {
		a.query(t, "udp", name+".example.org.", dns.TypeA)
	}
	a.waitLog(t, "takeover-risk app.example.org.: subdomain-takeover risk")

	// Lookups that fail: a target served stale once its resolver fails, a declared alias answered
	// from the zone's own records, a CNAME whose target answers SERVFAIL; the audit, which cannot
	// check the names the resolver does not answer about.
	var failing atomic.Bool
	resolver := loopback.Serve(t, func(r *dns.Msg, _ bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case q.Name == "www.example.net." && !failing.Load():
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.IPv4(192, 0, 2, 10)})
			}
		case q.Name == "." || q.Name == "ns1.example.net.":
		default:
			m.Rcode = dns.RcodeServerFailure
		}
		return m
	})
	file = filepath.Join(t.TempDir(), "db.example.org")
	writeFile(t, file, "$ORIGIN example.org.\n@ 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300\n@ 3600 IN NS ns1.example.net.\n"+
		"fallback 3600 IN A 198.51.100.9\nx 300 IN CNAME bad.example.net.\n")
	b := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        all
        resolver %s
        alias example.org www.example.net
        alias fallback.example.org down.example.net
        ttl 1 2
    }
    file %s
}
`, resolver, file))
	b.waitLog(t, "outside the zones not checked")
	b.query(t, "udp", "example.org.", dns.TypeA) // cached while the resolver answers
	failing.Store(true)
	eventually(t, 10*time.Second, func() error {
		b.query(t, "udp", "example.org.", dns.TypeA)
		if !strings.Contains(b.out.String(), "serving stale data") {
			return fmt.Errorf("no stale answer yet")
		}
		return nil
	})
	b.query(t, "udp", "fallback.example.org.", dns.TypeA)
	b.query(t, "udp", "x.example.org.", dns.TypeA)
	b.waitLog(t, "x.example.org. A: lookup of target bad.example.net. A answered SERVFAIL")
	b.waitLog(t, "answered from the zone's own records")

	prefixed("coredns-7d9f8c6b5-a1b2c", a.out.String())
	prefixed("coredns-7d9f8c6b5-d3e4f", b.out.String())
	return all.String()
}
