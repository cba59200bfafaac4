package flatten

// What the audit's rules asked about names outside the zones, and what came back, so that it can
// ask again every audit interval and check again when an answer changed: a CNAME target that
// stops existing is a subdomain-takeover risk before any client asks for the alias.

import (
	"context"
	"maps"
	"sync"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// question is a name and type asked.
type question struct {
	name  string
	qtype uint16
}

// recorder is a rules.Oracle that remembers each question's outcome: its rcode, or -1 when it
// failed.
type recorder struct {
	o    rules.Oracle
	mu   sync.Mutex
	seen map[question]int
}

// Lookup implements rules.Oracle.
func (r *recorder) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m, err := r.o.Lookup(ctx, name, qtype)
	r.mu.Lock()
	r.seen[question{lowerASCII(name), qtype}] = outcome(m, err)
	r.mu.Unlock()
	return m, err
}

// reset forgets every question: a new check asks its own.
func (r *recorder) reset() {
	r.mu.Lock()
	clear(r.seen)
	r.mu.Unlock()
}

// changed asks every recorded question again and reports whether any outcome differs.
func (r *recorder) changed(ctx context.Context) bool {
	r.mu.Lock()
	seen := maps.Clone(r.seen)
	r.mu.Unlock()
	diff := false
	for q, was := range seen {
		if ctx.Err() != nil {
			return false
		}
		m, err := r.o.Lookup(ctx, q.name, q.qtype)
		if outcome(m, err) != was {
			diff = true
		}
	}
	return diff
}

func outcome(m *dns.Msg, err error) int {
	if err != nil || m == nil {
		return -1
	}
	return m.Rcode
}
