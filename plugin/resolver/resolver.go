// Package resolver is the client of the flatten plugin's resolver option: it asks DNS servers
// (recursive resolvers) directly, through CoreDNS's own upstream client, plugin/pkg/proxy, which
// keeps connections open and drops replies with another ID. On top of it this package adds what a
// chain walk needs: UDP with an EDNS buffer of 1232 bytes first and TCP when the reply is truncated
// (RFC 7766), the next address when one fails or answers SERVFAIL or REFUSED, the question sent
// again to an address that did not reply (a lost datagram), a reply that must answer the question
// asked, and a time budget across all addresses.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/coredns/coredns/plugin/pkg/proxy"
	"github.com/coredns/coredns/plugin/pkg/transport"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

const (
	// Timeout bounds one exchange with one address. A datagram lost on the way costs this much
	// before the question is sent again, as stub resolvers retransmit (RFC 1123 6.1.3.3).
	Timeout = 1500 * time.Millisecond
	// Budget bounds one question across all addresses: a client gets its reply (or a stale
	// answer) well within the 5 s most stub resolvers wait.
	Budget = 4 * time.Second
	// BufSize is the EDNS buffer size of questions (the DNS flag day 2020 value, which avoids IP
	// fragmentation; larger answers come over TCP).
	BufSize = 1232
)

// Resolver asks the DNS servers at a fixed list of addresses.
type Resolver struct {
	proxies []*proxy.Proxy
}

// New returns a Resolver for addrs (host:port). Start must be called before Exchange.
func New(addrs []string) *Resolver {
	r := &Resolver{}
	for _, a := range addrs {
		p := proxy.NewProxy("flatten", a, transport.DNS)
		p.SetReadTimeout(Timeout)
		r.proxies = append(r.proxies, p)
	}
	return r
}

// Start starts the connection managers; Stop stops them and closes every connection.
func (r *Resolver) Start() {
	for _, p := range r.proxies {
		p.Start(0) // no health checks: a failed address is skipped per question
	}
}

// Stop closes every connection and stops the connection managers (on shutdown and every reload).
// plugin/pkg/proxy leaves its connection manager to a finalizer, which would keep its goroutine
// until a garbage collection after each reload: it is stopped here, and the finalizer dropped.
func (r *Resolver) Stop() {
	for _, p := range r.proxies {
		p.Stop()
		runtime.SetFinalizer(p, nil)
		p.GetTransport().Stop()
	}
}

// Addrs returns the addresses asked, in order.
func (r *Resolver) Addrs() []string {
	out := make([]string, len(r.proxies))
	for i, p := range r.proxies {
		out[i] = p.Addr()
	}
	return out
}

// Question returns a question for name and qtype as the resolver sends it: recursion desired and
// an EDNS buffer of BufSize bytes.
func Question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(BufSize, false)
	return m
}

// ErrMismatch is a reply that does not answer the question asked; it is never used.
var ErrMismatch = errors.New("reply does not answer the question asked")

// Exchange sends req to the addresses in order and returns the first usable reply and the address
// that gave it. A SERVFAIL or REFUSED makes it try the next address, and is returned when every
// address gave one. A truncated reply is asked again over TCP: a reply with TC set is never
// returned. The addresses that gave no reply at all are asked once more while the budget leaves
// room for a whole exchange: over UDP a question or its reply may simply have been lost.
func (r *Resolver) Exchange(ctx context.Context, req *dns.Msg) (*dns.Msg, string, error) {
	ctx, cancel := context.WithTimeout(ctx, Budget)
	defer cancel()
	deadline, _ := ctx.Deadline()
	var (
		last     *dns.Msg
		lastAddr string
		lastErr  error
	)
	ask := r.proxies
	for round := 0; round < 2 && len(ask) > 0; round++ {
		var silent []*proxy.Proxy
		for _, p := range ask {
			if round > 0 && time.Until(deadline) < Timeout {
				break // no room for another whole exchange
			}
			m, err := exchange(ctx, p, req)
			switch {
			case err != nil:
				lastErr = fmt.Errorf("%s: %w", p.Addr(), err)
				silent = append(silent, p)
			case m.Rcode == dns.RcodeServerFailure || m.Rcode == dns.RcodeRefused:
				last, lastAddr = m, p.Addr()
			default:
				return m, p.Addr(), nil
			}
			if ctx.Err() != nil {
				break // the budget is spent
			}
		}
		ask = silent
	}
	if last != nil {
		return last, lastAddr, nil
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return nil, "", lastErr
}

// exchange asks one address: UDP first, TCP when the reply is truncated.
func exchange(ctx context.Context, p *proxy.Proxy, req *dns.Msg) (*dns.Msg, error) {
	state := request.Request{W: client{udp}, Req: req.Copy()} // Connect changes the ID while it asks
	m, _, _, err := p.Connect(ctx, state, proxy.Options{PreferUDP: true})
	if err == nil && m.Truncated {
		state = request.Request{W: client{tcp}, Req: req.Copy()}
		m, _, _, err = p.Connect(ctx, state, proxy.Options{ForceTCP: true})
	}
	switch {
	case err != nil:
		return nil, err
	case m.Truncated:
		return nil, errors.New("reply truncated over TCP")
	case !state.Match(m) || m.Opcode != dns.OpcodeQuery:
		return nil, ErrMismatch
	}
	return m, nil
}

var (
	udp net.Addr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	tcp net.Addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
)

// client is the "client" of a question the plugin asks on its own behalf: plugin/pkg/proxy reads
// only the transport and the buffer size from it.
type client struct{ addr net.Addr }

func (c client) LocalAddr() net.Addr       { return c.addr }
func (c client) RemoteAddr() net.Addr      { return c.addr }
func (c client) WriteMsg(*dns.Msg) error   { return errors.New("not a client connection") }
func (c client) Write([]byte) (int, error) { return 0, errors.New("not a client connection") }
func (c client) Close() error              { return nil }
func (c client) TsigStatus() error         { return nil }
func (c client) TsigTimersOnly(bool)       {}
func (c client) Hijack()                   {}
