package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsflatten/flatten/internal/loopback"

	"github.com/miekg/dns"
)

// recursive is a scripted recursive resolver on loopback that counts the questions it gets by
// name and transport: plain.example.org has an address; alias.example.org is a chain to an
// address with a 5 s TTL (refreshed within the test); big.example.org is a chain to 120 addresses,
// truncated over UDP when they do not fit the question's buffer, as a real server truncates.
type recursive struct {
	addr string
	mu   sync.Mutex
	asks map[string]int // "name udp" or "name tcp" -> questions
}

func newRecursive(tb testing.TB) *recursive {
	tb.Helper()
	r := &recursive{asks: map[string]int{}}
	r.addr = loopback.Serve(tb, func(q *dns.Msg, tcp bool) *dns.Msg {
		name := strings.ToLower(q.Question[0].Name)
		r.mu.Lock()
		r.asks[name+map[bool]string{false: " udp", true: " tcp"}[tcp]]++
		r.mu.Unlock()
		m := new(dns.Msg)
		m.SetReply(q)
		m.RecursionAvailable = true
		add := func(s string) { rr, _ := dns.NewRR(s); m.Answer = append(m.Answer, rr) }
		switch {
		case q.Question[0].Qtype == dns.TypeAAAA && name == "alias.example.org.":
			// NODATA at the chain's end, with the SOA of its zone, as a resolver answers.
			add("alias.example.org. 300 IN CNAME cdn.example.net.")
			soa, _ := dns.NewRR("example.net. 300 IN SOA ns.example.net. admin.example.net. 7 3600 600 86400 60")
			m.Ns = append(m.Ns, soa)
		case q.Question[0].Qtype != dns.TypeA:
		case name == "plain.example.org.":
			add("plain.example.org. 300 IN A 192.0.2.1")
		case name == "alias.example.org.":
			add("alias.example.org. 300 IN CNAME cdn.example.net.")
			add("cdn.example.net. 5 IN A 192.0.2.2")
		case name == "big.example.org.":
			add("big.example.org. 300 IN CNAME big.example.net.")
			for i := 1; i <= 120; i++ {
				add(fmt.Sprintf("big.example.net. 300 IN A 198.51.%d.%d", 100+i/200, i%200+1))
			}
		}
		size := 512
		if o := q.IsEdns0(); o != nil {
			m.SetEdns0(o.UDPSize(), false)
			size = int(o.UDPSize())
		}
		if !tcp {
			m.Truncate(size)
		}
		return m
	})
	return r
}

func (r *recursive) count(name, proto string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.asks[name+" "+proto]
}

// 'all' in front of forward: every question goes upstream as the client asked it, over UDP with the
// client's buffer, and so do the plugin's own questions (a chain's refresh); only a reply that came
// truncated is asked again over TCP. A resolver with few TCP slots (Unbound's 10) then serves it as
// it serves CoreDNS without the plugin.
func TestAllModeForwardsAsClientsAsk(t *testing.T) {
	up := newRecursive(t)
	s := startHere(t, fmt.Sprintf(`.:{{PORT}} {
    bind 127.0.0.1
    flatten . {
        all
    }
    forward . %s
}
`, up.addr))
	ask := func(name string, net string, edns uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		if edns > 0 {
			m.SetEdns0(edns, false)
		}
		c := &dns.Client{Net: net, Timeout: 5 * time.Second}
		r, _, err := c.Exchange(m, s.at(net))
		if err != nil {
			t.Fatalf("%s over %s: %v", name, net, err)
		}
		return r
	}
	for range 20 {
		for _, edns := range []uint16{0, 1232} {
			// What a client sees: the upstream's answer as it is, or the chain flattened into the
			// address owned by the alias with the chain's lowest TTL, a recursive answer as the
			// resolver's was (RA, no AA); EDNS only when asked with it.
			r := ask("plain.example.org.", "udp", edns)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].String() != "plain.example.org.\t300\tIN\tA\t192.0.2.1" || (r.IsEdns0() != nil) != (edns > 0) {
				t.Fatalf("plain.example.org. (EDNS %d): %v", edns, r)
			}
			r = ask("alias.example.org.", "udp", edns)
			if a, ok := firstA(r); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || !ok || a.Hdr.Name != "alias.example.org." || a.A.String() != "192.0.2.2" ||
				a.Hdr.Ttl < 1 || a.Hdr.Ttl > 5 || (r.IsEdns0() != nil) != (edns > 0) || r.Authoritative || !r.RecursionAvailable {
				t.Fatalf("alias.example.org. (EDNS %d): %v", edns, r)
			}
		}
	}
	time.Sleep(4500 * time.Millisecond) // cdn.example.net's 5 s: the next question starts a refresh
	ask("alias.example.org.", "udp", 1232)
	time.Sleep(500 * time.Millisecond)
	for _, name := range []string{"plain.example.org.", "alias.example.org.", "cdn.example.net."} {
		if n := up.count(name, "tcp"); n != 0 {
			t.Errorf("%s: %d questions upstream over TCP, want none (every reply fits over UDP)", name, n)
		}
	}
	if n := up.count("alias.example.org.", "udp"); n < 2 {
		t.Errorf("alias.example.org.: %d questions upstream over UDP, want the first and a refresh", n)
	}

	// A chain that ends without the type: NODATA with the SOA the resolver gave for the chain's
	// end, for negative caching; never a question for the root's SOA ('flatten .' names no zone),
	// which the client did not ask and a resolver without root data lets time out.
	m := new(dns.Msg)
	m.SetQuestion("alias.example.org.", dns.TypeAAAA)
	m.SetEdns0(1232, false)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, s.at("udp"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 || r.Ns[0].Header().Name != "example.net." || r.Ns[0].Header().Rrtype != dns.TypeSOA || r.Ns[0].Header().Ttl != 60 ||
		r.Authoritative || !r.RecursionAvailable {
		t.Errorf("alias.example.org. AAAA: want NODATA with example.net.'s SOA at TTL 60 (its MINIMUM), got %v", r)
	}
	if n := up.count(".", "udp") + up.count(".", "tcp"); n != 0 {
		t.Errorf("the root's SOA was asked upstream %d times", n)
	}

	// 120 addresses do not fit 1232 bytes: upstream's UDP reply is truncated, so that question is
	// asked again over TCP, and the client gets TC, then the whole set over TCP.
	if r := ask("big.example.org.", "udp", 1232); !r.Truncated {
		t.Errorf("big.example.org. over UDP with 1232 bytes: TC=%v, %d records; want TC=1", r.Truncated, len(r.Answer))
	}
	if r := ask("big.example.org.", "tcp", 0); r.Truncated || len(r.Answer) != 120 {
		t.Errorf("big.example.org. over TCP: TC=%v, %d records; want all 120", r.Truncated, len(r.Answer))
	}
	if n := up.count("big.example.org.", "tcp"); n == 0 {
		t.Error("big.example.org.: never asked upstream over TCP, though its UDP reply was truncated")
	}
}

