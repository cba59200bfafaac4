package test

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// twoZones serves example.org (with flatten configured by the block) and example.net.
const twoZones = `example.org:{{PORT}} {
    bind 127.0.0.1
    %s
    file {{DIR}}/db.example.org
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file {{DIR}}/db.example.net
}
`

// twoZoneServer starts twoZones in the test's process; twoZoneProcess as a process, for tests
// that read its log.
func twoZoneServer(tb testing.TB, flatten string) *server {
	tb.Helper()
	return startHere(tb, fmt.Sprintf(twoZones, flatten))
}

func twoZoneProcess(tb testing.TB, flatten string) *server {
	tb.Helper()
	return start(tb, fmt.Sprintf(twoZones, flatten))
}

var (
	soaOrg = func(ttl int) dns.RR {
		return test.SOA(fmt.Sprintf("example.org. %d IN SOA ns1.example.net. hostmaster.example.org. 2026112601 7200 3600 1209600 300", ttl))
	}
	wwwA = func(owner string, ttl int) []dns.RR {
		return []dns.RR{
			test.A(fmt.Sprintf("%s %d IN A 192.0.2.10", owner, ttl)),
			test.A(fmt.Sprintf("%s %d IN A 192.0.2.11", owner, ttl)),
		}
	}
)

// check compares a reply with what a client must see, including the extended error ("code: text",
// or "" for none).
func check(tb testing.TB, m *dns.Msg, want test.Case, wantEDE string) {
	tb.Helper()
	got := ""
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_EDE); ok {
				got = fmt.Sprintf("%d: %s", e.InfoCode, e.ExtraText)
			}
		}
	}
	if got != wantEDE {
		tb.Errorf("%s %s: extended error %q, want %q", want.Qname, dns.TypeToString[want.Qtype], got, wantEDE)
	}
	var extra []dns.RR
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	m.Extra = extra
	// SortAndCheck sorts the reply's sections only; sort the expectation the same way so that
	// tests list records in the order a reader expects.
	sort.Sort(test.RRSet(want.Answer))
	sort.Sort(test.RRSet(want.Ns))
	if err := test.SortAndCheck(m, want); err != nil {
		tb.Errorf("%s %s: %v\n%s", want.Qname, dns.TypeToString[want.Qtype], err, m)
	}
}

func TestApex(t *testing.T) {
	s := twoZoneServer(t, "flatten")
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			check(t, s.query(t, network, "example.org.", dns.TypeA),
				test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: wwwA("example.org.", 300)}, "")
			check(t, s.query(t, network, "example.org.", dns.TypeAAAA),
				test.Case{Qname: "example.org.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("example.org. 300 IN AAAA 2001:db8::10")}}, "")
			// 0x20: the owner is spelled as the client spelled the question.
			check(t, s.query(t, network, "ExAmPlE.OrG.", dns.TypeA),
				test.Case{Qname: "ExAmPlE.OrG.", Qtype: dns.TypeA, Answer: wwwA("ExAmPlE.OrG.", 300)}, "")
			// Without EDNS the answer is the same.
			check(t, s.query(t, network, "example.org.", dns.TypeA, true),
				test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: wwwA("example.org.", 300)}, "")
		})
	}
	// The apex's other types are its own records, NODATA here, never the CNAME a resolver would
	// cache and apply to every type at the apex (its mail's MX and TXT looked up at the target).
	for _, qtype := range []uint16{dns.TypeMX, dns.TypeTXT, dns.TypeCAA} {
		check(t, s.query(t, "udp", "example.org.", qtype), test.Case{Qname: "example.org.", Qtype: qtype, Ns: []dns.RR{soaOrg(300)}}, "")
	}
	// In apex mode other names keep their CNAME, exactly as the file plugin answers them.
	check(t, s.query(t, "udp", "www.example.org.", dns.TypeA), test.Case{Qname: "www.example.org.", Qtype: dns.TypeA,
		Answer: append(wwwA("www.example.net.", 600), test.CNAME("www.example.org. 3600 IN CNAME www.example.net.")),
		Ns:     []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")},
	}, "")
}

// Questions other than A and AAAA, and answers without a CNAME at the question's name, pass
// through unchanged.
func TestPassThrough(t *testing.T) {
	s := twoZoneServer(t, "flatten {\n        all\n    }")
	check(t, s.query(t, "udp", "example.org.", dns.TypeCNAME), test.Case{Qname: "example.org.", Qtype: dns.TypeCNAME,
		Answer: []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net.")},
		Ns:     []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")},
	}, "")
	check(t, s.query(t, "udp", "example.org.", dns.TypeNS), test.Case{Qname: "example.org.", Qtype: dns.TypeNS,
		Answer: []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")},
	}, "")
	check(t, s.query(t, "tcp", "ns1.example.net.", dns.TypeA), test.Case{Qname: "ns1.example.net.", Qtype: dns.TypeA,
		Answer: []dns.RR{test.A("ns1.example.net. 60 IN A 192.0.2.53")},
		Ns:     []dns.RR{test.NS("example.net. 3600 IN NS ns1.example.net.")},
	}, "")
	check(t, s.query(t, "udp", "nothing.example.org.", dns.TypeA), test.Case{Qname: "nothing.example.org.", Qtype: dns.TypeA,
		Rcode: dns.RcodeNameError, Ns: []dns.RR{soaOrg(3600)},
	}, "")
}

