package test

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/internal/loopback"

	"github.com/miekg/dns"
)

// The shapes real traffic takes, beyond the cases the plugin was designed around: concurrent DNSSEC
// questions at an apex with siblings, zone changes that make a loop, referrals, loops the backend
// refuses itself, tiny client buffers, other opcodes, pass-through dangling names, apexes under
// 'dangling nxdomain', zone reloads without audits, cache in front, and declared aliases asked
// for other types.

// askMsg sends m to addr over network and fails the test on a transport error.
func askMsg(tb testing.TB, addr, network string, m *dns.Msg) *dns.Msg {
	tb.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		tb.Fatalf("%s over %s: %v", m.Question[0].String(), network, err)
	}
	return r
}

// question returns a question for name and qtype with EDNS (buffer 1232) and the DO bit as given.
func question(name string, qtype uint16, do bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, do)
	return m
}

// signRRsets writes zone (its RRsets, each signed with a fresh key) to dir and returns the path.
func signRRsets(tb testing.TB, dir, origin string, rrsets [][]dns.RR) string {
	tb.Helper()
	k := &dns.DNSKEY{
		Hdr:   dns.RR_Header{Name: origin, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := k.Generate(256)
	if err != nil {
		tb.Fatal(err)
	}
	var zone []byte
	now := time.Now().UTC()
	for _, set := range append(rrsets, []dns.RR{k}) {
		sig := &dns.RRSIG{
			Hdr:       dns.RR_Header{Name: set[0].Header().Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: set[0].Header().Ttl},
			Algorithm: k.Algorithm, SignerName: origin, KeyTag: k.KeyTag(),
			Inception: uint32(now.Add(-time.Hour).Unix()), Expiration: uint32(now.Add(24 * time.Hour).Unix()),
		}
		if err := sig.Sign(priv.(crypto.Signer), set); err != nil {
			tb.Fatal(err)
		}
		for _, rr := range append(set, sig) {
			zone = append(zone, rr.String()+"\n"...)
		}
	}
	path := filepath.Join(dir, "db."+strings.TrimSuffix(origin, ".")+".signed")
	writeFile(tb, path, string(zone))
	return path
}

// Answers at an apex with siblings (MX and TXT beside the apex CNAME) are built from the zone as
// read by the plugin: concurrent questions with and without DO, with plugins above and below that
// reorder or rewrite records, never share or change those records (the race-built server reports
// any shared write), and each gets its exact answer.
func TestApexSiblingsConcurrent(t *testing.T) {
	rrs := make([][]dns.RR, 0, 5)
	for _, set := range []string{
		"example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300",
		"example.org. 3600 IN NS ns1.example.net.",
		"example.org. 300 IN CNAME www.example.net.",
		"example.org. 3600 IN MX 10 mx1.example.net.|example.org. 3600 IN MX 20 mx2.example.net.|example.org. 3600 IN MX 30 mx3.example.net.",
		`example.org. 3600 IN TXT "v=spf1 -all"`,
	} {
		var rrset []dns.RR
		for s := range strings.SplitSeq(set, "|") {
			rrset = append(rrset, mustRR(t, s))
		}
		rrs = append(rrs, rrset)
	}
	zone := signRRsets(t, t.TempDir(), "example.org.", rrs)
	s := startHere(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    loadbalance
    cache 30
    flatten
    file %s example.org
}
`, zone))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 60 {
				do := (g+i)%2 == 0
				qtype := []uint16{dns.TypeMX, dns.TypeTXT}[i%2]
				want := map[uint16]int{dns.TypeMX: 3, dns.TypeTXT: 1}[qtype]
				c := &dns.Client{Timeout: 5 * time.Second}
				r, _, err := c.Exchange(question("example.org.", qtype, do), s.addr)
				if err != nil {
					errs <- err
					return
				}
				n, sigs := 0, 0
				for _, rr := range r.Answer {
					switch rr.Header().Rrtype {
					case qtype:
						n++
					case dns.TypeRRSIG:
						if rr.(*dns.RRSIG).TypeCovered == qtype {
							sigs++
						} else {
							n = -100
						}
					default:
						n = -100
					}
				}
				wantSigs := 0
				if do {
					wantSigs = 1
				}
				if r.Rcode != dns.RcodeSuccess || n != want || sigs != wantSigs {
					errs <- fmt.Errorf("example.org %s DO=%v: %d records and %d signatures, want %d and %d:\n%s", dns.TypeToString[qtype], do, n, sigs, want, wantSigs, r)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A loop that appears in a target's zone after a change is a fact about the data, not a failure to
// reach the target: the next answer is SERVFAIL with the loop's extended error, never the old
// addresses served stale.
func TestLoopAfterChangeIsNotStale(t *testing.T) {
	tg := newTarget(t, "192.0.2.10")
	s := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        alias example.org www.example.net
        resolver 127.0.0.1:%d
        ttl 1 3600
    }
    file {{DIR}}/db.aliases.example.org example.org
}
`, tg.port))
	if got := answer(s.query(t, "udp", "example.org.", dns.TypeA)); got != "NOERROR example.org. 2 A 192.0.2.10" {
		t.Fatalf("before the change: %s", got)
	}
	tg.writeZone(t, "www 2 IN CNAME a\na 2 IN CNAME www\n")
	eventually(t, 5*time.Second, func() error {
		m := tg.s.query(t, "udp", "a.example.net.", dns.TypeCNAME)
		if len(m.Answer) == 0 {
			return fmt.Errorf("the target does not serve the loop yet: %s", m)
		}
		return nil
	})
	wantEDE := "0: CNAME loop: example.org. -> www.example.net. -> a.example.net. -> www.example.net."
	eventually(t, 10*time.Second, func() error {
		m := s.query(t, "udp", "example.org.", dns.TypeA)
		switch got := edeOf(m); {
		case strings.HasPrefix(got, "3:"):
			t.Fatalf("a loop was answered with stale data: %s\n%s", got, m)
		case m.Rcode == dns.RcodeServerFailure && got == wantEDE:
			return nil
		case m.Rcode == dns.RcodeSuccess && got == "":
			return fmt.Errorf("still the old answer: %s", answer(m))
		default:
			t.Fatalf("unexpected answer: EDE %q\n%s", got, m)
		}
		return nil
	})
	s.waitLog(t, "CNAME loop: example.org. -> www.example.net. -> a.example.net. -> www.example.net.")
}

