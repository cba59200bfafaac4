package audit

// What the audit's rules asked about names outside the zones, and what came back, so that it can
// ask again every audit interval and check again when an answer changed: a CNAME target that
// stops existing is a subdomain-takeover risk before any client asks for the alias.

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// question is a name and type asked: of the Oracle, or, when server is set, of that name server
// directly (a Prober's probe).
type question struct {
	name   string
	qtype  uint16
	server string
}

// recorder is a rules.Oracle that remembers each question's outcome: its rcode, or -1 when it
// failed. It also keeps each answer for up to keep (the audit interval), so that the check a zone
// change queues asks again only the names it has not asked within the interval: a service change
// in a cluster of thousands of aliases then costs questions in proportion to what changed. The
// answers are no older than they would be anyway: every interval, changed asks them all again.
type recorder struct {
	o rules.Oracle
	// p, when set, probes name servers for the lame-delegation rule; its outcomes are recorded and
	// asked again as the Oracle's are (a delegation turns lame when the zone is deleted at its DNS
	// host, with no change in this zone).
	p    rules.Prober
	keep time.Duration
	// live reports the names whose answers are never kept: those answered in memory from a zone
	// that changes with the services (see kubewatch.go), which are cheap to ask.
	live func(name string) bool
	mu   sync.Mutex
	seen map[question]int
	kept map[question]kept
}

// kept is an answer the next check may use.
type kept struct {
	m  *dns.Msg
	at time.Time
}

// newRecorder returns a recorder asking o, keeping answers for keep (none when 0) but of the names
// live reports.
func newRecorder(o rules.Oracle, keep time.Duration, live func(string) bool) *recorder {
	return &recorder{o: o, keep: keep, live: live, seen: map[question]int{}, kept: map[question]kept{}}
}

// Lookup implements rules.Oracle.
func (r *recorder) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	q := question{name: chain.Lower(name), qtype: qtype}
	keep := r.keeps(name)
	if keep {
		r.mu.Lock()
		k, ok := r.kept[q]
		if ok && time.Since(k.at) < r.keep {
			r.seen[q] = outcome(k.m, nil)
			r.mu.Unlock()
			return k.m, nil
		}
		r.mu.Unlock()
	}
	m, err := r.o.Lookup(ctx, name, qtype)
	r.mu.Lock()
	r.seen[q] = outcome(m, err)
	if keep {
		r.holdLocked(q, m, err)
	}
	r.mu.Unlock()
	return m, err
}

// Probe implements rules.Prober. Probes are never kept: a check asks them again.
func (r *recorder) Probe(ctx context.Context, server, name string, qtype uint16) (*dns.Msg, error) {
	m, err := r.p.Probe(ctx, server, name, qtype)
	r.mu.Lock()
	r.seen[question{name: chain.Lower(name), qtype: qtype, server: chain.Lower(server)}] = outcome(m, err)
	r.mu.Unlock()
	return m, err
}

// ask asks q again, of the Oracle or of its name server.
func (r *recorder) ask(ctx context.Context, q question) (*dns.Msg, error) {
	if q.server != "" {
		return r.p.Probe(ctx, q.server, q.name, q.qtype)
	}
	return r.o.Lookup(ctx, q.name, q.qtype)
}

// keeps reports whether the answers for name are kept.
func (r *recorder) keeps(name string) bool {
	return r.keep > 0 && (r.live == nil || !r.live(name))
}

// holdLocked keeps the answer to q when it is a definite one (NOERROR or NXDOMAIN): a failure is
// asked again by the next check. r.mu is held.
func (r *recorder) holdLocked(q question, m *dns.Msg, err error) {
	if err == nil && m != nil && (m.Rcode == dns.RcodeSuccess || m.Rcode == dns.RcodeNameError) {
		r.kept[q] = kept{m: m, at: time.Now()}
	}
}

// reset forgets every question, so a new check records its own, and the answers too old to use.
func (r *recorder) reset() {
	r.mu.Lock()
	clear(r.seen)
	for q, k := range r.kept {
		if time.Since(k.at) >= r.keep {
			delete(r.kept, q)
		}
	}
	r.mu.Unlock()
}

// recheckParallel is how many recorded questions changed asks at a time: probes of name servers
// that do not answer cost seconds each, and the audit's pass waits for changed.
const recheckParallel = 8

// changed asks the recorded questions again, recheckParallel at a time, and reports whether any
// outcome differs; it stops at the first that does (the check it causes asks everything again).
func (r *recorder) changed(ctx context.Context) bool {
	r.mu.Lock()
	seen := maps.Clone(r.seen)
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		diff atomic.Bool
		wg   sync.WaitGroup
		sem  = make(chan struct{}, recheckParallel)
	)
	for q, was := range seen {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			m, err := r.ask(ctx, q)
			if ctx.Err() != nil {
				return // stopped: the outcome says nothing
			}
			if q.server == "" && r.keeps(q.name) {
				r.mu.Lock()
				r.holdLocked(q, m, err) // the outcome stays the check's, to compare with until the next check
				r.mu.Unlock()
			}
			if outcome(m, err) != was {
				diff.Store(true)
				cancel()
			}
		})
	}
	wg.Wait()
	return diff.Load()
}

// outcome is what the rules see of a reply: its rcode, with NODATA told apart from an answer (a
// target whose addresses went, a name server that stopped answering the zone's SOA), or -1 when
// the question failed.
func outcome(m *dns.Msg, err error) int {
	switch {
	case err != nil || m == nil:
		return -1
	case m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0:
		return noData
	}
	return m.Rcode
}

// noData is the outcome of a NOERROR reply with no answer; rcodes fit in 12 bits (RFC 6891 6.1.3).
const noData = 1 << 12
