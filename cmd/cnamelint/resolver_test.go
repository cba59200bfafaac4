package main

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/dnsflatten/flatten/internal/loopback"

	"github.com/miekg/dns"
)

// A resolver that answers nothing is said at once, before any zone is read, and never gives a
// clean result: the zones are checked, every name that needed it is named as not checked, and the
// run exits 2, -incomplete-ok or not. Only the two probe questions are asked: no name waits for
// its own timeout.
func TestResolverThatAnswersNothing(t *testing.T) {
	t.Parallel()
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	refused := fmt.Sprintf("127.0.0.1:%d", port) // nothing listens: connection refused

	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // reads every question, answers none
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var (
		mu    sync.Mutex
		asked int
	)
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			mu.Lock()
			asked++
			mu.Unlock()
		}
	}()
	drops := pc.LocalAddr().String()

	zone := testdata + "dangling.example.org"
	for _, tc := range []struct{ addr, err string }{
		{refused, "read: connection refused"},
		{drops, "i/o timeout"},
	} {
		stdout, stderr, code := runLint("-resolver", tc.addr, "-incomplete-ok", zone)
		wantErr := "cnamelint: resolver " + tc.addr + " does not answer (asked for the root's NS twice: read udp "
		if code != 2 || !strings.HasPrefix(stderr, wantErr) || !strings.HasSuffix(stderr, tc.err+"): check the address, or leave -resolver out to check offline\n") {
			t.Errorf("%s: exit %d, stderr %q", tc.addr, code, stderr)
		}
		for _, line := range []string{
			zone + ":6: warning not-checked app.example.org.: abandoned.azurewebsites.net. A not checked: the resolver gave no answer (read udp ",
			zone + ":7: warning not-checked cdn.example.org.: gone.cloudfront.net. A not checked: the resolver gave no answer (read udp ",
			zone + ":8: warning not-checked fine.example.org.: www.example.net. A not checked: the resolver gave no answer (read udp ",
			zone + ":5: warning dangling-cname gone.example.org.: ",
			"\n1 zone(s), 1 finding(s): 1 warning\n4 name(s) not checked: resolver " + tc.addr + ": read udp ",
		} {
			if !strings.Contains(stdout, line) {
				t.Errorf("%s: no %q in\n%s", tc.addr, line, stdout)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if asked != 2 {
		t.Errorf("the silent resolver was asked %d questions; want the probe's 2", asked)
	}
}

// Names the resolver does not answer about (SERVFAIL, or no reply, after one retry) are named and
// make the check incomplete: exit 3, unless a finding comes first (1) or -incomplete-ok makes it
// acceptable (0); in JSON as not-checked entries with their file and line.
func TestNamesWithoutAnswer(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		asked = map[string]int{}
	)
	addr := testServer(t, func(r *dns.Msg, _ bool) *dns.Msg {
		q := r.Question[0]
		mu.Lock()
		asked[q.Name+" "+dns.TypeToString[q.Qtype]]++
		mu.Unlock()
		m := new(dns.Msg)
		m.SetReply(r)
		switch q.Name {
		case "abandoned.azurewebsites.net.":
			m.Rcode = dns.RcodeServerFailure
		case "gone.cloudfront.net.":
			return nil // dropped
		case "www.example.net.", "ns1.example.net.":
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)})
			}
		}
		return m
	})
	zone := testdata + "dangling.example.org"
	stdout, stderr, code := runLint("-resolver", addr, "-fail-on", "error", zone)
	want := zone + ":5: warning dangling-cname gone.example.org.: dangling CNAME: nothing.example.org. does not exist (NXDOMAIN): gone.example.org. -> nothing.example.org. (RFC 1034 3.6.2); fix: remove the CNAME, or create nothing.example.org.\n" +
		zone + ":6: warning not-checked app.example.org.: abandoned.azurewebsites.net. A not checked: the resolver gave no answer (answered SERVFAIL)\n" +
		zone + ":7: warning not-checked cdn.example.org.: gone.cloudfront.net. A not checked: the resolver gave no answer (read udp "
	if code != 3 || stderr != "" || !strings.HasPrefix(stdout, want) ||
		!strings.Contains(stdout, "i/o timeout)\n1 zone(s), 1 finding(s): 1 warning\n2 name(s) not checked: resolver "+addr+": answered SERVFAIL (and 1 other error(s))\n") {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
	mu.Lock()
	if asked["abandoned.azurewebsites.net. A"] != 2 || asked["www.example.net. A"] != 1 {
		t.Errorf("questions %v: want a failed one asked again, once", asked)
	}
	mu.Unlock()

	if _, _, code := runLint("-resolver", addr, zone); code != 1 {
		t.Errorf("a warning at -fail-on warning, and names not checked: exit %d, want 1", code)
	}
	stdout, _, code = runLint("-resolver", addr, "-fail-on", "error", "-incomplete-ok", zone)
	if code != 0 || !strings.Contains(stdout, "2 name(s) not checked") {
		t.Errorf("-incomplete-ok: exit %d, stdout:\n%s", code, stdout)
	}
}