// A resolver that answers with referrals is not recursive: a referral is not NODATA (RFC 2308
// 2.2). The client gets SERVFAIL with extended error 22 naming the resolver, and the log says what to
// change. NODATA with a SOA and NXDOMAIN keep their meaning.
func TestReferralFromResolver(t *testing.T) {
	nsd := startNSD(t, map[string]string{"example.com.": soaNS("example.com.") + `
sub    3600 IN NS  ns.elsewhere.example.
nodata 3600 IN TXT "no addresses here"
www    300  IN A   192.0.2.80
`})
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    flatten {
        alias example.org www.sub.example.com
        alias nodata.example.org nodata.example.com
        alias gone.example.org gone.example.com
        alias ok.example.org www.example.com
        resolver %s
    }
    file {{DIR}}/db.aliases.example.org example.org
}
`, metrics, nsd.addr))
	soa := soaOrg(60)
	wantEDE := fmt.Sprintf("22: lookup of target www.sub.example.com. A: resolver %s answered with a referral to sub.example.com.: it is not a recursive resolver", nsd.addr)
	check(t, s.query(t, "udp", "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure}, wantEDE)
	s.waitLog(t, fmt.Sprintf("lookup of target www.sub.example.com. A: resolver %s answered with a referral to sub.example.com.: it is not a recursive resolver; point 'resolver' at a recursive server", nsd.addr))
	check(t, s.query(t, "udp", "nodata.example.org.", dns.TypeA), test.Case{Qname: "nodata.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{soa}}, "")
	check(t, s.query(t, "udp", "gone.example.org.", dns.TypeA), test.Case{Qname: "gone.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{soa}},
		"0: dangling alias: target gone.example.com. does not exist (NXDOMAIN): gone.example.org. -> gone.example.com.")
	check(t, s.query(t, "udp", "ok.example.org.", dns.TypeA), test.Case{Qname: "ok.example.org.", Qtype: dns.TypeA,
		Answer: []dns.RR{test.A("ok.example.org. 300 IN A 192.0.2.80")}}, "")
	if got := metric(t, metrics, "coredns_flatten_lookup_failures_total", `cause="referral"`); got != 1 {
		t.Errorf("lookup_failures_total{cause=referral} = %v, want 1", got)
	}
}

// A chain into a part of the zone delegated to other servers: the block's plugins answer it with
// a referral (file does), so the name is asked as names outside the zones are, through the
// resolver, and the chain ends in the child zone's records; without one, the referral is said.
func TestChainIntoDelegationAskedOutside(t *testing.T) {
	recursive := loopback.Serve(t, func(q *dns.Msg, _ bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(q)
		m.RecursionAvailable = true
		if q.Question[0].Qtype == dns.TypeA && strings.EqualFold(q.Question[0].Name, "host.sub.example.org.") {
			rr, _ := dns.NewRR("host.sub.example.org. 120 IN A 192.0.2.77")
			m.Answer = append(m.Answer, rr)
		}
		return m
	})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "db.example.org"), soaNS("example.org.")+`
