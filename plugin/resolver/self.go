package resolver

import (
	"context"
	"strings"

	"github.com/miekg/dns"
)

// Self asks the CoreDNS server the plugin runs in at its own address, over the network, as
// CoreDNS's loop plugin asks itself: for work done with no client question in hand (the audit's
// questions about names outside the zones, a zone transfer's expansion), where the server cannot
// be asked in memory.
type Self struct {
	addr     string
	udp, tcp *dns.Client
}

// NewSelf returns a Self asking addr (host:port).
func NewSelf(addr string) *Self {
	return &Self{addr: addr,
		udp: &dns.Client{Net: "udp", UDPSize: BufSize, Timeout: Timeout},
		tcp: &dns.Client{Net: "tcp", Timeout: Timeout}}
}

// Exchange asks q over UDP, and again over TCP when the reply is truncated. A reply that does not
// answer the question asked is ErrMismatch.
func (s *Self) Exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	m, _, err := s.udp.ExchangeContext(ctx, q, s.addr)
	if err == nil && m.Truncated {
		m, _, err = s.tcp.ExchangeContext(ctx, q, s.addr)
	}
	if err == nil && (len(m.Question) != 1 || !strings.EqualFold(m.Question[0].Name, q.Question[0].Name)) {
		err = ErrMismatch
	}
	return m, err
}
