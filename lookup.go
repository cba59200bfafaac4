package flatten

import (
	"context"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/pkg/upstream"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// Lookuper resolves one name and type for the chain walk. It returns the reply as received, or
// (nil, nil) when nothing answered. The signature is CoreDNS's own (plugin/pkg/upstream), so that
// unit tests and other resolvers can stand in for it.
type Lookuper interface {
	Lookup(ctx context.Context, state request.Request, name string, qtype uint16) (*dns.Msg, error)
}

// self resolves through this same server, from the top of the server block's plugin chain, the way
// the file plugin resolves out-of-zone CNAME targets (CoreDNS's upstream package).
type self struct{ up *upstream.Upstream }

// lookupSize is the EDNS buffer size of a self-lookup: the reply stays inside this process, so it
// must not be cut to the client's buffer size before it is flattened. The client's reply is cut
// (and flagged TC) by the server's scrub writer, as any other.
const lookupSize = dns.MaxMsgSize

// Lookup sends a question for name and qtype through the server that received state's question.
// It resets CoreDNS's loop counter (dnsserver.LoopKey): each lookup continues a chain the plugin
// bounds itself with max_chain, and must not inherit a depth at which the file plugin refuses to
// chase further.
func (s self) Lookup(ctx context.Context, state request.Request, name string, qtype uint16) (*dns.Msg, error) {
	req := new(dns.Msg)
	req.SetQuestion(name, qtype)
	req.SetEdns0(lookupSize, false)
	ctx = context.WithValue(ctx, dnsserver.LoopKey{}, 0)
	return s.up.Lookup(ctx, request.Request{W: state.W, Req: req}, name, qtype)
}