sub        3600 IN NS    ns.sub.example.org.
ns.sub     3600 IN A     192.0.2.53
intosub    300  IN CNAME host.sub.example.org.
`)
	s := startHere(t, allBlock(dir, recursive))
	check(t, s.query(t, "udp", "intosub.example.org.", dns.TypeA), test.Case{Qname: "intosub.example.org.", Qtype: dns.TypeA,
		Answer: []dns.RR{test.A("intosub.example.org. 120 IN A 192.0.2.77")}}, "")

	// Without a resolver the server asks itself, which has only the referral: SERVFAIL, saying so.
	alone := startHere(t, allBlock(dir, ""))
	check(t, alone.query(t, "udp", "intosub.example.org.", dns.TypeA), test.Case{Qname: "intosub.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
		"22: lookup of target host.sub.example.org. A got a referral to sub.example.org.: the name is delegated and this server does not resolve it; add a forward or resolver for it")
}

// In a root block every name is in the plugin's zones, and a target no plugin of the block serves
// (file refuses it) is asked as names outside the zones are: of the resolver option's servers. A
// block of the server that serves the target answers file's own chase through the server. With
// neither, the refusal is said.
func TestRootBlockTargetsServedElsewhere(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "db.example.org"), soaNS("example.org.")+"@ 300 IN CNAME www.example.net.\n")
	root := func(resolver string) string {
		opt := ""
		if resolver != "" {
			opt = "\n        resolver " + resolver
		}
		return fmt.Sprintf(`.:{{PORT}} {
    bind 127.0.0.1
    flatten . {
        all%s
    }
    file %s/db.example.org example.org
}
`, opt, dir)
	}
	flattened := test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("example.org. 60 IN A 192.0.2.10")}} // the chain's lowest TTL, the target's
	t.Run("resolver", func(t *testing.T) {
		s := startHere(t, root(oracleServer(t).addr))
		for _, network := range []string{"udp", "tcp"} {
			check(t, s.query(t, network, "example.org.", dns.TypeA), flattened, "")
		}
	})
	t.Run("another block of the server", func(t *testing.T) {
		s := startHere(t, root("")+`example.net:{{PORT}} {
    bind 127.0.0.1
    file {{DIR}}/db.oracle.example.net example.net
}
`)
		check(t, s.query(t, "udp", "example.org.", dns.TypeA), flattened, "")
	})
	t.Run("neither", func(t *testing.T) {
		s := startHere(t, root(""))
		check(t, s.query(t, "udp", "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			"22: lookup of target www.example.net. A was refused: this server does not serve it; add a forward or resolver for it")
	})
}

// A CNAME at its own name and a two-name loop, which the file plugin answers with its own bare
// SERVFAIL, get the same answer as any other loop: SERVFAIL, the extended error naming the names,
// the log line and the metric.
func TestShortLoops(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+`
self  300 IN CNAME self
two1  300 IN CNAME two2
two2  300 IN CNAME two1
`)
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    flatten {
        all
    }
    file %s/db.example.org
}
`, metrics, dir))
	for _, c := range []struct{ name, ede string }{
		{"self.example.org.", "0: CNAME loop: self.example.org. -> self.example.org."},
		{"two1.example.org.", "0: CNAME loop: two1.example.org. -> two2.example.org. -> two1.example.org."},
	} {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			check(t, s.query(t, "udp", c.name, qtype), test.Case{Qname: c.name, Qtype: qtype, Rcode: dns.RcodeServerFailure}, c.ede)
		}
		s.waitLog(t, c.ede[3:])
	}
	if got := metric(t, metrics, "coredns_flatten_loops_total"); got != 4 {
		t.Errorf("loops_total = %v, want 4", got)
	}
}

