package flatten

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// fakeServer starts a DNS server on 127.0.0.1 (UDP and TCP) answering with h; it stops with the test.
func fakeServer(t *testing.T, h dns.HandlerFunc) string {
	t.Helper()
	s := dnstest.NewMultipleServer(h)
	t.Cleanup(s.Close)
	return s.Addr
}

func TestResolverTruncatedRetriesOverTCP(t *testing.T) {
	addr := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if w.RemoteAddr().Network() == "udp" {
			m.Truncated = true
		} else {
			m.Answer = []dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10")}
		}
		w.WriteMsg(m)
	})
	m, err := newResolver([]string{addr}).Lookup(context.Background(), request.Request{}, "www.example.net.", dns.TypeA)
	if err != nil || len(m.Answer) != 1 || m.Truncated {
		t.Fatalf("got %v, %v; want the TCP answer", m, err)
	}
}

func TestResolverNextAddress(t *testing.T) {
	good := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10")}
		w.WriteMsg(m)
	})
	servfail := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		w.WriteMsg(m)
	})
	// Answers a question other than the one asked: never to be used.
	wrong := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Question[0].Name = "evil.example.com."
		m.Answer = []dns.RR{test.A("www.example.net. 60 IN A 203.0.113.66")}
		w.WriteMsg(m)
	})
	// A closed port: nothing listens there.
	l, _ := net.ListenPacket("udp", "127.0.0.1:0")
	closed := l.LocalAddr().String()
	l.Close()

	m, err := newResolver([]string{closed, wrong, servfail, good}).Lookup(context.Background(), request.Request{}, "www.example.net.", dns.TypeA)
	if err != nil || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.10" {
		t.Fatalf("got %v, %v; want the good server's answer", m, err)
	}

	m, err = newResolver([]string{wrong, servfail}).Lookup(context.Background(), request.Request{}, "www.example.net.", dns.TypeA)
	if err != nil || m.Rcode != dns.RcodeServerFailure {
		t.Errorf("got %v, %v; want the SERVFAIL when every address fails", m, err)
	}
	_, err = newResolver([]string{wrong}).Lookup(context.Background(), request.Request{}, "www.example.net.", dns.TypeA)
	if err == nil || !strings.Contains(err.Error(), "reply does not match the question") {
		t.Errorf("error = %v, want the mismatch", err)
	}
}

// A reply that does not parse is an error, and the next address is asked.
func TestResolverMalformedReply(t *testing.T) {
	garbage := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		b, _ := r.Pack()
		b[2] |= 0x80                        // QR: a response, with the question's ID
		w.Write(append(b[:12], 0xc0, 0x0c)) // then a compression pointer to itself
	})
	good := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{test.A("www.example.net. 60 IN A 192.0.2.10")}
		w.WriteMsg(m)
	})
	_, err := newResolver([]string{garbage}).Lookup(context.Background(), request.Request{}, "www.example.net.", dns.TypeA)
	if err == nil {
		t.Fatal("a malformed reply was accepted")
	}
	m, err := newResolver([]string{garbage, good}).Lookup(context.Background(), request.Request{}, "www.example.net.", dns.TypeA)
	if err != nil || len(m.Answer) != 1 {
		t.Fatalf("got %v, %v; want the good server's answer", m, err)
	}
}

// However many addresses fail slowly, one lookup ends within its budget.
func TestResolverBudget(t *testing.T) {
	var silent []string
	for range 5 {
		silent = append(silent, fakeServer(t, func(dns.ResponseWriter, *dns.Msg) {}))
	}
	start := time.Now()
	_, err := newResolver(silent).Lookup(context.Background(), request.Request{}, "www.example.net.", dns.TypeA)
	if took := time.Since(start); err == nil || took > resolverBudget+500*time.Millisecond {
		t.Errorf("5 silent servers: %v after %s, want an error within %s", err, took, resolverBudget)
	}
}
