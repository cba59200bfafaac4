package target

// Client-subnet-aware lookups (the ecs option, RFC 7871). CDNs answer by the client's network; a
// flattened answer fetched once and served to everyone would send every client to the edge chosen
// for the first. With ecs, a client's EDNS Client Subnet option goes on to the resolver option's
// servers with the lookups of targets outside the zones (its source prefix capped at /24 for IPv4
// and /56 for IPv6, RFC 7871 section 11.1); the answers are cached per the scope prefix the
// resolver returns (scope 0: one entry for every client). A client that sent none gets nothing
// added, unless the operator asks for its own address to be sent ('ecs client_address'): in a
// cluster that address is a pod's.

import (
	"context"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// The longest source prefixes sent on (RFC 7871 section 11.1).
const (
	maxPrefix4 = 24
	maxPrefix6 = 56
)

// Subnet is a client's network as a lookup carries it: the source prefix, its bits kept.
type Subnet struct {
	prefix netip.Prefix
	// Sent is the option the client sent, or nil: the reply then carries it back, with the scope
	// (its family, source prefix and address as sent: RFC 7871 section 7.2.1).
	Sent *dns.EDNS0_SUBNET
}

// Prefix returns the client's network, as sent on.
func (s *Subnet) Prefix() netip.Prefix { return s.prefix }

type subnetKey struct{}

// WithSubnet returns ctx carrying s for the lookups of the question.
func WithSubnet(ctx context.Context, s *Subnet) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, subnetKey{}, s)
}

// SubnetOf returns the subnet ctx carries, or nil.
func SubnetOf(ctx context.Context) *Subnet {
	s, _ := ctx.Value(subnetKey{}).(*Subnet)
	return s
}

// ClientSubnet returns the subnet of the client's question r (or, with own, of the client's
// address w.RemoteAddr), capped, or nil.
func ClientSubnet(w dns.ResponseWriter, r *dns.Msg, own bool) *Subnet {
	if o := r.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
				addr, ok := netip.AddrFromSlice(e.Address)
				if !ok {
					return nil
				}
				s := capped(addr.Unmap(), int(e.SourceNetmask))
				if s != nil {
					s.Sent = e
				}
				return s
			}
		}
	}
	if !own {
		return nil
	}
	var ip net.IP
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return nil
	}
	return capped(addr.Unmap(), 128)
}

// capped returns addr's network of bits, no longer than RFC 7871 section 11.1 allows.
func capped(addr netip.Addr, bits int) *Subnet {
	limit := maxPrefix6
	if addr.Is4() {
		limit = maxPrefix4
	}
	p, err := addr.Prefix(max(0, min(bits, limit)))
	if err != nil {
		return nil
	}
	return &Subnet{prefix: p}
}

// located reports whether s names a network: a subnet of /0 (RFC 7871 7.1.2: the client asks
// that its address not be used) names none.
func (s *Subnet) located() bool { return s != nil && s.prefix.Bits() > 0 }

// scoped returns s's network of scope bits (at most its own).
func (s *Subnet) scoped(scope uint8) netip.Prefix {
	p, _ := s.prefix.Addr().Prefix(min(int(scope), s.prefix.Bits()))
	return p
}

// option returns the EDNS option for s with scope: 0 in a question.
func (s *Subnet) option(scope uint8) *dns.EDNS0_SUBNET {
	family := uint16(1)
	if s.prefix.Addr().Is6() {
		family = 2
	}
	return &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: uint8(s.prefix.Bits()), // #nosec G115 -- at most 128
		SourceScope: scope, Address: s.prefix.Addr().AsSlice()}
}

// replyScope returns the scope prefix length in the ECS option of m, a resolver's reply, or 0.
func replyScope(m *dns.Msg) uint8 {
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
				return e.SourceScope
			}
		}
	}
	return 0
}
