// Package probe asks a zone's name servers directly, without recursion, whether they serve it:
// the lame-delegation rule of plugin/rules (RFC 1034 4.2.2, RFC 9499 7). The server's audit and
// cnamelint share it. A name server's addresses come from a recursive resolver (any rules.Oracle),
// found once per Prober; each address is asked in turn until one answers, over UDP and again over
// TCP when the reply is truncated (RFC 7766).
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// Timeout bounds one exchange with one address of a name server.
const Timeout = 2 * time.Second

// ErrMismatch is the error for a reply that does not answer the question asked.
var ErrMismatch = errors.New("the reply does not answer the question")

// Prober implements rules.Prober.
type Prober struct {
	o        rules.Oracle
	port     string
	udp, tcp *dns.Client
	addrs    sync.Map // name server (lower-case) -> *found, its addresses found once
}

// New returns a Prober that finds name servers' addresses through o and asks them on port (53
// when empty; tests move it to a loopback port).
func New(o rules.Oracle, port string) *Prober {
	if port == "" {
		port = "53"
	}
	return &Prober{o: o, port: port,
		udp: &dns.Client{Net: "udp", UDPSize: 1232, Timeout: Timeout},
		tcp: &dns.Client{Net: "tcp", Timeout: Timeout}}
}

// Probe implements rules.Prober: it asks server, by each of its addresses in turn until one
// answers, about name, with recursion not desired.
func (p *Prober) Probe(ctx context.Context, server, name string, qtype uint16) (*dns.Msg, error) {
	addrs := p.resolve(ctx, server)
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s: no address", server)
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.RecursionDesired = false
	q.SetEdns0(1232, false)
	var errs []error
	for _, a := range addrs {
		addr := net.JoinHostPort(a, p.port)
		m, _, err := p.udp.ExchangeContext(ctx, q, addr)
		if err == nil && m.Truncated {
			m, _, err = p.tcp.ExchangeContext(ctx, q, addr)
		}
		if err == nil {
			err = Matches(q, m)
		}
		if err == nil {
			return m, nil
		}
		errs = append(errs, fmt.Errorf("%s at %s: %w", server, addr, err))
	}
	return nil, errors.Join(errs...)
}

// found is a name server's addresses, looked up once by whichever caller comes first.
type found struct {
	once  sync.Once
	addrs []string
}

// lookupBudget bounds the lookup of one name server's addresses (A, then AAAA).
const lookupBudget = 2 * Timeout

// resolve returns the IPv4 and IPv6 addresses of a name server, asking the resolver once (until
// Forget). The lookup does not end with the context of the caller that happens to make it: other
// callers, with contexts of their own, wait for the same result; it has its own time bound.
func (p *Prober) resolve(ctx context.Context, server string) []string {
	server = dns.CanonicalName(server)
	v, _ := p.addrs.LoadOrStore(server, &found{})
	f := v.(*found)
	f.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupBudget)
		defer cancel()
		f.addrs = p.lookup(ctx, server)
	})
	return f.addrs
}

// Forget drops the addresses found so far, so that a long-running caller (the server's audit,
// at each check) follows name servers that moved.
func (p *Prober) Forget() { p.addrs.Clear() }

// lookup asks the resolver for the A and AAAA records of a name server. An authoritative server
// asked about a name server below one of its delegations answers with a referral: the glue in its
// additional section is the address then.
func (p *Prober) lookup(ctx context.Context, server string) []string {
	var addrs []string
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		m, err := p.o.Lookup(ctx, server, t)
		if err != nil {
			continue
		}
		records, glue := m.Answer, false
		if len(records) == 0 {
			records, glue = m.Extra, true // a referral's
		}
		for _, rr := range records {
			if glue && !strings.EqualFold(rr.Header().Name, server) {
				continue
			}
			switch rr := rr.(type) {
			case *dns.A:
				addrs = append(addrs, rr.A.String())
			case *dns.AAAA:
				addrs = append(addrs, rr.AAAA.String())
			}
		}
	}
	return addrs
}

// Matches checks that m is a reply to q: its ID (which the client checks too), and the same
// question.
func Matches(q, m *dns.Msg) error {
	if !m.Response || m.Id != q.Id || len(m.Question) != 1 {
		return ErrMismatch
	}
	a, b := q.Question[0], m.Question[0]
	if !strings.EqualFold(a.Name, b.Name) || a.Qtype != b.Qtype || a.Qclass != b.Qclass {
		return ErrMismatch
	}
	return nil
}
