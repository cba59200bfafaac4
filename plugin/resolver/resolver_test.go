package resolver

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// fakeServer starts a DNS server on 127.0.0.1 (UDP and TCP) answering with h; it stops with the test.
func fakeServer(t *testing.T, h dns.HandlerFunc) string {
	t.Helper()
	s := dnstest.NewMultipleServer(h)
	t.Cleanup(s.Close)
	return s.Addr
}

// newStarted returns a started Resolver for addrs, stopped with the test.
func newStarted(t *testing.T, addrs ...string) *Resolver {
	t.Helper()
	r := New(addrs)
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

func ask(r *Resolver) (*dns.Msg, string, error) {
	return r.Exchange(context.Background(), Question("www.example.net.", dns.TypeA))
}

func answer(w dns.ResponseWriter, r *dns.Msg, addr string) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Answer = []dns.RR{test.A("www.example.net. 60 IN A " + addr)}
	w.WriteMsg(m)
}

// A question goes out over UDP with an EDNS buffer of 1232 bytes; a truncated reply is asked again
// over TCP, and no reply with TC set is ever returned.
func TestTruncatedRetriesOverTCP(t *testing.T) {
	t.Parallel()
	var udpSize atomic.Uint32
	addr := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		if w.RemoteAddr().Network() == "udp" {
			udpSize.Store(uint32(r.IsEdns0().UDPSize()))
			m := new(dns.Msg)
			m.SetReply(r)
			m.Truncated = true
			w.WriteMsg(m)
			return
		}
		answer(w, r, "192.0.2.10")
	})
	m, via, err := ask(newStarted(t, addr))
	if err != nil || len(m.Answer) != 1 || m.Truncated || via != addr {
		t.Fatalf("got %v from %s, %v; want the TCP answer from %s", m, via, err, addr)
	}
	if n := udpSize.Load(); n != BufSize {
		t.Errorf("UDP question with EDNS buffer %d, want %d", n, BufSize)
	}
	tcOnly := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Truncated = true
		w.WriteMsg(m)
	})
	if m, _, err := ask(newStarted(t, tcOnly)); err == nil {
		t.Errorf("a server that truncates over TCP too: got %v, want an error", m)
	}
}

func TestNextAddress(t *testing.T) {
	t.Parallel()
	good := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) { answer(w, r, "192.0.2.10") })
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

	m, via, err := ask(newStarted(t, closed, wrong, servfail, good))
	if err != nil || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.10" || via != good {
		t.Fatalf("got %v from %s, %v; want the good server's answer", m, via, err)
	}
	m, via, err = ask(newStarted(t, wrong, servfail))
	if err != nil || m.Rcode != dns.RcodeServerFailure || via != servfail {
		t.Errorf("got %v from %s, %v; want the SERVFAIL when every address fails", m, via, err)
	}
	_, _, err = ask(newStarted(t, wrong))
	if err == nil || !strings.Contains(err.Error(), ErrMismatch.Error()) {
		t.Errorf("error = %v, want the mismatch", err)
	}
}

// A reply that does not parse is an error, and the next address is asked.
func TestMalformedReply(t *testing.T) {
	t.Parallel()
	garbage := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		b, _ := r.Pack()
		b[2] |= 0x80                        // QR: a response, with the question's ID
		w.Write(append(b[:12], 0xc0, 0x0c)) // then a compression pointer to itself
	})
	good := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) { answer(w, r, "192.0.2.10") })
	if _, _, err := ask(newStarted(t, garbage)); err == nil {
		t.Fatal("a malformed reply was accepted")
	}
	if m, _, err := ask(newStarted(t, garbage, good)); err != nil || len(m.Answer) != 1 {
		t.Fatalf("got %v, %v; want the good server's answer", m, err)
	}
}

// However many addresses fail slowly, one question ends within its budget.
func TestBudget(t *testing.T) {
	silent := make([]string, 0, 5)
	for range 5 {
		silent = append(silent, fakeServer(t, func(dns.ResponseWriter, *dns.Msg) {}))
	}
	start := time.Now()
	_, _, err := ask(newStarted(t, silent...))
	if took := time.Since(start); err == nil || took > Budget+Timeout {
		t.Errorf("5 silent servers: %v after %s, want an error within about %s", err, took, Budget)
	}
}

// A lost datagram costs one timeout, not the answer: an address that did not reply is asked again
// while the budget allows; one that answered (even SERVFAIL) is not.
func TestLostDatagramAskedAgain(t *testing.T) {
	var lossy, failing atomic.Int32
	lossyAddr := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		if lossy.Add(1) == 1 {
			return // the first question is lost
		}
		answer(w, r, "192.0.2.10")
	})
	m, via, err := ask(newStarted(t, lossyAddr))
	if err != nil || via != lossyAddr || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.10" {
		t.Fatalf("got %v via %s, %v; want 192.0.2.10 via %s", m, via, err, lossyAddr)
	}
	if n := lossy.Load(); n != 2 {
		t.Errorf("the lossy server was asked %d times, want 2", n)
	}

	failingAddr := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		failing.Add(1)
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		w.WriteMsg(m)
	})
	if m, _, err := ask(newStarted(t, failingAddr)); err != nil || m.Rcode != dns.RcodeServerFailure {
		t.Fatalf("got %v, %v; want the SERVFAIL", m, err)
	}
	if n := failing.Load(); n != 1 {
		t.Errorf("a server that answered SERVFAIL was asked %d times, want 1", n)
	}
}
