package test

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// writeKey makes a KSK for zone in dir, in the BIND files CoreDNS's dnssec plugin reads, and returns
// the files' base name and the public key.
func writeKey(tb testing.TB, dir, zone string) (string, *dns.DNSKEY) {
	tb.Helper()
	k := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags:     257,
		Protocol:  3,
		Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := k.Generate(256)
	if err != nil {
		tb.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", zone, k.Algorithm, k.KeyTag()))
	if err := os.WriteFile(base+".key", []byte(k.String()+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv)), 0o600); err != nil {
		tb.Fatal(err)
	}
	return base, k
}

// startUnbound runs a validating Unbound on 127.0.0.1 that trusts anchor and reaches example.org and
// example.net at addr; it is stopped when the test ends.
func startUnbound(tb testing.TB, addr string, anchor dns.RR) *server {
	tb.Helper()
	bin := lookPath(tb, "unbound")
	dir := tb.TempDir()
	port := freePort(tb)
	host, p := "127.0.0.1", addr[len("127.0.0.1:"):]
	conf := fmt.Sprintf(`server:
    interface: 127.0.0.1
    port: %d
    do-ip6: no
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "%s"
    pidfile: "%s/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    access-control: 127.0.0.0/8 allow
    module-config: "validator iterator"
    trust-anchor: "%s"
remote-control:
    control-enable: no
stub-zone:
    name: "example.org."
    stub-addr: %s@%s
stub-zone:
    name: "example.net."
    stub-addr: %s@%s
`, port, dir, dir, anchor.String(), host, p, host, p)
	cf := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	s := runServer(tb, "", port, bin, "-d", "-c", cf)
	s.waitReady(tb)
	return s
}

// authenticated asks the validating resolver u for name and qtype with DO set, and returns its
// reply, which must be NOERROR and authenticated (AD).
func authenticated(t *testing.T, u *server, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, true)
	c := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, u.addr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData {
		t.Fatalf("validating resolver: rcode %s, AD %v; want an authenticated answer:\n%s", dns.RcodeToString[r.Rcode], r.AuthenticatedData, r)
	}
	return r
}