// An error answer always fits the client's buffer: a loop through long names gets an extended
// error that keeps the first and last names and says how many were left out.
func TestErrorFitsBuffer(t *testing.T) {
	label := strings.Repeat("x", 60)
	var zone strings.Builder
	zone.WriteString(soaNS("example.org."))
	const n = 10
	for i := range n {
		fmt.Fprintf(&zone, "%s%d 300 IN CNAME %s%d\n", label, i, label, (i+1)%n)
	}
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", zone.String())
	s := startHere(t, allBlock(dir, ""))
	first := fmt.Sprintf("%s0.example.org.", label)
	for _, size := range []uint16{512, 1232} {
		m := new(dns.Msg)
		m.SetQuestion(first, dns.TypeA)
		m.SetEdns0(size, false)
		r := askMsg(t, s.addr, "udp", m)
		packed, err := r.Pack()
		if err != nil {
			t.Fatal(err)
		}
		ede := edeOf(r)
		switch {
		case r.Rcode != dns.RcodeServerFailure || r.Truncated:
			t.Errorf("buffer %d: rcode %s TC=%v, want SERVFAIL with TC=0", size, dns.RcodeToString[r.Rcode], r.Truncated)
		case len(packed) > int(size):
			t.Errorf("buffer %d: a reply of %d bytes", size, len(packed))
		case !strings.HasPrefix(ede, "0: CNAME loop: "+first) || !strings.HasSuffix(ede, first) || !strings.Contains(ede, "more"):
			t.Errorf("buffer %d: extended error %q: want the loop's first and last names and how many were left out", size, ede)
		}
	}
}

