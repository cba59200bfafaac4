package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/internal/loopback"

	"github.com/miekg/dns"
)

// Operator safety: a target allowlist, zone transfers with aliases expanded, and the count of names
// per outside target.

// A chain that leaves the zones targets allows is not followed: SERVFAIL with extended error 18
// naming the name that left, a log line and a count, and no question for that name reaches any
// upstream (PowerDNS logs every question it gets), not even from a backend's own chase.
func TestTargetsAllowlist(t *testing.T) {
	good := startPDNS(t, map[string]string{"example.net.": soaNS("example.net.") + `
www 300 IN A 192.0.2.10
hop 300 IN CNAME evil.example.com.
`})
	evil := startPDNS(t, map[string]string{"example.com.": soaNS("example.com.") + "evil 300 IN A 203.0.113.66\n"})
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+`
good    300 IN CNAME www.example.net.
bad     300 IN CNAME evil.example.com.
viagood 300 IN CNAME hop.example.net.
`)
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    flatten {
        all
        targets example.net
    }
    file %s/db.example.org
}
example.net:{{PORT}} {
    bind 127.0.0.1
    forward . %s
}
example.com:{{PORT}} {
    bind 127.0.0.1
    forward . %s
}
`, metrics, dir, good.addr, evil.addr))
	for _, network := range []string{"udp", "tcp"} {
		check(t, s.query(t, network, "good.example.org.", dns.TypeA), test.Case{Qname: "good.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("good.example.org. 300 IN A 192.0.2.10")}}, "")
		check(t, s.query(t, network, "bad.example.org.", dns.TypeA), test.Case{Qname: "bad.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			"18: target evil.example.com. is outside the zones allowed (targets): not followed: bad.example.org. -> evil.example.com.")
		check(t, s.query(t, network, "viagood.example.org.", dns.TypeA), test.Case{Qname: "viagood.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			"18: target evil.example.com. is outside the zones allowed (targets): not followed: viagood.example.org. -> hop.example.net. -> evil.example.com.")
	}
	// The live finding and the audit's are worded alike: the targets allowed are the option's.
	const refused = "error target-not-allowed bad.example.org.: CNAME chain leaves the targets allowed at evil.example.com., which is under none of the zones checked nor the targets allowed (example.net.): bad.example.org. -> evil.example.com."
	s.waitLog(t, "[WARNING] plugin/flatten: "+refused)
	s.waitLog(t, "[WARNING] plugin/flatten: audit: "+refused)
	if got := metric(t, metrics, "coredns_flatten_prohibited_total"); got != 4 {
		t.Errorf("prohibited_total = %v, want 4", got)
	}
	if n := strings.Count(s.out.String(), "error target-not-allowed bad.example.org.: CNAME chain leaves"); n != 2 {
		t.Errorf("the refused chain was logged %d times (the audit's and the first answer's), want 2: once a minute", n)
	}
	if !good.asked("hop.example.net") {
		t.Error("the allowed hop was never looked up")
	}
	if evil.asked("evil.example.com") {
		t.Errorf("a question for the refused name reached an upstream:\n%s", evil.out)
	}
}

// With expand_transfer, a real secondary (NSD) transfers a zone whose apex is a CNAME from the
// custom CoreDNS, loads it, and answers the apex's addresses; the transfer sends the SOA first and
// last with its serial, every flattened name as its addresses, and a dangling one without them.
func TestExpandTransfer(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", `$ORIGIN example.org.
@       3600 IN SOA ns1.example.org. hostmaster.example.org. 7 7200 3600 1209600 60
@       3600 IN NS  ns1.example.org.
ns1     3600 IN A   192.0.2.53
@        300 IN CNAME www.example.net.
@       3600 IN MX  10 mx.example.net.
www      300 IN CNAME www.example.net.
dangling 300 IN CNAME gone.example.net.
`)
	writeFile(t, dir+"/db.example.net", soaNS("example.net.")+"www 120 IN A 192.0.2.10\nwww 120 IN AAAA 2001:db8::10\n")
	s := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        all
        expand_transfer
    }
    file %[1]s/db.example.org
    transfer {
        to *
    }
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file %[1]s/db.example.net
}
`, dir))

	// The transfer as dig gets it.
	m := new(dns.Msg)
	m.SetAxfr("example.org.")
	got := transferred(t, m, s.addr)
	want := []string{
		"example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 7 7200 3600 1209600 60",
		"example.org. 3600 IN NS ns1.example.org.",
		"example.org. 3600 IN MX 10 mx.example.net.",
		"example.org. 120 IN A 192.0.2.10",
		"example.org. 120 IN AAAA 2001:db8::10",
		"ns1.example.org. 3600 IN A 192.0.2.53",
		"www.example.org. 120 IN A 192.0.2.10",
		"www.example.org. 120 IN AAAA 2001:db8::10",
		"example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 7 7200 3600 1209600 60",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("AXFR:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// IXFR from an older serial: the whole zone, expanded the same way (an AXFR-style IXFR reply,
	// RFC 1995 section 4), never the zone's own records with the CNAMEs.
	ixfr := new(dns.Msg)
	ixfr.SetIxfr("example.org.", 6, "ns1.example.org.", "hostmaster.example.org.")
	got = transferred(t, ixfr, s.addr)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("IXFR from serial 6:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// IXFR from the current serial: the SOA alone, as the transfer plugin answers it without
	// expand_transfer (RFC 1995 section 2: the secondary is up to date).
	ixfr.SetIxfr("example.org.", 7, "ns1.example.org.", "hostmaster.example.org.")
	got = transferred(t, ixfr, s.addr)
	if strings.Join(got, "\n") != want[0] {
		t.Errorf("IXFR from the current serial 7:\n%s\nwant the SOA alone", strings.Join(got, "\n"))
	}
	s.waitLog(t, "[WARNING] plugin/flatten: transfer of example.org.: dangling.example.org.: target gone.example.net. does not resolve to addresses: sent without them")

	// A real secondary loads it and answers.
	nsdDir := t.TempDir()
	port := freePort(t)
	conf := loopback.NSDConfig(nsdDir, port, []loopback.NSDZone{{Name: "example.org", File: "example.org.zone", Primary: strings.Replace(s.addr, ":", "@", 1)}})
	writeFile(t, filepath.Join(nsdDir, "nsd.conf"), conf)
	nsd := runServer(t, "", port, lookPath(t, "nsd"), "-d", "-c", filepath.Join(nsdDir, "nsd.conf"))
	eventually(t, 20*time.Second, func() error {
		q := new(dns.Msg)
		q.SetQuestion("example.org.", dns.TypeSOA)
		if m, _, err := (&dns.Client{Timeout: time.Second}).Exchange(q, nsd.addr); err != nil || len(m.Answer) == 0 {
			b, _ := os.ReadFile(filepath.Join(nsdDir, "nsd.log"))
			return fmt.Errorf("the secondary has not loaded the zone: %v %v\n%s", m, err, b)
		}
		return nil
	})
	check(t, nsd.query(t, "udp", "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA,
		Answer: []dns.RR{test.A("example.org. 120 IN A 192.0.2.10")}, Ns: []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.org.")},
		Extra: []dns.RR{test.A("ns1.example.org. 3600 IN A 192.0.2.53")}}, "")
	check(t, nsd.query(t, "udp", "www.example.org.", dns.TypeAAAA), test.Case{Qname: "www.example.org.", Qtype: dns.TypeAAAA,
		Answer: []dns.RR{test.AAAA("www.example.org. 120 IN AAAA 2001:db8::10")}, Ns: []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.org.")},
		Extra: []dns.RR{test.A("ns1.example.org. 3600 IN A 192.0.2.53")}}, "")
}

// The audit counts the names in the zones that reach each name outside them, for an alert before
// a target is removed.
func TestTargetReferences(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+`
a     300 IN CNAME shop.example.com.
b     300 IN CNAME a
@    3600 IN MX 10 mail.example.com.
`)
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    flatten {
        alias declared.example.org shop.example.com
    }
    file %s/db.example.org
}
`, metrics, dir))
	eventually(t, 10*time.Second, func() error {
		for target, want := range map[string]float64{"shop.example.com.": 3, "mail.example.com.": 1} {
			if got := metric(t, metrics, "coredns_flatten_target_references", `target="`+target+`"`); got != want {
				return fmt.Errorf("target_references{target=%q} = %v, want %v", target, got, want)
			}
		}
		return nil
	})
}

// transferred runs the zone transfer m asks for at addr and returns its records, each as text
// with single spaces.
func transferred(t *testing.T, m *dns.Msg, addr string) []string {
	t.Helper()
	env, err := new(dns.Transfer).In(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for e := range env {
		if e.Error != nil {
			t.Fatal(e.Error)
		}
		for _, rr := range e.RR {
			got = append(got, strings.Join(strings.Fields(rr.String()), " "))
		}
	}
	return got
}
