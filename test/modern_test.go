package test

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// Flattening for today's web: HTTPS/SVCB at flattened names, HTTPS AliasMode as an alias
// declaration, and client-subnet-aware flattening, against PowerDNS as the authoritative server.

const httpsTargets = `$ORIGIN example.net.
@ 3600 IN SOA ns1.example.net. h.example.net. 1 7200 3600 1209600 60
@ 3600 IN NS ns1.example.net.
ns1 IN A 192.0.2.53
edge 600 IN A 198.51.100.1
edge 120 IN HTTPS 1 . alpn="h2,h3" port=8443 ipv4hint=198.51.100.1 ech=AEX+DQBBpQAgACB/RkaZ
nohttps 600 IN A 198.51.100.2
svcb1 600 IN SVCB 1 svc.example.net. alpn=h2 port=853
onlyhttps 600 IN HTTPS 1 . alpn=h2
cdn 600 IN A 198.51.100.9
cdn 600 IN AAAA 2001:db8::9
`

// HTTPS and SVCB questions at a flattened name get the RRset at the chain's end, owned by the
// question's name, every SvcParam kept, at the chain's lowest TTL; NODATA with the zone's SOA when
// the target has none; a ServiceMode "." becomes the target's name where the alias's addresses are
// not the target's.
func TestHTTPSAtFlattenedName(t *testing.T) {
	pdns := startPDNS(t, map[string]string{"example.net.": httpsTargets})
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+`
@      300 IN CNAME edge.example.net.
plain  300 IN CNAME nohttps.example.net.
svc    300 IN CNAME svcb1.example.net.
`)
	s := startHere(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        all
        alias bare.example.org onlyhttps.example.net
        resolver %s
    }
    file %s/db.example.org
}
`, pdns.addr, dir))
	for range 2 { // cold, then warm
		check(t, s.query(t, "udp", "example.org.", dns.TypeHTTPS), test.Case{Qname: "example.org.", Qtype: dns.TypeHTTPS, Answer: []dns.RR{
			mustRR(t, `example.org. 120 IN HTTPS 1 . alpn="h2,h3" port=8443 ipv4hint=198.51.100.1 ech=AEX+DQBBpQAgACB/RkaZ`),
		}}, "")
		check(t, s.query(t, "tcp", "svc.example.org.", dns.TypeSVCB), test.Case{Qname: "svc.example.org.", Qtype: dns.TypeSVCB, Answer: []dns.RR{
			mustRR(t, `svc.example.org. 300 IN SVCB 1 svc.example.net. alpn=h2 port=853`),
		}}, "")
		check(t, s.query(t, "udp", "plain.example.org.", dns.TypeHTTPS), test.Case{Qname: "plain.example.org.", Qtype: dns.TypeHTTPS,
			Ns: []dns.RR{test.SOA("example.org. 60 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 60")}}, "")
		// The declared alias has no addresses from its target (it has none): "." would be the
		// alias's own, so the record names the target.
		check(t, s.query(t, "udp", "bare.example.org.", dns.TypeHTTPS), test.Case{Qname: "bare.example.org.", Qtype: dns.TypeHTTPS, Answer: []dns.RR{
			mustRR(t, `bare.example.org. 600 IN HTTPS 1 onlyhttps.example.net. alpn=h2`),
		}}, "")
	}
	// dig, as an operator reads it.
	out, err := exec.Command(lookPath(t, "dig"), "@127.0.0.1", "-p", fmt.Sprint(s.port), "example.org", "HTTPS", "+noall", "+answer").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(string(out)), " "); !strings.HasPrefix(got, `example.org. 1`) ||
		!strings.Contains(got, `IN HTTPS 1 . alpn="h2,h3" port=8443 ipv4hint=198.51.100.1 ech=AEX+DQBBpQAgACB/RkaZ`) {
		t.Errorf("dig example.org HTTPS:\n%s", out)
	}
}

// A zone written the standards-track way, with an HTTPS record in AliasMode at the apex and no
// addresses there, answers A and AAAA from the AliasMode target for every client; the audit
// understands AliasMode: loops through AliasMode and CNAME together, dangling AliasMode targets.
func TestAliasModeAtApex(t *testing.T) {
	pdns := startPDNS(t, map[string]string{"example.net.": httpsTargets})
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+`
@      300 IN HTTPS 0 cdn.example.net.
@     3600 IN MX 10 mx.example.net.
loopa  300 IN HTTPS 0 loopb.example.org.
loopb  300 IN CNAME loopa.example.org.
gone   300 IN HTTPS 0 nothere.example.net.
`)
	s := start(t, allBlock(dir, pdns.addr))
	for _, network := range []string{"udp", "tcp", "udp"} {
		check(t, s.query(t, network, "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("example.org. 300 IN A 198.51.100.9")}}, "")
		check(t, s.query(t, network, "example.org.", dns.TypeAAAA), test.Case{Qname: "example.org.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("example.org. 300 IN AAAA 2001:db8::9")}}, "")
	}
	// The AliasMode record itself and the apex's other records are the zone's, as always.
	check(t, s.query(t, "udp", "example.org.", dns.TypeHTTPS), test.Case{Qname: "example.org.", Qtype: dns.TypeHTTPS,
		Answer: []dns.RR{mustRR(t, "example.org. 300 IN HTTPS 0 cdn.example.net.")}, Ns: []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.org.")}}, "")
	check(t, s.query(t, "udp", "example.org.", dns.TypeMX), test.Case{Qname: "example.org.", Qtype: dns.TypeMX,
		Answer: []dns.RR{test.MX("example.org. 3600 IN MX 10 mx.example.net.")}, Ns: []dns.RR{test.NS("example.org. 3600 IN NS ns1.example.org.")}}, "")
	check(t, s.query(t, "udp", "loopa.example.org.", dns.TypeA), test.Case{Qname: "loopa.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
		"0: CNAME loop: loopa.example.org. -> loopb.example.org. -> loopa.example.org.")
	check(t, s.query(t, "udp", "gone.example.org.", dns.TypeA), test.Case{Qname: "gone.example.org.", Qtype: dns.TypeA,
		Ns: []dns.RR{test.SOA("example.org. 60 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 60")}},
		"0: dangling alias: target nothere.example.net. does not exist (NXDOMAIN): gone.example.org. -> nothere.example.net.")
	s.waitLog(t, "audit: error cname-loop loopa.example.org.: alias loop: loopa.example.org. -> loopb.example.org. -> loopa.example.org.")
	s.waitLog(t, "audit: warning dangling-cname gone.example.org.: dangling alias: nothere.example.net. does not exist (NXDOMAIN)")
	if strings.Contains(s.out.String(), "cname-at-apex") {
		t.Error("an AliasMode record at the apex was reported as an apex CNAME")
	}
}

// Client-subnet-aware flattening: a client's subnet goes to the resolver, each network gets its
// own answer (also from the warm cache, one lookup per network), the reply carries the scope, and
// a client that sent none gets nothing added.
func TestClientSubnet(t *testing.T) {
	pdns := startPDNS(t, map[string]string{"example.net.": `$ORIGIN example.net.