// Only ordinary queries are touched: a NOTIFY or an UPDATE for a flattened name goes to the next
// plugin exactly as without flatten, even with the flattened answer in the cache. (The file plugin
// drops a NOTIFY for a zone it is primary for, so "no reply" is the expected answer there; the
// dynupdate plugin answers an UPDATE.)
func TestOtherOpcodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir+"/db.dyn.example.org", soaNS("dyn.example.org.")+"www 300 IN CNAME www.example.net.\n")
	block := `example.org:{{PORT}} {
    bind 127.0.0.1
    %[1]s
    file {{DIR}}/db.example.org
}
dyn.example.org:{{PORT}} {
    bind 127.0.0.1
    tsig {
        secret update-key.dyn.example.org. i9M+00yrECfVZG2qCjr4mPpaGim/Bq+IWMiNrLjUO4Y=
    }
    %[1]s
    dynupdate {
        file %[2]s/db.dyn.example.org
        allow update-key.dyn.example.org. * *
    }
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file {{DIR}}/db.example.net
}
`
	with := start(t, fmt.Sprintf(block, "flatten {\n        all\n    }", dir))
	without := start(t, fmt.Sprintf(block, "", dir))
	for _, name := range []string{"example.org.", "www.dyn.example.org."} {
		if m := with.query(t, "udp", name, dns.TypeA); m.Rcode != dns.RcodeSuccess || len(m.Answer) == 0 || m.Answer[0].Header().Rrtype != dns.TypeA {
			t.Fatalf("%s A is not flattened:\n%s", name, m) // and now warm in the plugin's cache
		}
	}
	// reply asks once with a short timeout: nil means no reply came.
	reply := func(addr string, m *dns.Msg) *dns.Msg {
		c := &dns.Client{Timeout: time.Second}
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			return nil
		}
		return r
	}
	for _, c := range []struct {
		op   int
		name string
	}{
		{dns.OpcodeNotify, "example.org."},
		{dns.OpcodeUpdate, "www.dyn.example.org."},
		{dns.OpcodeUpdate, "dyn.example.org."},
	} {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeSOA} {
			m := new(dns.Msg)
			m.SetQuestion(c.name, qtype)
			m.Opcode = c.op
			m.Id = 4242
			got, want := reply(with.addr, m.Copy()), reply(without.addr, m.Copy())
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s %s %s: with flatten\n%v\nwithout\n%v", dns.OpcodeToString[c.op], c.name, dns.TypeToString[qtype], got, want)
			}
		}
	}
}