func TestAllAndNames(t *testing.T) {
	t.Run("all", func(t *testing.T) {
		s := twoZoneServer(t, "flatten {\n        all\n    }")
		check(t, s.query(t, "udp", "www.example.org.", dns.TypeA),
			test.Case{Qname: "www.example.org.", Qtype: dns.TypeA, Answer: wwwA("www.example.org.", 600)}, "")
		check(t, s.query(t, "tcp", "Mixed.Example.Org.", dns.TypeA),
			test.Case{Qname: "Mixed.Example.Org.", Qtype: dns.TypeA, Answer: wwwA("Mixed.Example.Org.", 600)}, "")
		// org -> net -> org -> net: the walk continues across lookups; the lowest TTL is y's 100.
		check(t, s.query(t, "udp", "x.example.org.", dns.TypeA),
			test.Case{Qname: "x.example.org.", Qtype: dns.TypeA, Answer: wwwA("x.example.org.", 100)}, "")
		check(t, s.query(t, "udp", "example.org.", dns.TypeA),
			test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: wwwA("example.org.", 300)}, "")
	})
	t.Run("names", func(t *testing.T) {
		s := twoZoneServer(t, "flatten {\n        names www.example.org\n    }")
		check(t, s.query(t, "udp", "WWW.example.org.", dns.TypeA),
			test.Case{Qname: "WWW.example.org.", Qtype: dns.TypeA, Answer: wwwA("WWW.example.org.", 600)}, "")
		check(t, s.query(t, "udp", "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA,
			Answer: append(wwwA("www.example.net.", 600), test.CNAME("example.org. 300 IN CNAME www.example.net.")),
			Ns:     []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.net.")},
		}, "")
	})
}