// firstA returns the first record of r's answer when it is an A record.
func firstA(r *dns.Msg) (*dns.A, bool) {
	if len(r.Answer) == 0 {
		return nil, false
	}
	a, ok := r.Answer[0].(*dns.A)
	return a, ok
}

// selfSigned writes a certificate for 127.0.0.1 and upstream.test, its own CA, and its key to dir.
func selfSigned(tb testing.TB, dir string) (cert, key string) {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "upstream.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"upstream.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		tb.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(tb, cert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(tb, key, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	return cert, key
}

// Upstreams over TLS (DoT) and QUIC (DoQ), CoreDNS serving the chain's zone: a stream carries any
// reply whole, but a DoQ server sizes its reply by the question's buffer. Either way the flattened
// set a client gets is whole when it fits, and truncated when it does not; never cut with TC=0.
func TestEncryptedUpstreamsStayWhole(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	var zone strings.Builder
	zone.WriteString(soaNS("example.org.") + "big 300 IN CNAME big2\n")
	for i := 1; i <= 120; i++ {
		fmt.Fprintf(&zone, "big2 300 IN A 198.51.%d.%d\n", 100+i/200, i%200+1)
	}
	writeFile(t, filepath.Join(dir, "db.example.org"), zone.String())
	tlsPort, quicPort := freePort(t), freePort(t)
	start(t, fmt.Sprintf(`.:{{PORT}} {
    bind 127.0.0.1
    whoami
}
tls://example.org:%[1]d {
    bind 127.0.0.1
    tls %[3]s %[4]s
    file %[5]s/db.example.org
}
quic://example.org:%[2]d {
    bind 127.0.0.1
    tls %[3]s %[4]s
    file %[5]s/db.example.org
}
`, tlsPort, quicPort, cert, key, dir))
	for _, up := range []struct{ name, addr string }{
		{"DNS over TLS", fmt.Sprintf("tls://127.0.0.1:%d", tlsPort)},
		{"DNS over QUIC", fmt.Sprintf("quic://127.0.0.1:%d", quicPort)},
	} {
		t.Run(up.name, func(t *testing.T) {
			s := startHere(t, fmt.Sprintf(`.:{{PORT}} {
    bind 127.0.0.1
    flatten . {
        all
    }
    forward . %s {
        tls_servername upstream.test
        tls %s
    }
}
`, up.addr, cert))
			for _, q := range []struct {
				net  string
				edns uint16
			}{{"udp", 1232}, {"udp", 0}, {"tcp", 0}, {"udp", 4096}} {
				m := new(dns.Msg)
				m.SetQuestion("big.example.org.", dns.TypeA)
				if q.edns > 0 {
					m.SetEdns0(q.edns, false)
				}
				c := &dns.Client{Net: q.net, Timeout: 5 * time.Second, UDPSize: 65535}
				r, _, err := c.Exchange(m, s.at(q.net))
				if err != nil {
					t.Fatal(err)
				}
				fits := q.net == "tcp" || q.edns >= 4096 // 120 addresses need about 2,000 bytes
				switch n := len(r.Answer); {
				case fits && (n != 120 || r.Truncated):
					t.Errorf("over %s (EDNS %d): %d records, TC=%v; want all 120", q.net, q.edns, n, r.Truncated)
				case !fits && !r.Truncated:
					t.Errorf("over %s (EDNS %d): %d records with TC=0; the set does not fit, so TC=1", q.net, q.edns, n)
				}
				for _, rr := range r.Answer {
					if rr.Header().Name != "big.example.org." || rr.Header().Rrtype != dns.TypeA {
						t.Errorf("over %s: a record off the question: %s", q.net, rr)
					}
				}
			}
		})
	}
}
