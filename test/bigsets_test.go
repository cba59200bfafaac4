package test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Big address sets (issue: a cut address set served, marked complete and cached). A target with 60
// A and 60 AAAA records reaches the plugin by every path: the same zone, another server block of the
// same server, the server's own forward to a real authoritative server (NSD), and the resolver
// option; with a cache below the plugin and without. Whatever the order of questions, a client gets
// the complete set over TCP, the complete set over UDP when it fits its buffer, and TC=1 otherwise;
// never a cut set with TC=0.

const bigSetSize = 60

// bigRecords returns bigSetSize A and AAAA records owned by name (relative or absolute).
func bigRecords(name string, ttl int) string {
	var b strings.Builder
	for i := 1; i <= bigSetSize; i++ {
		fmt.Fprintf(&b, "%s %d IN A 198.51.100.%d\n", name, ttl, i)
		fmt.Fprintf(&b, "%s %d IN AAAA 2001:db8::%x\n", name, ttl, i)
	}
	return b.String()
}

func soaNS(origin string) string {
	return fmt.Sprintf("$ORIGIN %s\n@ 3600 IN SOA ns1.%[1]s hostmaster.%[1]s 1 7200 3600 1209600 60\n@ 3600 IN NS ns1.%[1]s\nns1 3600 IN A 192.0.2.53\n", origin)
}

// bigSetQuery is one way a client asks.
type bigSetQuery struct {
	network string
	bufsize uint16 // 0: no EDNS, so 512 bytes over UDP
}

func (q bigSetQuery) String() string {
	if q.network == "tcp" {
		return "tcp"
	}
	if q.bufsize == 0 {
		return "udp-noedns"
	}
	return fmt.Sprintf("udp-%d", q.bufsize)
}

func (q bigSetQuery) ask(tb testing.TB, addr string, qname string, qtype uint16) *dns.Msg {
	tb.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	if q.bufsize > 0 {
		m.SetEdns0(q.bufsize, false)
	}
	c := &dns.Client{Net: q.network, Timeout: 5 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		tb.Fatalf("%s %s %s: %v", qname, dns.TypeToString[qtype], q, err)
	}
	return r
}

// fullSetLen is the size on the wire of the complete flattened reply, as the server compresses it.
func fullSetLen(qname string, qtype uint16, edns bool) int {
	r := new(dns.Msg)
	r.SetQuestion(qname, qtype)
	m := new(dns.Msg)
	m.SetReply(r)
	m.Compress = true
	for i := 1; i <= bigSetSize; i++ {
		var rr dns.RR
		if qtype == dns.TypeA {
			rr, _ = dns.NewRR(fmt.Sprintf("%s 60 IN A 198.51.100.%d", qname, i))
		} else {
			rr, _ = dns.NewRR(fmt.Sprintf("%s 60 IN AAAA 2001:db8::%x", qname, i))
		}
		m.Answer = append(m.Answer, rr)
	}
	if edns {
		m.SetEdns0(4096, false)
	}
	return m.Len()
}

// checkBigSet asserts the reply a client must see: the complete set when it fits, else TC=1.
func checkBigSet(tb testing.TB, q bigSetQuery, qname string, qtype uint16, m *dns.Msg) {
	tb.Helper()
	what := fmt.Sprintf("%s %s over %s", qname, dns.TypeToString[qtype], q)
	if m.Rcode != dns.RcodeSuccess {
		tb.Errorf("%s: rcode %s, want NOERROR", what, dns.RcodeToString[m.Rcode])
		return
	}
	size := 65535
	if q.network == "udp" {
		size = 512
		if q.bufsize > 512 {
			size = int(q.bufsize)
		}
	}
	fits := fullSetLen(qname, qtype, q.bufsize > 0) <= size
	n := 0
	for _, rr := range m.Answer {
		if rr.Header().Rrtype != qtype || !strings.EqualFold(rr.Header().Name, qname) {
			tb.Errorf("%s: record off the question: %s", what, rr)
			continue
		}
		n++
	}
	switch {
	case fits && (m.Truncated || n != bigSetSize):
		tb.Errorf("%s: %d records, TC=%v; want all %d with TC=0 (the set fits %d bytes)", what, n, m.Truncated, bigSetSize, size)
	case !fits && !m.Truncated:
		tb.Errorf("%s: %d records with TC=0; the set does not fit %d bytes, so TC=1 (RFC 2181 9)", what, n, size)
	}
}

