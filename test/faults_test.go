package test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/internal/loopback"

	"github.com/miekg/dns"
)

// faultServer is a DNS server on 127.0.0.1 (UDP and TCP) that answers www.example.net well or badly,
// as the test sets it.
type faultServer struct {
	addr  string
	mode  atomic.Value // string
	count atomic.Int64
	udp   *dns.Server
	tcp   *dns.Server
}

func newFaultServer(tb testing.TB) *faultServer {
	tb.Helper()
	fs := &faultServer{}
	fs.mode.Store("ok")
	pc, l, err := loopback.ListenBoth()
	if err != nil {
		tb.Fatal(err)
	}
	fs.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(fs.serve)
	fs.udp = &dns.Server{PacketConn: pc, Handler: h}
	fs.tcp = &dns.Server{Listener: l, Handler: h}
	var wg sync.WaitGroup
	for _, s := range []*dns.Server{fs.udp, fs.tcp} {
		wg.Go(func() { s.ActivateAndServe() })
	}
	tb.Cleanup(func() {
		fs.udp.Shutdown()
		fs.tcp.Shutdown()
		wg.Wait()
	})
	return fs
}

func (fs *faultServer) set(mode string) { fs.mode.Store(mode) }

func (fs *faultServer) serve(w dns.ResponseWriter, r *dns.Msg) {
	n := fs.count.Add(1)
	mode := fs.mode.Load().(string)
	tcp := w.RemoteAddr().Network() == "tcp"
	m := new(dns.Msg)
	m.SetReply(r)
	good := func() {
		if r.Question[0].Qtype == dns.TypeA {
			m.Answer = []dns.RR{test.A(r.Question[0].Name + " 60 IN A 192.0.2.10")}
		}
	}
	switch mode {
	case "ok":
		good()
	case "timeout":
		return
	case "servfail", "refused", "formerr":
		m.Rcode = map[string]int{"servfail": dns.RcodeServerFailure, "refused": dns.RcodeRefused, "formerr": dns.RcodeFormatError}[mode]
	case "tc-then-tcp-fails":
		if tcp {
			w.Close()
			return
		}
		m.Truncated = true
	case "drop-half":
		if n%2 == 0 {
			return
		}
		good()
	case "slow":
		time.Sleep(3 * time.Second)
		good()
	case "hostile":
		// Records off the chain, for the alias itself and for other names, beside the real answer.
		good()
		m.Answer = append(m.Answer,
			test.A("example.org. 86400 IN A 203.0.113.66"),
			test.A("evil.example.org. 86400 IN A 203.0.113.66"),
			test.CNAME("victim.example.org. 86400 IN CNAME evil.example.com."))
		m.Extra = []dns.RR{test.A("ns.example.org. 86400 IN A 203.0.113.66")}
	case "wrong-question":
		m.Question[0].Name = "evil.example.com."
		m.Answer = []dns.RR{test.A("www.example.net. 60 IN A 203.0.113.66")}
	case "wrong-id":
		good()
		for _, rr := range m.Answer {
			rr.(*dns.A).A = net.ParseIP("203.0.113.66")
		}
		m.Id++
	}
	w.WriteMsg(m)
}

const faultCorefile = `example.org:{{PORT}} {
    bind 127.0.0.1
    flatten {
        all
        resolver %s
        %s
    }
    file {{DIR}}/db.aliases.example.org example.org
}
`

// Every question gets a reply within a bounded time with the right rcode and extended error,
// whatever the target's server does: nothing, errors, truncation then a failing TCP, lost
// datagrams, slowness beyond the client's patience.
func TestFaults(t *testing.T) {
	t.Parallel()
	fs := newFaultServer(t)
	for _, tc := range []struct {
		mode, rcode, ede string
	}{
		{"timeout", "SERVFAIL", "23: lookup of target www.example.net. A failed: " + "127.0.0.1"},
		{"servfail", "SERVFAIL", "22: lookup of target www.example.net. A answered SERVFAIL"},
		{"refused", "SERVFAIL", "22: lookup of target www.example.net. A answered REFUSED (resolver 127.0.0.1:"},
		{"formerr", "SERVFAIL", "22: lookup of target www.example.net. A answered FORMERR"},
		{"tc-then-tcp-fails", "SERVFAIL", "23: lookup of target www.example.net. A failed: "},
		{"slow", "SERVFAIL", "23: lookup of target www.example.net. A failed: "},
		{"wrong-question", "SERVFAIL", "23: lookup of target www.example.net. A failed: "},
		{"wrong-id", "SERVFAIL", "23: lookup of target www.example.net. A failed: "},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			fs.set(tc.mode)
			s := start(t, fmt.Sprintf(faultCorefile, fs.addr, "ttl 1 3600"))
			began := time.Now()
			m := s.query(t, "udp", "example.org.", dns.TypeA)
			if took := time.Since(began); took > 4*time.Second {
				t.Errorf("reply took %s", took)
			}
			if got, e := dns.RcodeToString[m.Rcode], edeOf(m); got != tc.rcode || !strings.HasPrefix(e, tc.ede) || len(m.Answer) != 0 {
				t.Errorf("rcode %s, extended error %q, answer %v; want %s with %q...", got, e, m.Answer, tc.rcode, tc.ede)
			}
		})
	}
	t.Run("drop-half", func(t *testing.T) {
		// Every other datagram is lost: the question is sent again after a timeout, so every
		// client gets the answer, a little late, and none a SERVFAIL.
		fs.set("drop-half")
		s := start(t, fmt.Sprintf(faultCorefile, fs.addr, "stale 0\n        ttl 1 1"))
		s.waitLog(t, "audit of example.org.") // its questions done: the client's are alone now
		before := fs.count.Load()
		for i := range 4 {
			m := s.query(t, "udp", "example.org.", dns.TypeA)
			if got := answer(m); got != "NOERROR example.org. 1 A 192.0.2.10" {
				t.Errorf("question %d: %s %q; want NOERROR example.org. 1 A 192.0.2.10", i, got, edeOf(m))
			}
			time.Sleep(1100 * time.Millisecond) // let the 1 s entry expire, so the next one is asked
		}
		if sent := fs.count.Load() - before; sent < 6 {
			t.Errorf("%d datagrams for 4 questions: too few were lost for the test to tell", sent)
		}
	})
}

// Records off the chain, answers to another question or with another ID never reach a client or
// the cache.
func TestNoPoisoning(t *testing.T) {
	t.Parallel()
	fs := newFaultServer(t)
	fs.set("hostile")
	s := startHere(t, fmt.Sprintf(faultCorefile, fs.addr, "ttl 1 3600"))
	for _, network := range []string{"udp", "tcp"} {
		check(t, s.query(t, network, "example.org.", dns.TypeA), test.Case{Qname: "example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("example.org. 60 IN A 192.0.2.10")}}, "")
	}
	// The injected names are not in the cache: they are answered by the zone (NXDOMAIN), as before.
	for _, name := range []string{"evil.example.org.", "victim.example.org.", "ns.example.org."} {
		if m := s.query(t, "udp", name, dns.TypeA); m.Rcode != dns.RcodeNameError || len(m.Answer) != 0 {
			t.Errorf("%s: %s", name, answer(m))
		}
	}
	fs.set("wrong-id")
	s2 := startHere(t, fmt.Sprintf(faultCorefile, fs.addr, "ttl 1 3600"))
	if m := s2.query(t, "udp", "example.org.", dns.TypeA); strings.Contains(answer(m), "203.0.113.66") {
		t.Errorf("a reply with another ID was used: %s", answer(m))
	}
}
