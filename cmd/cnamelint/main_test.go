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
	"strings"
	"sync"
	"testing"

	"github.com/dnsflatten/flatten/internal/loopback"
	"github.com/dnsflatten/flatten/plugin/probe"

	"github.com/miekg/dns"
)

const testdata = "../../plugin/rules/testdata/"

func runLint(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	noOrigin := filepath.Join(dir, "zone.txt")
	if err := os.WriteFile(noOrigin, []byte("$TTL 60\n@ SOA ns1 h 1 2 3 4 5\nwww CNAME ns1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	siblings := testdata + "siblings.example.org"
	for _, tc := range []struct {
		name           string
		args           []string
		stdout, stderr string
		code           int
	}{{
		name: "text, and what was not checked without a resolver",
		args: []string{siblings},
		stdout: siblings + ": error cname-and-other-data www.example.org.: CNAME beside TXT: only DNSSEC records may share a name with a CNAME; resolvers see the CNAME and never the TXT (RFC 1034 3.6.2, RFC 2181 10.1, RFC 4035 2.5); fix: move the TXT records to the target name, or replace the CNAME with addresses\n" +
			"1 zone(s), 1 finding(s): 1 error\n2 outside target(s) not checked: give -resolver to check them\n",
		code: 1,
	}, {
		name:   "an origin given, and a resolver wanted for the NS and DKIM targets",
		args:   []string{"-fail-on", "info", testdata + "corpus/include/db.example.org:example.org"},
		stdout: testdata + "corpus/include/db.example.org: warning dangling-cname app.example.org.: dangling CNAME: api.example.org. does not exist (NXDOMAIN): app.example.org. -> api.example.org. (RFC 1034 3.6.2); fix: remove the CNAME, or create api.example.org.\n1 zone(s), 1 finding(s): 1 warning\n3 outside target(s) not checked: give -resolver to check them\n",
		code:   1,
	}, {
		name:   "below -fail-on",
		args:   []string{"-fail-on", "error", testdata + "loop.example.org"},
		stdout: "", // checked below
		code:   1,
	}, {
		name: "targets allowed",
		args: []string{"-targets", "example.net,azurewebsites.net.", testdata + "dangling.example.org"},
		stdout: testdata + "dangling.example.org: error target-not-allowed cdn.example.org.: CNAME chain leaves the targets allowed at gone.cloudfront.net., which is under none of the zones checked nor the targets allowed (azurewebsites.net., example.net.): cdn.example.org. -> gone.cloudfront.net. (local policy: the targets option, cnamelint -targets); fix: point cdn.example.org. at a name under a zone allowed, or allow the zone of gone.cloudfront.net.\n" +
			testdata + "dangling.example.org: warning dangling-cname gone.example.org.: dangling CNAME: nothing.example.org. does not exist (NXDOMAIN): gone.example.org. -> nothing.example.org. (RFC 1034 3.6.2); fix: remove the CNAME, or create nothing.example.org.\n" +
			"1 zone(s), 2 finding(s): 1 error, 1 warning\n3 outside target(s) not checked: give -resolver to check them\n",
		code: 1,
	}, {
		name:   "unknown severity",
		args:   []string{"-fail-on", "fatal", siblings},
		stderr: "cnamelint: unknown severity \"fatal\": use one of info, warning, error, critical\n",
		code:   2,
	}, {
		name:   "no such file",
		args:   []string{filepath.Join(dir, "missing")},
		stderr: "cnamelint: open " + filepath.Join(dir, "missing") + ": no such file or directory\n",
		code:   2,
	}, {
		name:   "no origin to be had",
		args:   []string{noOrigin},
		stderr: "cnamelint: " + noOrigin + ": no $ORIGIN before the first relative name and no zone name in the file name: name it as FILE:ORIGIN, e.g. " + noOrigin + ":example.org\n",
		code:   2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runLint(tc.args...)
			if code != tc.code || tc.stdout != "" && stdout != tc.stdout || stderr != tc.stderr {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
	for _, args := range [][]string{{}, {"-max-chain", "0", siblings}, {"-parallel", "0", siblings}, {"-no-such-flag", siblings}, {"-targets", "a..b", siblings}} {
		if _, stderr, code := runLint(args...); code != 2 || !strings.Contains(stderr, usage) {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if _, _, code := runLint("-fail-on", "critical", testdata+"loop.example.org"); code != 0 {
		t.Errorf("only errors and warnings, -fail-on critical: exit %d", code)
	}
}

// -json prints an array of findings with their file; the note on what was not checked goes to
// standard error, so that standard output stays JSON.
func TestRunJSON(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runLint("-json", testdata+"corpus/broken.zone")
	var fs []fileFinding
	if err := json.Unmarshal([]byte(stdout), &fs); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if code != 1 || len(fs) != 5 || fs[0].File != testdata+"corpus/broken.zone" || fs[0].Rule != "unparsable-record" ||
		fs[0].Message != testdata+"corpus/broken.zone:6: bad A A: \"192.0.2.300\"; the record is left out of the checks" {
		t.Errorf("exit %d, findings %+v", code, fs)
	}
	if stderr != "cnamelint: 1 outside target(s) not checked: give -resolver to check them\n" {
		t.Errorf("stderr %q", stderr)
	}
	if stdout, _, _ := runLint("-json", "-fail-on", "critical", testdata+"clean-wildcard.example.org"); stdout != "[]\n" {
		t.Errorf("no findings: %q", stdout)
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
