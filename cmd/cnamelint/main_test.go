package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dnsflatten/flatten/internal/loopback"
	"github.com/dnsflatten/flatten/plugin/probe"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

const testdata = "../../plugin/rules/testdata/"

func runLint(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// writeZone writes a zone file for a test.
func writeZone(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	noOrigin := filepath.Join(dir, "zone.txt")
	writeZone(t, noOrigin, "$TTL 60\n@ SOA ns1 h 1 2 3 4 5\nwww CNAME ns1\n")
	siblings := testdata + "siblings.example.org"
	for _, tc := range []struct {
		name           string
		args           []string
		stdout, stderr string
		code           int
	}{{
		name: "text: FILE:LINE, and what was not checked without a resolver",
		args: []string{siblings},
		stdout: siblings + ":5: error cname-and-other-data www.example.org.: CNAME beside TXT: only DNSSEC records may share a name with a CNAME; resolvers see the CNAME and never the TXT (RFC 1034 3.6.2, RFC 2181 10.1, RFC 4035 2.5); fix: move the TXT records to the target name, or replace the CNAME with addresses\n" +
			"1 zone(s), 1 finding(s): 1 error\n2 outside target(s) not checked: give -resolver to check them\n",
		code: 1,
	}, {
		name:   "an origin given, and a resolver wanted for the NS and DKIM targets",
		args:   []string{"-fail-on", "info", testdata + "corpus/include/db.example.org:example.org"},
		stdout: testdata + "corpus/include/db.example.org:8: warning dangling-cname app.example.org.: dangling CNAME: api.example.org. does not exist (NXDOMAIN): app.example.org. -> api.example.org. (RFC 1034 3.6.2); fix: remove the CNAME, or create api.example.org.\n1 zone(s), 1 finding(s): 1 warning\n3 outside target(s) not checked: give -resolver to check them\n",
		code:   1,
	}, {
		name: "targets allowed",
		args: []string{"-targets", "example.net,azurewebsites.net.", testdata + "dangling.example.org"},
		stdout: testdata + "dangling.example.org:7: error target-not-allowed cdn.example.org.: CNAME chain leaves the targets allowed at gone.cloudfront.net., which is under none of the zones checked nor the targets allowed (azurewebsites.net., example.net.): cdn.example.org. -> gone.cloudfront.net. (local policy: the targets option, cnamelint -targets); fix: point cdn.example.org. at a name under a zone allowed, or allow the zone of gone.cloudfront.net.\n" +
			testdata + "dangling.example.org:5: warning dangling-cname gone.example.org.: dangling CNAME: nothing.example.org. does not exist (NXDOMAIN): gone.example.org. -> nothing.example.org. (RFC 1034 3.6.2); fix: remove the CNAME, or create nothing.example.org.\n" +
			"1 zone(s), 2 finding(s): 1 error, 1 warning\n3 outside target(s) not checked: give -resolver to check them\n",
		code: 1,
	}, {
		name:   "no origin to be had",
		args:   []string{noOrigin},
		stdout: "0 zone(s), 0 finding(s): none\n1 input(s) not read: see the errors on standard error\n",
		stderr: "cnamelint: " + noOrigin + ": no $ORIGIN before the first relative name and no zone name in the file name: name it as FILE:ORIGIN, e.g. " + noOrigin + ":example.org\n",
		code:   2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runLint(tc.args...)
			if code != tc.code || stdout != tc.stdout || stderr != tc.stderr {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
	if _, _, code := runLint("-fail-on", "critical", testdata+"loop.example.org"); code != 0 {
		t.Errorf("only errors and warnings, -fail-on critical: exit %d", code)
	}
	if _, _, code := runLint("-fail-on", "error", testdata+"loop.example.org"); code != 1 {
		t.Errorf("a loop, -fail-on error: exit %d", code)
	}
}

// A bad flag value is named, with what the flag accepts, in the format asked for; -h is not an
// error.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	t.Parallel()
	zone := testdata + "siblings.example.org"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-max-chain", "0", zone}, "-max-chain 0: give the CNAME hops allowed on a chain, from 1 to 32"},
		{[]string{"-max-chain", "abc", zone}, `invalid value "abc" for flag -max-chain: parse error`},
		{[]string{"-parallel", "0", zone}, "-parallel 0: give the questions to ask at a time, from 1 to 1000"},
		{[]string{"-probe-ns", zone}, "-probe-ns needs -resolver: the name servers' addresses come from it"},
		{[]string{"-incomplete-ok", zone}, "-incomplete-ok needs -resolver"},
		{[]string{"-fail-on", "fatal", zone}, `-fail-on: unknown severity "fatal": use one of info, warning, error, critical`},
		{[]string{"-format", "xml", zone}, `-format "xml": use text, json or sarif`},
		{[]string{"-json", "-format", "sarif", zone}, "-json conflicts with -format sarif"},
		{[]string{"-resolver", "127.0.0.1:99999", zone}, `-resolver: "127.0.0.1:99999": the port must be a number from 1 to 65535`},
		{[]string{"-targets", "a..b", zone}, `invalid value "a..b" for flag -targets: "a..b" is not a zone name`},
		{[]string{"-tsig", "k:hmac-sha256:c2VjcmV0", zone}, "-tsig needs -axfr"},
		{[]string{"-axfr", "127.0.0.1", "-tsig", "k:md5:c2VjcmV0", "example.org"}, `-tsig: algorithm "md5": use hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512`},
		{[]string{"-axfr", "127.0.0.1"}, "-axfr needs the zones to transfer"},
		{[]string{"-axfr", "127.0.0.1", zone}, "is not a zone name: give the zones to transfer, not files"},
		{[]string{"-no-such-flag", zone}, "flag provided but not defined: -no-such-flag"},
		{[]string{}, "no zone to check: give zone files (FILE or FILE:ORIGIN), -corefile COREFILE, or -axfr SERVER and the zones"},
	} {
		stdout, stderr, code := runLint(tc.args...)
		sarif := slices.Contains(tc.args, "sarif")
		if code != 2 || !strings.HasPrefix(stderr, "cnamelint: ") || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, usage) || stdout != "" && !sarif {
			t.Errorf("%v: exit %d, stdout %q, stderr\n%s\nwant exit 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
		if sarif {
			continue
		}
		stdout, _, code = runLint(append([]string{"-json"}, tc.args...)...)
		var fs []rules.Finding
		if err := json.Unmarshal([]byte(stdout), &fs); err != nil || code != 2 || len(fs) != 1 || fs[0].Rule != "input-error" || !strings.Contains(fs[0].Message, tc.want) {
			t.Errorf("-json %v: exit %d, %v, stdout\n%s", tc.args, code, err, stdout)
		}
	}
	stdout, _, code := runLint("-h")
	if code != 0 || !strings.HasPrefix(stdout, usage) || !strings.Contains(stdout, "-incomplete-ok") {
		t.Errorf("-h: exit %d\n%s", code, stdout)
	}
}

// -json prints an array of findings, each with its file and line; the note on what was not checked
// goes to standard error, so that standard output stays JSON.
func TestRunJSON(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runLint("-json", testdata+"corpus/broken.zone")
	var fs []rules.Finding
	if err := json.Unmarshal([]byte(stdout), &fs); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if code != 1 || len(fs) != 5 || fs[0].File != testdata+"corpus/broken.zone" || fs[0].Line != 6 || fs[0].Rule != "unparsable-record" ||
		fs[0].Message != "bad A A: \"192.0.2.300\"; the record is left out of the checks" {
		t.Errorf("exit %d, findings %+v", code, fs)
	}
	if stderr != "cnamelint: 1 outside target(s) not checked: give -resolver to check them\n" {
		t.Errorf("stderr %q", stderr)
	}
	if stdout, _, _ := runLint("-json", "-fail-on", "critical", testdata+"clean-wildcard.example.org"); stdout != "[]\n" {
		t.Errorf("no findings: %q", stdout)
	}
}

// One bad input is reported, and the others are still checked: a missing file, a directory, an
// empty file (said to be empty), a file that is not text (said once); exit 2 in every format, and
// -json is JSON all the same.
func TestBadInputsLeaveTheOthersChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty, binary, missing := filepath.Join(dir, "db.empty.example"), filepath.Join(dir, "db.binary.example"), filepath.Join(dir, "db.missing.example")
	writeZone(t, empty, "")
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	writeZone(t, binary, string(bin))
	loop := testdata + "loop.example.org"
	stdout, stderr, code := runLint(missing, empty, loop, binary, dir)
	wantErr := "cnamelint: open " + missing + ": no such file or directory\n" +
		"cnamelint: " + empty + ": empty: it holds no records\n" +
		"cnamelint: " + binary + ": not a zone file: it holds binary data (byte 0 is a control character no zone file has)\n" +
		"cnamelint: read " + dir + ": is a directory\n"
	if code != 2 || stderr != wantErr || !strings.Contains(stdout, loop+":5: error cname-loop loop1.example.org.") ||
		!strings.HasSuffix(stdout, "1 zone(s), 2 finding(s): 1 error, 1 warning\n1 outside target(s) not checked: give -resolver to check them\n4 input(s) not read: see the errors on standard error\n") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	stdout, _, code = runLint("-json", missing, loop)
	var fs []rules.Finding
	if err := json.Unmarshal([]byte(stdout), &fs); err != nil || code != 2 {
		t.Fatalf("exit %d, not JSON: %v\n%s", code, err, stdout)
	}
	last := fs[len(fs)-1]
	if len(fs) != 3 || fs[1].Rule != "cname-loop" || last.Rule != "input-error" || last.File != missing || last.Severity != rules.Error ||
		last.Message != "open "+missing+": no such file or directory" {
		t.Errorf("findings %+v", fs)
	}
}

// Files with one origin are each their own zone: neither sees the other's records, each finding
// names the file it is in, and a note says they were checked apart.
func TestSameOriginCheckedApart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b, net := filepath.Join(dir, "a.zone"), filepath.Join(dir, "b.zone"), filepath.Join(dir, "db.example.net")
	const head = "$ORIGIN example.org.\n$TTL 60\n@ SOA ns1.example.net. h 1 2 3 4 5\n@ NS ns1.example.net.\n"
	writeZone(t, a, head+"www CNAME a.example.net.\nonly-a CNAME nowhere\n")
	writeZone(t, b, head+"www CNAME b.example.net.\nloop CNAME loop\n")
	// example.net, given once, is checked with each: its chain into example.org is found
	// dangling once, in the zone first given.
	writeZone(t, net, "$ORIGIN example.net.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\na A 192.0.2.2\nb A 192.0.2.3\nback CNAME only-b.example.org.\n")
	stdout, stderr, code := runLint(a, b, net)
	want := net + ":8: warning dangling-cname back.example.net.: dangling CNAME: only-b.example.org. does not exist (NXDOMAIN): back.example.net. -> only-b.example.org. (RFC 1034 3.6.2); fix: remove the CNAME, or create only-b.example.org.\n" +
		b + ":6: error cname-loop loop.example.org.: CNAME loop: loop.example.org. -> loop.example.org. (RFC 1034 3.6.2); fix: point one CNAME of the loop at a name that holds addresses\n" +
		a + ":6: warning dangling-cname only-a.example.org.: dangling CNAME: nowhere.example.org. does not exist (NXDOMAIN): only-a.example.org. -> nowhere.example.org. (RFC 1034 3.6.2); fix: remove the CNAME, or create nowhere.example.org.\n" +
		"3 zone(s), 3 finding(s): 1 error, 2 warning\n" +
		a + " and " + b + " hold the same zone, example.org.: each was checked on its own\n"
	if code != 1 || stdout != want || stderr != "" {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
}

// The zones of this repository lint clean, but for the apex CNAME db.example.org is there to show,
// and their HTTPS records with quoted SvcParam values are read (RFC 9460 2.1).
func TestRepositoryZones(t *testing.T) {
	t.Parallel()
	zones, err := filepath.Glob("../../zones/*")
	if err != nil || len(zones) < 4 {
		t.Fatal(zones, err)
	}
	stdout, stderr, code := runLint(zones...)
	if code != 1 || stderr != "" || !strings.HasPrefix(stdout, "../../zones/db.example.org:7: error cname-at-apex example.org.: ") ||
		!strings.Contains(stdout, "\n4 zone(s), 1 finding(s): 1 error\n") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// Every finding's FILE:LINE is the line of its record: what vim +LINE FILE opens shows the record.
func TestTextFindingsOpenAtTheirLine(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(testdata + "*.example.org")
	if err != nil {
		t.Fatal(err)
	}
	stdout, _, _ := runLint(append([]string{"-fail-on", "info"}, files...)...)
	lines := 0
	for line := range strings.SplitSeq(stdout, "\n") {
		file, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(file, testdata) || strings.Contains(line, " hold the same zone, ") {
			continue
		}
		num, rest, _ := strings.Cut(rest, ":")
		n, err := strconv.Atoi(num)
		if err != nil {
			t.Errorf("no line number: %s", line)
			continue
		}
		owner := strings.TrimSuffix(strings.Fields(rest)[2], ":")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Split(string(b), "\n")
		// The line starts with the owner's first label, or with @ for the apex.
		label := strings.TrimSuffix(owner, ".example.org.")
		if owner == "example.org." {
			label = "@"
		}
		if n < 1 || n > len(text) || !strings.HasPrefix(strings.ToLower(text[n-1]), strings.ToLower(label)+" ") {
			t.Errorf("%s: line %d is %q", line, n, text[min(max(n, 1), len(text))-1])
		}
		lines++
	}
	if lines < 20 {
		t.Errorf("%d findings with a line:\n%s", lines, stdout)
	}
}

// testServer answers on loopback, over UDP and TCP, with answer's reply.
func testServer(t *testing.T, answer func(r *dns.Msg, tcp bool) *dns.Msg) string {
	t.Helper()
	return loopback.Serve(t, answer)
}

func TestResolver(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex // the server answers on its own goroutines
		sawEDNS []uint16
	)
	addr := testServer(t, func(r *dns.Msg, tcp bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		if o := r.IsEdns0(); o != nil && !tcp {
			mu.Lock()
			sawEDNS = append(sawEDNS, o.UDPSize())
			mu.Unlock()
		}
		switch r.Question[0].Name {
		case "big.example.":
			if !tcp {
				m.Truncated = true
				return m
			}
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "big.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.1")})
		case "wrong.example.":
			m.Question[0].Name = "other.example."
		case "gone.example.", "abandoned.azurewebsites.net.", "gone.cloudfront.net.":
			m.Rcode = dns.RcodeNameError
		}
		return m
	})
	r := newResolver(addr)
	if m, err := r.Lookup(context.Background(), "big.example", dns.TypeA); err != nil || len(m.Answer) != 1 {
		t.Errorf("truncated over UDP, then TCP: %v %v", m, err)
	}
	if _, err := r.Lookup(context.Background(), "wrong.example.", dns.TypeA); !errors.Is(err, probe.ErrMismatch) {
		t.Errorf("a reply to another question: %v", err)
	}
	if m, err := r.Lookup(context.Background(), "gone.example.", dns.TypeA); err != nil || m.Rcode != dns.RcodeNameError {
		t.Errorf("NXDOMAIN: %v %v", m, err)
	}
	mu.Lock()
	if len(sawEDNS) == 0 || sawEDNS[0] != 1232 {
		t.Errorf("EDNS buffer sizes %v, want 1232", sawEDNS)
	}
	mu.Unlock()
	if r.udp.Timeout.Seconds() != 2 || r.tcp.Timeout.Seconds() != 2 {
		t.Errorf("timeouts %v %v", r.udp.Timeout, r.tcp.Timeout)
	}

	// Through the linter: the targets are resolved, NXDOMAIN makes them dangling, and nothing is
	// left unchecked.
	stdout, _, code := runLint("-resolver", addr, testdata+"dangling.example.org")
	if code != 1 || strings.Contains(stdout, "not checked") || strings.Count(stdout, "warning dangling-cname") != 2 || !strings.Contains(stdout, "critical takeover-risk app.example.org.") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// The linter stands alone: no CoreDNS server, no Caddy, no plugin, no metrics.
func TestStandalone(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal("go list (the go command runs this test, so it is there):", err)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		for _, banned := range []string{"github.com/coredns/caddy", "github.com/coredns/coredns/core/dnsserver", "github.com/prometheus/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("cnamelint depends on %s", dep)
			}
		}
		if dep == "github.com/dnsflatten/flatten" {
			t.Error("cnamelint depends on the plugin's package")
		}
	}
}
