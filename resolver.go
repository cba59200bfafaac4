package flatten

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// resolver resolves targets by asking DNS servers directly (the resolver option), with miekg/dns's
// client: UDP first, TCP when the reply is truncated, the next address when one fails.
type resolver struct {
	addrs    []string
	udp, tcp *dns.Client
}

// resolverTimeout bounds one exchange with one address.
const resolverTimeout = 2 * time.Second

// resolverBudget bounds one lookup across all addresses: a client gets its reply (or a stale
// answer) well within the 5 s most stub resolvers wait.
const resolverBudget = 4 * time.Second

// resolverBufSize is the EDNS buffer size of questions to resolvers (the DNS flag day 2020 value,
// which avoids fragmentation; larger answers come over TCP).
const resolverBufSize = 1232

func newResolver(addrs []string) *resolver {
	return &resolver{
		addrs: addrs,
		udp:   &dns.Client{Net: "udp", Timeout: resolverTimeout, UDPSize: resolverBufSize},
		tcp:   &dns.Client{Net: "tcp", Timeout: resolverTimeout},
	}
}

// Lookup implements Lookuper. It returns the first usable reply; a SERVFAIL or REFUSED makes it try
// the next address, and is returned when every address gave one.
func (r *resolver) Lookup(ctx context.Context, _ request.Request, name string, qtype uint16) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, resolverBudget)
	defer cancel()
	req := new(dns.Msg)
	req.SetQuestion(dns.Fqdn(name), qtype)
	req.SetEdns0(resolverBufSize, false)
	var (
		last    *dns.Msg
		lastErr error
	)
	for _, addr := range r.addrs {
		m, err := r.exchange(ctx, req, addr)
		switch {
		case err != nil:
			lastErr = err
		case m.Rcode == dns.RcodeServerFailure || m.Rcode == dns.RcodeRefused:
			last = m
		default:
			return m, nil
		}
		if ctx.Err() != nil {
			break // the budget is spent
		}
	}
	if last != nil {
		return last, nil
	}
	return nil, lastErr
}

func (r *resolver) exchange(ctx context.Context, req *dns.Msg, addr string) (*dns.Msg, error) {
	m, _, err := r.udp.ExchangeContext(ctx, req, addr)
	if err == nil && m.Truncated {
		m, _, err = r.tcp.ExchangeContext(ctx, req, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	if err := checkReply(req, m); err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return m, nil
}

// errMismatch is a reply that does not answer the question asked: it is never used.
var errMismatch = errors.New("reply does not match the question")

// checkReply rejects a reply that is not a response to req's question. The client already drops
// replies with another ID over UDP and fails them over TCP.
func checkReply(req, m *dns.Msg) error {
	if !m.Response || m.Opcode != dns.OpcodeQuery || len(m.Question) != 1 {
		return errMismatch
	}
	q, a := req.Question[0], m.Question[0]
	if q.Qtype != a.Qtype || q.Qclass != a.Qclass || !equalFold(q.Name, a.Name) {
		return errMismatch
	}
	return nil
}

// NewResolver returns a Lookuper that asks the DNS servers at addrs (host:port) directly, as the
// resolver option does. The state argument of its Lookup is not used.
func NewResolver(addrs []string) Lookuper { return newResolver(addrs) }