func TestNoData(t *testing.T) {
	s := twoZoneProcess(t, "flatten {\n        all\n    }")
	for _, network := range []string{"udp", "tcp"} {
		// The target does not exist: the alias does, so NODATA with the zone's SOA, at the
		// chain's TTL (120, below the SOA's minimum of 300).
		check(t, s.query(t, network, "dangling.example.org.", dns.TypeA),
			test.Case{Qname: "dangling.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{soaOrg(120)}},
			"0: dangling alias: target gone.example.net. does not exist (NXDOMAIN): dangling.example.org. -> gone.example.net.")
		// The target exists without AAAA.
		check(t, s.query(t, network, "noaaaa.example.org.", dns.TypeAAAA),
			test.Case{Qname: "noaaaa.example.org.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soaOrg(120)}}, "")
	}
	const line = "[WARNING] plugin/flatten: warning dangling-cname dangling.example.org.: dangling CNAME: gone.example.net. does not exist (NXDOMAIN): dangling.example.org. -> gone.example.net."
	s.waitLog(t, line)
	// Rate-limited: two questions, one line (besides the audit's at start-up).
	if n := strings.Count(s.out.String(), line); n != 1 {
		t.Errorf("the dangling alias was logged %d times, want once a minute", n)
	}
}

func TestLoops(t *testing.T) {
	s := twoZoneProcess(t, "flatten {\n        all\n    }")
	for _, network := range []string{"udp", "tcp"} {
		check(t, s.query(t, network, "loop1.example.org.", dns.TypeA),
			test.Case{Qname: "loop1.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			"0: CNAME loop: loop1.example.org. -> loop2.example.org. -> loop3.example.org. -> loop1.example.org.")
	}
	// Without EDNS there is nowhere to put the extended error: a plain SERVFAIL.
	check(t, s.query(t, "udp", "loop2.example.org.", dns.TypeA, true),
		test.Case{Qname: "loop2.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure}, "")
	s.waitLog(t, "[WARNING] plugin/flatten: error cname-loop loop1.example.org.: CNAME loop: loop1.example.org. -> loop2.example.org. -> loop3.example.org. -> loop1.example.org. (RFC 1034 3.6.2); fix: point one CNAME of the loop at a name that holds addresses")
}

// The apexes of two zones served by the same server point at each other.
func TestLoopAcrossZones(t *testing.T) {
	s := startHere(t, `a.test:{{PORT}} b.test:{{PORT}} {
    bind 127.0.0.1
    flatten
    file {{DIR}}/db.a.test a.test
    file {{DIR}}/db.b.test b.test
}
`)
	for _, network := range []string{"udp", "tcp"} {
		check(t, s.query(t, network, "a.test.", dns.TypeA),
			test.Case{Qname: "a.test.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			"0: CNAME loop: a.test. -> b.test. -> a.test.")
		check(t, s.query(t, network, "B.test.", dns.TypeAAAA),
			test.Case{Qname: "B.test.", Qtype: dns.TypeAAAA, Rcode: dns.RcodeServerFailure},
			"0: CNAME loop: b.test. -> a.test. -> b.test.")
	}
}

func TestLongChains(t *testing.T) {
	t.Run("12 hops, max_chain 10", func(t *testing.T) {
		s := twoZoneServer(t, "flatten {\n        all\n    }")
		check(t, s.query(t, "udp", "h0.example.org.", dns.TypeA),
			test.Case{Qname: "h0.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			"0: CNAME chain longer than max_chain 10: h0.example.org. -> h1.example.org. -> h2.example.org. -> h3.example.org. -> ...(4 more)... -> h8.example.org. -> h9.example.org. -> h10.example.org. -> h11.example.org.")
	})
	t.Run("12 hops, max_chain 12", func(t *testing.T) {
		s := twoZoneServer(t, "flatten {\n        all\n        max_chain 12\n    }")
		for _, network := range []string{"udp", "tcp"} {
			check(t, s.query(t, network, "h0.example.org.", dns.TypeA), test.Case{Qname: "h0.example.org.", Qtype: dns.TypeA,
				Answer: []dns.RR{test.A("h0.example.org. 3600 IN A 192.0.2.112")}}, "")
		}
	})
	// The file plugin stops chasing after 8 hops and returns a cut chain; the walk goes on from
	// where it stopped.
	t.Run("10 hops in one zone, default limit", func(t *testing.T) {
		s := twoZoneServer(t, "flatten {\n        all\n    }")
		check(t, s.query(t, "udp", "c0.example.org.", dns.TypeA), test.Case{Qname: "c0.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("c0.example.org. 60 IN A 192.0.2.100")}}, "")
	})
}

// A target this server does not serve, with nothing configured to resolve it: the self-lookup is
// refused, and the client learns why.
func TestTargetLookupFails(t *testing.T) {
	s := twoZoneServer(t, "flatten {\n        all\n    }")
	check(t, s.query(t, "udp", "outside.example.org.", dns.TypeA),
		test.Case{Qname: "outside.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
		"22: lookup of target host.example.com. A was refused: this server does not serve it; add a forward or resolver for it")
}

func TestPluginsListed(t *testing.T) {
	out, err := exec.Command(binary, "-plugins").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\n"+string(out), "\nflatten\n") {
		t.Errorf("coredns -plugins does not list flatten:\n%s", out)
	}
}

// A wrong Corefile stops the server at start-up with the line and what to write instead.
func TestBadCorefile(t *testing.T) {
	s := startNoWait(t, "example.org:{{PORT}} {\n    bind 127.0.0.1\n    flatten {\n        max_chain 0\n    }\n    file {{DIR}}/db.example.org\n}\n")
	if err := s.wait(t); err == nil {
		t.Fatal("CoreDNS started on a wrong Corefile")
	}
	want := "/Corefile:4 - Error during parsing: max_chain '0' is out of range: write a whole number from 1 to 32 (default 10)"
	if !strings.Contains(s.out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, s.out)
	}
}

// A block CoreDNS builds no chain for (bind excludes every address: no listener) starts with
// flatten as it does without: its start-up and shutdown hooks have no plugin to run.
func TestBlockWithoutListener(t *testing.T) {
	other := freePort(t)
	s := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    whoami
}
.:%d {
    bind 127.0.0.1 {
        except 127.0.0.1
    }
    flatten example.org
    whoami
}
`, other))
	m := s.query(t, "udp", "example.org.", dns.TypeA)
	if m.Rcode != dns.RcodeSuccess || len(m.Extra) == 0 {
		t.Errorf("the block that listens answered %v", m)
	}
	if strings.Contains(s.out.String(), "panic") {
		t.Errorf("output:\n%s", s.out)
	}
}

// What cannot work stops CoreDNS at start-up with the line and what to write; a cache below its
// floor is said to be raised.
func TestStartupRefusesWhatCannotWork(t *testing.T) {
	for _, tc := range []struct{ name, block, want string }{{
		name:  "expand_transfer without transfer",
		block: "flatten {\n        expand_transfer\n    }",
		want:  "/Corefile:4 - Error during parsing: 'expand_transfer' expands the zone transfers the transfer plugin serves, and this block has none: add 'transfer { to ... }' to the block, or remove 'expand_transfer'",
	}, {
		name:  "a zone the block does not serve",
		block: "flatten example.com",
		want:  "/Corefile:3 - Error during parsing: zone 'example.com' is not served by this server block (example.org.): flatten sees only its block's questions",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startNoWait(t, "example.org:{{PORT}} {\n    bind 127.0.0.1\n    "+tc.block+"\n    file {{DIR}}/db.example.org\n}\n")
			if err := s.wait(t); err == nil {
				t.Fatal("CoreDNS started")
			}
			if !strings.Contains(s.out.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, s.out)
			}
		})
	}
	s := start(t, "example.org:{{PORT}} {\n    bind 127.0.0.1\n    flatten {\n        cache 10\n    }\n    file {{DIR}}/db.example.org\n}\n")
	s.waitLog(t, "[WARNING] plugin/flatten: ")
	if !strings.Contains(s.out.String(), "/Corefile:4: cache 10 is raised to 1024, the fewest entries the cache holds (256 shards of at least 4): write 'cache 1024' to say so") {
		t.Errorf("output:\n%s", s.out)
	}
}