// A dangling CNAME passed through in the default apex mode is a takeover risk all the same: the
// answer is untouched, but it is logged and counted; the audit finds it at start-up through the
// server's own forward, before anyone asks.
func TestDanglingPassThrough(t *testing.T) {
	nsd := startNSD(t, map[string]string{"cloudapp.azure.com.": soaNS("cloudapp.azure.com.")})
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+"old 300 IN CNAME legacy-app.cloudapp.azure.com.\n")
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    flatten {
        audit 1s
    }
    file %s/db.example.org
}
.:{{PORT}} {
    bind 127.0.0.1
    forward . %s
}
`, metrics, dir, nsd.addr))
	s.waitLog(t, "[ERROR] plugin/flatten: audit: critical takeover-risk old.example.org.: subdomain-takeover risk: legacy-app.cloudapp.azure.com. does not exist")
	m := s.query(t, "udp", "old.example.org.", dns.TypeA)
	if m.Rcode != dns.RcodeNameError || len(m.Answer) != 1 || m.Answer[0].Header().Rrtype != dns.TypeCNAME {
		t.Errorf("the pass-through answer changed:\n%s", m)
	}
	s.waitLog(t, "[ERROR] plugin/flatten: critical takeover-risk old.example.org.: subdomain-takeover risk: legacy-app.cloudapp.azure.com. does not exist")
	if got := metric(t, metrics, "coredns_flatten_dangling_total"); got != 1 {
		t.Errorf("dangling_total = %v, want 1", got)
	}
	if got := metric(t, metrics, "coredns_flatten_findings_total", `rule="takeover-risk"`); got != 2 {
		t.Errorf("findings_total{rule=takeover-risk} = %v, want 2 (the audit's and the live answer's)", got)
	}
}

// 'dangling nxdomain' never denies a name that owns records (RFC 8020): the apex owns SOA, NS and
// MX, so its dangling alias is NODATA with the SOA and the extended error; a plain CNAME name still
// gets NXDOMAIN.
func TestDanglingNXDOMAINAtApex(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+`
@     300 IN CNAME gone.example.net.
@    3600 IN MX 10 mx.example.net.
leaf  300 IN CNAME gone.example.net.
`)
	writeFile(t, dir+"/db.example.net", soaNS("example.net."))
	s := startHere(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        all
        dangling nxdomain
    }
    file %[1]s/db.example.org
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file %[1]s/db.example.net
}
`, dir))
	soa := test.SOA("example.org. 60 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 60")
	check(t, s.query(t, "udp", "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA, Ns: []dns.RR{soa}},
		"0: dangling alias: target gone.example.net. does not exist (NXDOMAIN): example.org. -> gone.example.net.")
	check(t, s.query(t, "udp", "leaf.example.org.", dns.TypeA), test.Case{Qname: "leaf.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa}},
		"0: dangling alias: target gone.example.net. does not exist (NXDOMAIN): leaf.example.org. -> gone.example.net.")
}

// With 'audit 0', answers at an apex with siblings still follow the zone when the file plugin
// reloads it.
func TestApexSiblingsFollowReload(t *testing.T) {
	dir := t.TempDir()
	zone := func(serial, pref int) string {
		return fmt.Sprintf(`$ORIGIN example.org.
@ 3600 IN SOA ns1.example.net. hostmaster.example.org. %d 7200 3600 1209600 300
@ 3600 IN NS ns1.example.net.
@  300 IN CNAME www.example.net.
@ 3600 IN MX %d mx.example.net.
`, serial, pref)
	}
	writeFile(t, dir+"/db.example.org", zone(1, 10))
	s := startHere(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        audit 0
    }
    file %s/db.example.org {
        reload 100ms
    }
}
`, dir))
	mx := func(pref int) test.Case {
		return test.Case{Qname: "example.org.", Qtype: dns.TypeMX,
			Answer: []dns.RR{test.MX(fmt.Sprintf("example.org. 3600 IN MX %d mx.example.net.", pref))}}
	}
	check(t, s.query(t, "udp", "example.org.", dns.TypeMX), mx(10), "")
	writeFile(t, dir+"/db.example.org", zone(2, 20))
	eventually(t, 5*time.Second, func() error {
		if m := s.query(t, "udp", "example.org.", dns.TypeSOA); len(m.Answer) == 0 || m.Answer[0].(*dns.SOA).Serial != 2 {
			return fmt.Errorf("the file plugin has not reloaded yet")
		}
		return nil
	})
	check(t, s.query(t, "udp", "example.org.", dns.TypeMX), mx(20), "")
}

// A flattened apex follows a reload of its zone within seconds, whatever the audit interval (15 s
// here) and the cached chain's TTL (300 s): the new target's address, not the old one's.
func TestFlattenedFollowsReload(t *testing.T) {
	dir := t.TempDir()
	zone := func(serial int, target string) string {
		return fmt.Sprintf("$ORIGIN example.org.\n@ 3600 IN SOA ns1.example.net. hostmaster.example.org. %d 7200 3600 1209600 300\n@ 3600 IN NS ns1.example.net.\n@ 300 IN CNAME %s\n", serial, target)
	}
	writeFile(t, dir+"/db.example.org", zone(1, "a.example.net."))
	writeFile(t, dir+"/db.example.net", soaNS("example.net.")+"a 300 IN A 192.0.2.1\nb 300 IN A 192.0.2.2\n")
	s := startHere(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten
    file %[1]s/db.example.org {
        reload 100ms
    }
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file %[1]s/db.example.net
}
`, dir))
	check(t, s.query(t, "udp", "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA,
		Answer: []dns.RR{test.A("example.org. 300 IN A 192.0.2.1")}}, "")
	writeFile(t, dir+"/db.example.org", zone(2, "b.example.net."))
	// The file plugin's reload races with its own chase of a CNAME to another zone (CoreDNS
	// v1.15.0, with or without flatten; see the README's Bugs): the A questions wait for it.
	eventually(t, 5*time.Second, func() error {
		if m := s.query(t, "udp", "example.org.", dns.TypeSOA); len(m.Answer) == 0 || m.Answer[0].(*dns.SOA).Serial != 2 {
			return fmt.Errorf("the file plugin has not reloaded yet")
		}
		return nil
	})
	eventually(t, 3*time.Second, func() error {
		m := s.query(t, "udp", "example.org.", dns.TypeA)
		if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.2" {
			return fmt.Errorf("example.org. A after the reload: %v", m.Answer)
		}
		return nil
	})
}

