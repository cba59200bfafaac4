package target

import (
	"net"
	"net/netip"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

func ednsQuestion(name string, qtype uint16) *dns.Msg {
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	r.SetEdns0(1232, false)
	return r
}

func withECS(r *dns.Msg, family uint16, bits uint8, addr string) *dns.Msg {
	r.IsEdns0().Option = append(r.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: bits, Address: net.ParseIP(addr)})
	return r
}

// A client's subnet is capped (RFC 7871 11.1) before it goes on; a client that sent none has none
// unless the client's own address is asked for.
func TestClientSubnetCapped(t *testing.T) {
	t.Parallel()
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
			sn := ClientSubnet(w, tc.r, tc.own)
			switch {
			case tc.want == "" && sn != nil:
				t.Errorf("subnet %v, want none", sn.prefix)
			case tc.want != "" && (sn == nil || sn.prefix.String() != tc.want || (sn.Sent != nil) != tc.echoed):
				t.Errorf("subnet %+v, want %s (echoed %v)", sn, tc.want, tc.echoed)
			}
		})
	}
}

// Entries are stored per scope: a client network finds the entry whose scope covers it, or the
// one for every client (scope 0), never another network's.
func TestStoreScopes(t *testing.T) {
	t.Parallel()
	s := newStore(100)
	a := &Subnet{prefix: netip.MustParsePrefix("10.1.2.0/24")}
	b := &Subnet{prefix: netip.MustParsePrefix("198.51.100.0/24")}
	ea := &Entry{Answer: chain.Answer{Name: "geo.example.net.", Qtype: dns.TypeA}, Scope: a.scoped(16)}
	s.put(ea)
	if got := s.get("geo.example.net.", dns.TypeA, &Subnet{prefix: netip.MustParsePrefix("10.1.99.0/24")}); got != ea {
		t.Errorf("10.1.99.0/24 is in ea's scope 10.1.0.0/16: got %v", got)
	}
	if got := s.get("geo.example.net.", dns.TypeA, b); got != nil {
		t.Errorf("another network got %v", got)
	}
	all := &Entry{Answer: chain.Answer{Name: "geo.example.net.", Qtype: dns.TypeA}}
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