// Every query shape, the cold one first: UDP without EDNS, then the larger buffers, then TCP, then
// the small one again (now warm).
var bigSetQueries = []bigSetQuery{
	{network: "udp"}, {network: "udp", bufsize: 1232}, {network: "udp", bufsize: 4096},
	{network: "tcp"}, {network: "udp"}, {network: "udp", bufsize: 512},
}

func TestBigAddressSets(t *testing.T) {
	nsd := startNSD(t, map[string]string{"example.com.": soaNS("example.com.") + bigRecords("big", 300)})
	org := soaNS("example.org.") + `
@     300 IN CNAME big.example.net.
same  300 IN CNAME big
fwd   300 IN CNAME big.example.com.
` + bigRecords("big", 300)
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", org)
	writeFile(t, dir+"/db.example.net", soaNS("example.net.")+bigRecords("big", 300))
	corefile := `example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        all
    }
    %[3]s
    file %[1]s/db.example.org
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file %[1]s/db.example.net
}
.:{{PORT}} {
    bind 127.0.0.1
    forward . %[2]s
}
`
	s := startHere(t, fmt.Sprintf(corefile, dir, nsd.addr, ""))
	// The same with a cache below flatten, in CoreDNS's plugin order: the cache keys its entries
	// without the question's buffer, so what it keeps of a small question's answer (file's chase,
	// cut to 512 bytes without TC) is what it gives any later question for that name.
	cached := startHere(t, fmt.Sprintf(corefile, dir, nsd.addr, "cache"))
	// The resolver option, against the same real authoritative server.
	withResolver := start(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        alias viaresolver.example.org big.example.com
        resolver %s
    }
    file %s/db.example.org
}
`, nsd.addr, dir))

	paths := []struct {
		name, qname string
		s           *server
	}{
		{"another server block", "example.org.", s},
		{"same zone", "same.example.org.", s},
		{"forward to a real server", "fwd.example.org.", s},
		{"resolver", "viaresolver.example.org.", withResolver},
		{"another server block, cache below", "example.org.", cached},
		{"same zone, cache below", "same.example.org.", cached},
		{"forward to a real server, cache below", "fwd.example.org.", cached},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
				for _, q := range bigSetQueries {
					checkBigSet(t, q, p.qname, qtype, q.ask(t, p.s.at(q.network), p.qname, qtype))
				}
			}
		})
	}
}

// The first, cold question comes over UDP without EDNS and the target is reached through the
// server's own forward: the plugin's own lookup must not copy the client's 512-byte limit, and a
// truncated upstream reply must never be cached as NODATA for every later client.
func TestBigSetColdSmallQuestion(t *testing.T) {
	nsd := startNSD(t, map[string]string{"example.com.": soaNS("example.com.") + bigRecords("big", 300)})
	dir := t.TempDir()
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+"@ 300 IN CNAME big.example.com.\n")
	s := startHere(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    flatten
    file %s/db.example.org
}
.:{{PORT}} {
    bind 127.0.0.1
    forward . %s
}
`, dir, nsd.addr))
	for _, qtype := range []uint16{dns.TypeAAAA, dns.TypeA} {
		for _, q := range []bigSetQuery{{network: "udp"}, {network: "tcp"}, {network: "udp", bufsize: 4096}} {
			checkBigSet(t, q, "example.org.", qtype, q.ask(t, s.at(q.network), "example.org.", qtype))
		}
	}
}
