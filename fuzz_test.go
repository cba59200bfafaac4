package flatten

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/resolver"

	"github.com/miekg/dns"
)

// wireLookup answers every lookup of a name outside the zones with a fixed (fuzzed) message, or
// fails when it has none.
type wireLookup struct{ m *dns.Msg }

func (l wireLookup) Lookup(_ context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	if l.m == nil {
		return nil, "", errors.New("unparsable upstream reply")
	}
	m := l.m.Copy()
	m.Question = []dns.Question{{Name: name, Qtype: qtype, Qclass: dns.ClassINET}}
	return m, "", nil
}

// fuzzSeeds are answers as the rest of the chain and upstreams give them, good and hostile.
func fuzzSeeds() [][]byte {
	msgs := [][]dns.RR{
		{test.CNAME("example.org. 300 IN CNAME www.example.net."), test.A("www.example.net. 60 IN A 192.0.2.10")},
		{test.CNAME("ExAmPlE.oRg. 300 IN CNAME WWW.example.net."), test.A("www.EXAMPLE.net. 60 IN A 192.0.2.10")},
		{test.CNAME("example.org. 300 IN CNAME a.example.net."), test.CNAME("a.example.net. 300 IN CNAME example.org.")},
		{test.CNAME("example.org. 300 IN CNAME example.org.")},
		{test.CNAME("example.org. 300 IN CNAME a.example.net."), test.CNAME("example.org. 300 IN CNAME b.example.net.")},
		{test.CNAME("example.org. 300 IN CNAME www.example.net."), test.A("evil.example.com. 60 IN A 203.0.113.66"), test.A("example.org. 60 IN A 203.0.113.66")},
		append(hops(40), test.CNAME("example.org. 1 IN CNAME h0.example.org.")),
	}
	seeds := make([][]byte, 0, len(msgs)+1)
	for i, answer := range msgs {
		m := new(dns.Msg)
		m.SetQuestion("example.org.", dns.TypeA)
		m.Response = true
		m.Answer = answer
		if i == 2 {
			m.Rcode = dns.RcodeServerFailure
		}
		b, _ := m.Pack()
		seeds = append(seeds, b)
	}
	// A compression pointer that points at itself.
	seeds = append(seeds, []byte{0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1, 0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 0x12})
	return seeds
}

// FuzzServeDNS feeds the handler arbitrary answers from the rest of the plugin chain (first) and
// from upstream (second). Whatever they hold, every question gets exactly one well-formed reply to
// that question, and a flattened reply holds only records of the question's type owned by the
// question's name: no CNAME, nothing from off the chain. Both answer at once, so no question may
// wait as long as the shortest timer the plugin sets (the resolver's timeout for one question).
func FuzzServeDNS(f *testing.F) {
	seeds := fuzzSeeds()
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], uint8(i))
	}
	f.Fuzz(func(t *testing.T, first, upstream []byte, mode uint8) {
		next := new(dns.Msg)
		if next.Unpack(first) != nil {
			return
		}
		var up *dns.Msg
		if m := new(dns.Msg); m.Unpack(upstream) == nil {
			up = m
		}
		r := new(dns.Msg)
		qname := "example.org."
		if len(next.Question) == 1 {
			if _, ok := dns.IsDomainName(next.Question[0].Name); ok {
				qname = next.Question[0].Name
			}
		}
		qtype := []uint16{dns.TypeA, dns.TypeAAAA}[mode&1]
		r.SetQuestion(qname, qtype)
		if mode&2 != 0 {
			r.SetEdns0(1232, mode&4 != 0)
		}

		// The question's name is the zone: its own answers come from next, every target outside it
		// from the fuzzed upstream.
		cfg := defaults(chain.Zones{strings.ToLower(dns.Fqdn(qname))})
		cfg.mode = []Mode{All, Apex, All}[int(mode>>3)%3]
		cfg.maxChain = 1 + int(mode>>5)
		fl := newFlatten(cfg, handlerFunc(func(_ context.Context, w dns.ResponseWriter, req *dns.Msg) (int, error) {
			m := next.Copy()
			m.Id, m.Response, m.Question = req.Id, true, req.Question
			w.WriteMsg(m)
			return dns.RcodeSuccess, nil
		}), block{outside: wireLookup{up}})
		defer fl.stop()

		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		// A watchdog, not a speed check: a question that waits as long as the shortest timer the
		// plugin sets, or never returns, is reported with its input.
		var rcode int
		done := make(chan struct{})
		go func() {
			defer close(done)
			rcode, _ = fl.ServeDNS(context.Background(), rec, r)
		}()
		select {
		case <-done:
		case <-time.After(resolver.Timeout):
			t.Fatalf("no reply after %v although every answer came at once: the question waits on a timer", resolver.Timeout)
		}
		if rec.Msg == nil {
			if rcode != dns.RcodeServerFailure && rcode != dns.RcodeRefused {
				t.Fatalf("nothing written, rcode %d", rcode)
			}
			return
		}
		reply := rec.Msg
		if reply.Id != r.Id || len(reply.Question) != 1 || reply.Question[0] != r.Question[0] {
			t.Fatalf("reply to another question: %v", reply.Question)
		}
		if _, err := reply.Pack(); err != nil {
			t.Fatalf("reply does not pack: %v", err)
		}
		answer := next.Copy()
		answer.Question = r.Question
		if !chain.StartsChain(answer, qname) {
			return
		}
		if mode&4 != 0 && mode&2 != 0 && slices.ContainsFunc(answer.Answer, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeRRSIG }) {
			return // pre-signed and DO: the chain goes out unchanged by design
		}
		for _, rr := range reply.Answer {
			if rr.Header().Name != qname || rr.Header().Rrtype != qtype {
				t.Fatalf("flattened reply holds %s", rr)
			}
		}
	})
}

// FuzzParse feeds the Corefile parser arbitrary flatten blocks: it returns a config or an error,
// never panics, and a config it returns is within bounds.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "example.org", "{\n all\n}", "{\n names www.example.org\n max_chain 12\n}",
		"{\n alias example.org www.example.net\n resolver 127.0.0.1:53 [::1]:5353\n ttl 5 60\n cache 100\n stale 1h\n dangling nxdomain\n audit 0\n}",
		"{\n max_chain 99999999999999999999\n}", "{\n ttl 10 5\n}", "{\n alias\n}", "example..org", "{\n names \"\"\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		c := caddy.NewTestController("dns", "flatten "+input)
		c.ServerBlockKeys = []string{"example.org."}
		cfg, err := parse(c)
		if err != nil {
			return
		}
		if cfg.maxChain < 1 || cfg.maxChain > maxMaxChain || cfg.minTTL > cfg.maxTTL || cfg.maxTTL == 0 || cfg.cacheSize < 1 ||
			cfg.maxLookups < 1 || len(cfg.zones) == 0 {
			t.Fatalf("out-of-bounds config from %q: %+v", input, cfg)
		}
		newFlatten(cfg, nil, block{}).stop() // every config builds
	})
}