// In a zone signed online by CoreDNS's dnssec plugin, the flattened records come out signed: a
// validating resolver holding the zone's key as trust anchor gets an authenticated answer.
func TestDNSSECOnlineSigning(t *testing.T) {
	dir := t.TempDir()
	base, key := writeKey(t, dir, "example.org.")
	s := startHereOnOnePort(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    dnssec {
        key file %s
    }
    flatten
    file {{DIR}}/db.example.org
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file {{DIR}}/db.example.net
}
`, base))
	u := startUnbound(t, s.addr, key)
	r := authenticated(t, u, "example.org.", dns.TypeA)
	var addrs, sigs int
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			if rr.Hdr.Name != "example.org." {
				t.Errorf("answer owned by %s", rr.Hdr.Name)
			}
			addrs++
		case *dns.RRSIG:
			if rr.TypeCovered != dns.TypeA || rr.KeyTag != key.KeyTag() {
				t.Errorf("unexpected signature %s", rr)
			}
			sigs++
		case *dns.CNAME:
			t.Errorf("CNAME in a flattened answer: %s", rr)
		}
	}
	if addrs != 2 || sigs != 1 {
		t.Errorf("answer has %d addresses and %d signatures, want 2 and 1:\n%s", addrs, sigs, r)
	}

	// Control: a resolver trusting another key must not authenticate the same answer.
	_, other := writeKey(t, t.TempDir(), "example.org.")
	u2 := startUnbound(t, s.addr, other)
	m := new(dns.Msg)
	m.SetQuestion("example.org.", dns.TypeA)
	m.SetEdns0(1232, true)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, u2.addr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeServerFailure || r.AuthenticatedData {
		t.Errorf("resolver with a wrong trust anchor: rcode %s, AD %v; want SERVFAIL", dns.RcodeToString[r.Rcode], r.AuthenticatedData)
	}
}

// signedZone writes example.org, signed with a fresh key, to dir and returns its path.
func signedZone(tb testing.TB, dir string) string {
	tb.Helper()
	k := &dns.DNSKEY{
		Hdr:   dns.RR_Header{Name: "example.org.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := k.Generate(256)
	if err != nil {
		tb.Fatal(err)
	}
	rrsets := [][]dns.RR{
		{mustRR(tb, "example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")},
		{mustRR(tb, "example.org. 3600 IN NS ns1.example.net.")},
		{mustRR(tb, "example.org. 300 IN CNAME www.example.net.")},
		{k},
	}
	var zone []byte
	now := time.Now().UTC()
	for _, set := range rrsets {
		sig := &dns.RRSIG{
			Hdr:       dns.RR_Header{Name: "example.org.", Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: set[0].Header().Ttl},
			Algorithm: k.Algorithm, SignerName: "example.org.", KeyTag: k.KeyTag(),
			Inception: uint32(now.Add(-time.Hour).Unix()), Expiration: uint32(now.Add(24 * time.Hour).Unix()),
		}
		if err := sig.Sign(priv.(crypto.Signer), set); err != nil {
			tb.Fatal(err)
		}
		for _, rr := range append(set, sig) {
			zone = append(zone, rr.String()+"\n"...)
		}
	}
	path := filepath.Join(dir, "db.example.org.signed")
	if err := os.WriteFile(path, zone, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func mustRR(tb testing.TB, s string) dns.RR {
	tb.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		tb.Fatal(err)
	}
	return rr
}

// In a pre-signed zone, a DO=1 question gets the signed CNAME chain unflattened (a synthesized
// record has no signature a validator could check), a DO=0 question the flattened answer.
func TestPreSignedZone(t *testing.T) {
	dir := t.TempDir()
	zone := signedZone(t, dir)
	base, _ := writeKey(t, dir, "example.com.")
	writeFile(t, dir+"/db.example.com", soaNS("example.com."))
	for _, block := range []struct{ name, keys, dnssec string }{
		{name: "alone", keys: "example.org:{{PORT}}"},
		// The block's dnssec plugin signs example.com only: example.org's replies are its own.
		{name: "beside a zone signed online", keys: "example.org:{{PORT}} example.com:{{PORT}}",
			dnssec: fmt.Sprintf("dnssec example.com {\n        key file %s\n    }\n    file %s/db.example.com example.com", base, dir)},
	} {
		t.Run(block.name, func(t *testing.T) {
			s := startHereOnOnePort(t, fmt.Sprintf(`%s {
    bind 127.0.0.1
    flatten
    file %s example.org
    %s
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file {{DIR}}/db.example.net
}
`, block.keys, zone, block.dnssec))
			// A type the apex lacks (MX): DO=1 gets the zone's signed CNAME too (a NODATA there
			// could carry no proof: the apex's NSEC lists the CNAME), DO=0 the apex's own answer,
			// NODATA. A type it holds comes signed (TestApexSiblingsConcurrent).
			c := &dns.Client{Timeout: 5 * time.Second}
			for _, tc := range []struct {
				qtype  uint16
				do     bool
				want   string
				wantNs string // the authority section, where it is the plugin's own reply's
			}{
				{qtype: dns.TypeA, do: true, want: "[example.org. CNAME example.org. RRSIG www.example.net. A www.example.net. A]"},
				{qtype: dns.TypeA, do: false, want: "[example.org. A example.org. A]"},
				{qtype: dns.TypeMX, do: true, want: "[example.org. CNAME example.org. RRSIG]"},
				{qtype: dns.TypeMX, do: false, want: "[]", wantNs: "[example.org. 300 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300]"},
			} {
				m := new(dns.Msg)
				m.SetQuestion("example.org.", tc.qtype)
				m.SetEdns0(1232, tc.do)
				r, _, err := c.Exchange(m, s.addr)
				if err != nil {
					t.Fatal(err)
				}
				types := make([]string, 0, len(r.Answer))
				for _, rr := range r.Answer {
					types = append(types, rr.Header().Name+" "+dns.TypeToString[rr.Header().Rrtype])
				}
				if got := fmt.Sprint(types); got != tc.want || r.Rcode != dns.RcodeSuccess {
					t.Errorf("%s, DO=%v: %s, answer %s, want NOERROR %s", dns.TypeToString[tc.qtype], tc.do, dns.RcodeToString[r.Rcode], got, tc.want)
				}
				if tc.wantNs != "" {
					ns := make([]string, 0, len(r.Ns))
					for _, rr := range r.Ns {
						ns = append(ns, strings.ReplaceAll(rr.String(), "\t", " "))
					}
					if got := fmt.Sprint(ns); got != tc.wantNs {
						t.Errorf("%s, DO=%v: authority %s, want %s", dns.TypeToString[tc.qtype], tc.do, got, tc.wantNs)
					}
				}
			}
			if block.dnssec == "" {
				return
			}
			// The zone it signs is signed still: its apex's SOA comes with an RRSIG.
			m := new(dns.Msg)
			m.SetQuestion("example.com.", dns.TypeSOA)
			m.SetEdns0(1232, true)
			r, _, err := c.Exchange(m, s.addr)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Answer) != 2 || r.Answer[1].Header().Rrtype != dns.TypeRRSIG {
				t.Errorf("example.com. SOA, DO=1: %v, want the SOA and its RRSIG", r.Answer)
			}
		})
	}
}

// An HTTPS question at a flattened apex in a zone signed online: the target's HTTPS record,
// owned by the apex and signed with the zone's key, validates at a resolver holding that key, so
// browsers behind a validating resolver get the HTTPS record (and its ECH config) authenticated.
func TestDNSSECHTTPS(t *testing.T) {
	dir := t.TempDir()
	base, key := writeKey(t, dir, "example.org.")
	writeFile(t, dir+"/db.example.org", soaNS("example.org.")+"@ 300 IN CNAME edge.example.net.\n")
	writeFile(t, dir+"/db.example.net", httpsTargets)
	s := startHereOnOnePort(t, fmt.Sprintf(`example.org:{{PORT}} {
    bind 127.0.0.1
    dnssec {
        key file %s
    }
    flatten
    file %s/db.example.org
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file %s/db.example.net
}
`, base, dir, dir))
	u := startUnbound(t, s.addr, key)
	r := authenticated(t, u, "example.org.", dns.TypeHTTPS)
	want := mustRR(t, `example.org. 120 IN HTTPS 1 . alpn="h2,h3" port=8443 ipv4hint=198.51.100.1 ech=AEX+DQBBpQAgACB/RkaZ`)
	var records, sigs int
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.HTTPS:
			rr.Hdr.Ttl = want.Header().Ttl // the resolver counts it down
			if rr.String() != want.String() {
				t.Errorf("HTTPS %s, want %s", rr, want)
			}
			records++
		case *dns.RRSIG:
			if rr.TypeCovered != dns.TypeHTTPS || rr.KeyTag != key.KeyTag() {
				t.Errorf("unexpected signature %s", rr)
			}
			sigs++
		default:
			t.Errorf("unexpected record in the answer: %s", rr)
		}
	}
	if records != 1 || sigs != 1 {
		t.Errorf("answer has %d HTTPS records and %d signatures, want 1 and 1:\n%s", records, sigs, r)
	}
}
