package flatten

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

func withECS(r *dns.Msg, family uint16, bits uint8, addr string) *dns.Msg {
	r.IsEdns0().Option = append(r.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: bits, Address: net.ParseIP(addr)})
	return r
}

// A client's subnet is capped (RFC 7871 11.1) before it goes on; a client that sent none has none
// unless the client's own address is asked for.
func TestClientSubnetCapped(t *testing.T) {
	w := &test.ResponseWriter{} // 10.240.0.1 over UDP
	for _, tc := range []struct {
		name   string
		r      *dns.Msg
		own    bool
		want   string // the prefix sent on; "" for none
		echoed bool
	}{
		{name: "v4 /32 capped to /24", r: withECS(ednsQuestion("a.", dns.TypeA), 1, 32, "192.0.2.77"), want: "192.0.2.0/24", echoed: true},
		{name: "v4 /16 kept", r: withECS(ednsQuestion("a.", dns.TypeA), 1, 16, "192.0.2.77"), want: "192.0.0.0/16", echoed: true},
		{name: "v6 /64 capped to /56", r: withECS(ednsQuestion("a.", dns.TypeA), 2, 64, "2001:db8:1:2:3::1"), want: "2001:db8:1::/56", echoed: true},
		{name: "none", r: ednsQuestion("a.", dns.TypeA)},
		{name: "none, but the client's address", r: ednsQuestion("a.", dns.TypeA), own: true, want: "10.240.0.0/24"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sn := clientSubnet(w, tc.r, tc.own)
			switch {
			case tc.want == "" && sn != nil:
				t.Errorf("subnet %v, want none", sn.prefix)
			case tc.want != "" && (sn == nil || sn.prefix.String() != tc.want || (sn.sent != nil) != tc.echoed):
				t.Errorf("subnet %+v, want %s (echoed %v)", sn, tc.want, tc.echoed)
			}
		})
	}
}

// Entries are stored per scope: a client network finds the entry whose scope covers it, or the
// one for every client (scope 0), never another network's.
func TestStoreScopes(t *testing.T) {
	s := newStore(100)
	a := &subnet{prefix: netip.MustParsePrefix("10.1.2.0/24")}
	b := &subnet{prefix: netip.MustParsePrefix("198.51.100.0/24")}
	ea := &entry{name: "geo.example.net.", qtype: dns.TypeA, scope: a.scoped(16)}
	s.put(ea)
	if got := s.get("geo.example.net.", dns.TypeA, &subnet{prefix: netip.MustParsePrefix("10.1.99.0/24")}); got != ea {
		t.Errorf("10.1.99.0/24 is in ea's scope 10.1.0.0/16: got %v", got)
	}
	if got := s.get("geo.example.net.", dns.TypeA, b); got != nil {
		t.Errorf("another network got %v", got)
	}
	all := &entry{name: "geo.example.net.", qtype: dns.TypeA}
	s.put(all)
	if got := s.get("geo.example.net.", dns.TypeA, b); got != all {
		t.Errorf("the entry for every client: got %v", got)
	}
	if got := s.get("geo.example.net.", dns.TypeA, a); got != ea {
		t.Errorf("the scoped entry comes first: got %v", got)
	}
	if got := s.get("geo.example.net.", dns.TypeA, nil); got != all {
		t.Errorf("a question without a subnet: got %v", got)
	}
}

// With ecs, each client network gets its own answer from the resolver, and the reply carries the
// scope it holds for.
func TestECSAnswers(t *testing.T) {
	u := &ecsBackend{}
	f, _ := newTest(t, apexNext, u, func(c *config) {
		c.resolvers, c.ecs = []string{"192.0.2.53:53"}, true
		c.aliases = map[string]string{"example.org.": "geo.example.net."}
	})
	for range 2 {
		for _, c := range []struct{ net, addr, scope string }{{"10.1.2.0", "192.0.2.101", "10.1.2.0/24/24"}, {"198.51.100.0", "198.51.100.201", "198.51.100.0/24/24"}} {
			m := serve(t, f, withECS(ednsQuestion("example.org.", dns.TypeA), 1, 24, c.net))
			if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != c.addr {
				t.Fatalf("%s: %v", c.net, m)
			}
			if got := ecsOf(m); got != c.scope {
				t.Errorf("%s: ECS %q, want %q", c.net, got, c.scope)
			}
		}
	}
	if u.calls != 2 {
		t.Errorf("lookups %d, want one per network", u.calls)
	}
}

func ecsOf(m *dns.Msg) string {
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
				return e.Address.String() + "/" + itoa(int(e.SourceNetmask)) + "/" + itoa(int(e.SourceScope))
			}
		}
	}
	return ""
}

// ecsBackend answers geo.example.net by the client subnet its lookup carries, with scope /24.
type ecsBackend struct{ calls int }

func (b *ecsBackend) lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	b.calls++
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Response = true
	addr := "198.51.100.201"
	sn := subnetOf(ctx)
	if sn != nil && netip.MustParsePrefix("10.0.0.0/8").Contains(sn.prefix.Addr()) {
		addr = "192.0.2.101"
	}
	m.Answer = []dns.RR{test.A(name + " 60 IN A " + addr)}
	if sn != nil {
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, sn.option(24))
	}
	return m, "", nil
}

// ednsQuestion returns a question with EDNS.
func ednsQuestion(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, false)
	return m
}