// Extended errors reach clients through a server block with cache, as in the shipped Corefiles.
func TestExtendedErrorsThroughCache(t *testing.T) {
	b, err := os.ReadFile("../Corefile.example")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+"@ 300 IN CNAME loop.example.net.\n")
	writeFile(t, dir+"/db.example.net", soaNS("example.net.")+"loop 300 IN CNAME example.org.\n")
	corefile := string(b)
	for old, repl := range map[string]string{
		":1053":                     ":{{PORT}}",
		"prometheus 127.0.0.1:9153": "cache",
		"zones/db.example.org":      dir + "/db.example.org",
		"zones/db.example.net":      dir + "/db.example.net",
	} {
		if strings.Count(corefile, old) == 0 {
			t.Fatalf("Corefile.example has no %q", old)
		}
		corefile = strings.ReplaceAll(corefile, old, repl)
	}
	s := startHere(t, corefile)
	for range 2 { // the second answer may come from a cache
		check(t, s.query(t, "udp", "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			"0: CNAME loop: example.org. -> loop.example.net. -> example.org.")
	}
}

// A declared alias exists for every type: other types get NODATA with the SOA, with and without
// DO; ANY at a flattened name gets the flattened addresses, never the CNAME.
func TestDeclaredAliasOtherTypes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+`
@ 300 IN CNAME www.example.net.
`)
	writeFile(t, dir+"/db.example.net", soaNS("example.net.")+`
www 600 IN A 192.0.2.10
www 600 IN AAAA 2001:db8::10
`)
	s := startHere(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        alias bare.example.org www.example.net
    }
    file %[1]s/db.example.org
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file %[1]s/db.example.net
}
`, dir))
	soa := test.SOA("example.org. 60 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 60")
	check(t, s.query(t, "udp", "bare.example.org.", dns.TypeA), test.Case{Qname: "bare.example.org.", Qtype: dns.TypeA,
		Answer: []dns.RR{test.A("bare.example.org. 600 IN A 192.0.2.10")}}, "")
	for _, qtype := range []uint16{dns.TypeMX, dns.TypeTXT} {
		for _, do := range []bool{false, true} {
			m := askMsg(t, s.addr, "udp", question("bare.example.org.", qtype, do))
			check(t, m, test.Case{Qname: "bare.example.org.", Qtype: qtype, Ns: []dns.RR{soa}, Do: do}, "")
		}
	}
	for _, name := range []string{"bare.example.org.", "example.org."} {
		ttl := map[string]int{"bare.example.org.": 600, "example.org.": 300}[name]
		check(t, s.query(t, "udp", name, dns.TypeANY), test.Case{Qname: name, Qtype: dns.TypeANY, Answer: []dns.RR{
			test.A(fmt.Sprintf("%s %d IN A 192.0.2.10", name, ttl)),
			test.AAAA(fmt.Sprintf("%s %d IN AAAA 2001:db8::10", name, ttl)),
		}}, "")
	}
}

// allBlock is a Corefile for example.org ({{PORT}}) with `flatten { all }`, asking resolver when
// one is given, in front of file serving dir/db.example.org.
func allBlock(dir, resolver string) string {
	opt := ""
	if resolver != "" {
		opt = "\n        resolver " + resolver
	}
	return fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        all%s
    }
    file %s/db.example.org
}
`, opt, dir)
}
