package test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dnsflatten/flatten/internal/expected"
)

const lintZones = "../plugin/rules/testdata"

var (
	linterOnce sync.Once
	linter     string
	linterErr  error
)

// cnamelint builds the linter once for the package's tests.
func cnamelint(tb testing.TB) string {
	tb.Helper()
	linterOnce.Do(func() {
		linter = filepath.Join(scratch, "cnamelint")
		out, err := exec.Command("go", "build", "-o", linter, "github.com/dnsflatten/flatten/cmd/cnamelint").CombinedOutput()
		if err != nil {
			linterErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if linterErr != nil {
		tb.Fatal(linterErr)
	}
	return linter
}

// tldZone is the top-level zone example. as its registry would serve it: lapsed.example and
// gone-dns.example are not registered, so that names under them do not exist (NXDOMAIN).
const tldZone = `$ORIGIN example.
$TTL 60
@ IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 300
@ IN NS  ns1.example.net.
`

// oracleServer is a real CoreDNS on loopback serving what the linter's resolver is to find outside
// the zones under test.
func oracleServer(tb testing.TB) *server {
	tb.Helper()
	tld := filepath.Join(tb.TempDir(), "db.example")
	writeFile(tb, tld, tldZone)
	return start(tb, `example.net:{{PORT}} azurewebsites.net:{{PORT}} cloudfront.net:{{PORT}} example.:{{PORT}} {
    bind 127.0.0.1
    file {{DIR}}/db.oracle.example.net example.net
    file {{DIR}}/db.azurewebsites.net azurewebsites.net
    file {{DIR}}/db.cloudfront.net cloudfront.net
    file `+tld+` example.
}
`)
}

type lintFinding struct {
	File, Severity, Rule, Owner, Message, RFC, Fix string
	Line                                           int
}

func lint(tb testing.TB, args ...string) ([]lintFinding, int) {
	tb.Helper()
	cmd := exec.Command(cnamelint(tb), append([]string{"-json"}, args...)...)
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		tb.Fatal(err)
	}
	var fs []lintFinding
	if err := json.Unmarshal(out, &fs); err != nil {
		tb.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return fs, code
}

// Every rule through the linter, with dangling and email checks resolved against a real server on
// loopback; clean zones (DNSSEC-signed CNAMEs, wildcard CNAMEs, CNAMEs to names that exist in other
// zones) give nothing and exit 0.
func TestLinter(t *testing.T) {
	s := oracleServer(t)
	for file, want := range expectedFindings(t, filepath.Join(lintZones, "expected-findings.txt")) {
		t.Run(file, func(t *testing.T) {
			fs, code := lint(t, "-resolver", s.addr, filepath.Join(lintZones, file))
			var got []string
			for _, f := range fs {
				got = append(got, f.Severity+" "+f.Rule+" "+f.Owner)
				if f.File != filepath.Join(lintZones, file) || f.RFC == "" || f.Fix == "" || f.Message == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			if wantCode := map[bool]int{true: 1, false: 0}[len(want) > 0]; code != wantCode {
				t.Errorf("exit code %d, want %d", code, wantCode)
			}
		})
	}
}

// The exit code gates a CI pipeline on a chosen severity; the text output names file, rule and fix.
func TestLinterExitCodesAndText(t *testing.T) {
	dangling := filepath.Join(lintZones, "dangling.example.org")
	if _, code := lint(t, "-fail-on", "error", dangling); code != 0 {
		t.Errorf("only a warning without resolver, -fail-on error: exit %d, want 0", code)
	}
	if _, code := lint(t, "-fail-on", "warning", dangling); code != 1 {
		t.Errorf("-fail-on warning: exit %d, want 1", code)
	}
	out, err := exec.Command(cnamelint(t), filepath.Join(lintZones, "siblings.example.org")).Output()
	if err == nil {
		t.Error("exit 0 with an error finding")
	}
	want := filepath.Join(lintZones, "siblings.example.org") + ":5: error cname-and-other-data www.example.org.: CNAME beside TXT: only DNSSEC records may share a name with a CNAME; resolvers see the CNAME and never the TXT (RFC 1034 3.6.2, RFC 2181 10.1, RFC 4035 2.5); fix: move the TXT records to the target name, or replace the CNAME with addresses\n1 zone(s), 1 finding(s): 1 error\n" +
		"2 outside target(s) not checked: give -resolver to check them\n"
	if string(out) != want {
		t.Errorf("text output\n%s\nwant\n%s", out, want)
	}
	for _, args := range [][]string{{"-fail-on", "fatal", dangling}, {"no-such-file"}, {}} {
		if code := exec.Command(cnamelint(t), args...).Run().(*exec.ExitError).ExitCode(); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

var checkzoneLine = []struct {
	re   *regexp.Regexp
	rule string
}{
	{regexp.MustCompile(`: ([^ :]+): CNAME and other data$`), "cname-and-other-data"},
	{regexp.MustCompile(`: ([^ :]+): multiple RRs of singleton type$`), "multiple-cnames"},
	{regexp.MustCompile(`zone [^ ]+: ([^ /]+)/(MX|NS|SRV) '[^']+' is a CNAME \(illegal\)$`), "target-is-alias"},
	{regexp.MustCompile(`zone [^ ]+: ([^ /]+)/(MX|NS|SRV) '[^']+' is below a DNAME '[^']+' \(illegal\)$`), "target-is-alias"},
	{regexp.MustCompile(`zone [^ ]+: ([^ /]+)/(MX|NS|SRV) '[^']+' has no address records \(A or AAAA\)$`), "target-no-address"},
	{regexp.MustCompile(`zone ([^ /]+)/IN: (?:MX|NS|SRV) '[^']+' has no address records \(A or AAAA\)$`), "target-no-address"}, // at the apex
}

// The linter finds everything named-checkzone (BIND's reference checker) reports about CNAMEs,
// aliases and hosts without addresses in the same files, and more.
func TestLinterCoversNamedCheckzone(t *testing.T) {
	checkzone := lookPath(t, "named-checkzone")
	s := oracleServer(t)
	ours, theirs := 0, 0
	for file := range expectedFindings(t, filepath.Join(lintZones, "expected-findings.txt")) {
		path := filepath.Join(lintZones, file)
		out, _ := exec.Command(checkzone, "example.org", path).CombinedOutput()
		fs, _ := lint(t, "-resolver", s.addr, path)
		ours += len(fs)
		for line := range strings.SplitSeq(string(out), "\n") {
			for _, m := range checkzoneLine {
				sub := m.re.FindStringSubmatch(line)
				if sub == nil {
					continue
				}
				theirs++
				owner := strings.TrimSuffix(sub[1], ".") + "."
				if !slices.ContainsFunc(fs, func(f lintFinding) bool { return f.Rule == m.rule && f.Owner == owner }) {
					t.Errorf("%s: named-checkzone reports %q; cnamelint has no %s at %s", file, line, m.rule, owner)
				}
			}
			if strings.Contains(line, "CNAME") && !slices.ContainsFunc(checkzoneLine, func(m struct {
				re   *regexp.Regexp
				rule string
			}) bool {
				return m.re.MatchString(line)
			}) && !strings.Contains(line, "failed:") {
				t.Errorf("%s: named-checkzone line about CNAMEs this test does not map: %q", file, line)
			}
		}
	}
	if theirs < 5 || ours <= theirs {
		t.Errorf("named-checkzone reported %d CNAME problems, cnamelint %d findings: want cnamelint to find more", theirs, ours)
	}
}

// expectedFindings reads expected-findings.txt (see internal/expected).
func expectedFindings(tb testing.TB, path string) map[string][]string {
	tb.Helper()
	want, err := expected.Findings(path)
	if err != nil {
		tb.Fatal(err)
	}
	return want
}

// bindError is a line of named-checkzone about a record it cannot read, with its line.
var bindError = regexp.MustCompile(`^(?:dns_rdata_fromtext: )?[^ :]+:(\d+): (near (eof|'[^']*'|eol)|unknown RR type)`)

// The linter reads every zone of the corpus that BIND reads, and reports a record that BIND cannot
// read at the line BIND names (BIND names the end of the file for a '(' that never closes, the
// linter the line it opens on), with the rest of the zone checked.
func TestLinterReadsWhatBINDReads(t *testing.T) {
	checkzone := lookPath(t, "named-checkzone")
	corpus := filepath.Join(lintZones, "corpus")
	for file := range expectedFindings(t, filepath.Join(corpus, "expected.txt")) {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(corpus, file)
			cmd := exec.Command(checkzone, "example.org", filepath.Base(path))
			cmd.Dir = filepath.Dir(path) // BIND reads $INCLUDE files from where it runs
			out, _ := cmd.CombinedOutput()
			var theirs []string
			atEOF := 0
			for line := range strings.SplitSeq(string(out), "\n") {
				if m := bindError.FindStringSubmatch(line); m != nil {
					if m[3] == "eof" {
						atEOF++
					} else {
						theirs = append(theirs, m[1])
					}
				}
			}
			fs, _ := lint(t, path+":example.org")
			var ours []string
			for _, f := range fs {
				if f.Rule == "unparsable-record" && f.File == path {
					ours = append(ours, strconv.Itoa(f.Line))
				}
			}
			missing := 0
			for _, line := range theirs {
				if !slices.Contains(ours, line) {
					t.Errorf("named-checkzone cannot read line %s; cnamelint reads it", line)
				}
			}
			for _, line := range ours {
				if !slices.Contains(theirs, line) {
					missing++
				}
			}
			if missing != atEOF {
				t.Errorf("cnamelint cannot read lines %v, named-checkzone %v and %d at the end of the file:\n%s", ours, theirs, atEOF, out)
			}
		})
	}
}