@ 3600 IN SOA ns1.example.net. h.example.net. 1 7200 3600 1209600 60
@ 3600 IN NS ns1.example.net.
ns1 IN A 192.0.2.53
geo 60 IN LUA A "view({ {{'10.0.0.0/8'}, {'192.0.2.101'}}, {{'0.0.0.0/0'}, {'198.51.100.201'}} })"
`}, "enable-lua-records=yes", "edns-subnet-processing=yes")
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    flatten {
        alias geo.example.org geo.example.net
        resolver %s
        ecs
    }
    file {{DIR}}/db.aliases.example.org example.org
}
`, metrics, pdns.addr))
	ask := func(subnet string) *dns.Msg {
		m := question("geo.example.org.", dns.TypeA, false)
		if subnet != "" {
			ip, bits, _ := strings.Cut(subnet, "/")
			family, n := uint16(1), 0
			if strings.Contains(ip, ":") {
				family = 2
			}
			fmt.Sscan(bits, &n)
			m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: uint8(n), Address: net.ParseIP(ip)})
		}
		return askMsg(t, s.addr, "udp", m)
	}
	scope := func(m *dns.Msg) string {
		if o := m.IsEdns0(); o != nil {
			for _, opt := range o.Option {
				if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
					return fmt.Sprintf("%s/%d/%d", e.Address, e.SourceNetmask, e.SourceScope)
				}
			}
		}
		return ""
	}
	for round := range 2 { // cold, then warm
		for _, c := range []struct{ subnet, addr, scope string }{
			{"10.1.2.0/24", "192.0.2.101", "10.1.2.0/24/24"},
			{"198.51.100.0/24", "198.51.100.201", "198.51.100.0/24/24"},
			{"10.9.9.9/32", "192.0.2.101", "10.9.9.9/32/24"}, // sent on as 10.9.9.0/24, echoed as asked
			{"", "198.51.100.201", ""},
		} {
			m := ask(c.subnet)
			if got := answer(m); !strings.HasSuffix(got, " A "+c.addr) || m.Rcode != dns.RcodeSuccess {
				t.Errorf("round %d, subnet %q: %s, want %s", round, c.subnet, got, c.addr)
			}
			if got := scope(m); got != c.scope {
				t.Errorf("round %d, subnet %q: ECS in the reply %q, want %q", round, c.subnet, got, c.scope)
			}
		}
	}
	out := pdns.out.String()
	for _, want := range []string{"<-10.1.2.0/24 wants 'geo.example.net|A'", "<-198.51.100.0/24 wants 'geo.example.net|A'", "<-10.9.9.0/24 wants 'geo.example.net|A'"} {
		if n := strings.Count(out, want); n != 1 {
			t.Errorf("PowerDNS got %q %d times, want once (the second round comes from the cache)", want, n)
		}
	}
	if strings.Contains(out, "<-10.9.9.9") {
		t.Error("a /32 source prefix reached the resolver: RFC 7871 11.1 caps it at /24")
	}
	if n := strings.Count(out, "Remote 127.0.0.1 wants 'geo.example.net|A'"); n != 1 {
		t.Errorf("questions without a subnet for the client that sent none: %d, want 1", n)
	}
	eventually(t, 5*time.Second, func() error {
		if hits := metric(t, metrics, "coredns_flatten_cache_hits_total"); hits < 4 {
			return fmt.Errorf("cache hits %v, want the second round's 4", hits)
		}
		return nil
	})
}
