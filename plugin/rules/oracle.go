package rules

// Questions to the Oracle, each asked once, and the checks that need them run many at a time.

import (
	"cmp"
	"context"
	"errors"
	"net"
	"slices"
	"sync"

	"github.com/miekg/dns"
)

// asker asks the Oracle each question (name and type) once, however many checks need the answer.
type asker struct {
	oracle Oracle
	ctx    context.Context
	mu     sync.Mutex
	calls  map[question]*call
}

type question struct {
	name  string
	qtype uint16
}

type call struct {
	done chan struct{}
	m    *dns.Msg
	err  error
	// failed says the question got no answer a check can use, twice: the check was not made.
	failed bool
}

func newAsker(ctx context.Context, o Oracle) *asker {
	return &asker{oracle: o, ctx: ctx, calls: map[question]*call{}}
}

var errNoAnswer = errors.New("no answer")

// lookup returns the Oracle's answer, asking it when no other check has.
func (a *asker) lookup(name string, qtype uint16) (*dns.Msg, error) {
	q := question{dns.CanonicalName(name), qtype}
	a.mu.Lock()
	c, ok := a.calls[q]
	if !ok {
		c = &call{done: make(chan struct{})}
		a.calls[q] = c
	}
	a.mu.Unlock()
	if ok {
		<-c.done
		return c.m, c.err
	}
	for range 2 { // a question that failed is asked once more: a lost datagram
		c.m, c.err = a.oracle.Lookup(a.ctx, name, qtype)
		if c.err == nil && c.m == nil {
			c.err = errNoAnswer
		}
		if !unusable(c.m, c.err) || a.ctx.Err() != nil || errors.Is(c.err, ErrNotAsked) {
			break
		}
	}
	c.failed = unusable(c.m, c.err) && a.ctx.Err() == nil && !errors.Is(c.err, ErrNotAsked)
	close(c.done)
	return c.m, c.err
}

// WithoutSource returns err without the local address of a network error in it ("read udp
// 127.0.0.1:40340->192.0.2.53:53: i/o timeout" is "read udp 192.0.2.53:53: i/o timeout"): the
// port changes with every question, so errors that are the same read the same.
func WithoutSource(err error) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Source == nil {
		return err
	}
	c := *op
	c.Source = nil
	return &c
}

// ErrNotAsked, wrapped in an Oracle's error, says it has no way to ask about the name at all (a
// server that resolves no name outside its zones): the name is left unchecked, as without an
// Oracle, rather than counted as a question that failed.
var ErrNotAsked = errors.New("no way to ask about names outside the zones")

// ErrEmpty is returned by ParseZone for a text that holds neither a record nor a problem: an empty
// file, or one of only comments and directives. A linter says so instead of reporting it clean.
var ErrEmpty = errors.New("empty: it holds no records")

// ErrNotText is returned by ParseZone for an input with bytes no zone file holds (NUL or other
// control characters near its start): it is said once instead of read as lines of records.
var ErrNotText = errors.New("not a zone file: it holds binary data")

// notAsked returns the names the Oracle had no way to ask about.
func (a *asker) notAsked() []string {
	var out []string
	a.answered(func(q question, c *call) {
		if errors.Is(c.err, ErrNotAsked) {
			out = append(out, q.name)
		}
	})
	return out
}

// answered calls fn for every question the Oracle has answered (or failed) by now.
func (a *asker) answered(fn func(question, *call)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for q, c := range a.calls {
		select {
		case <-c.done:
			fn(q, c)
		default:
		}
	}
}

// unusable reports whether an Oracle's answer says nothing of the name: an error, or a failure
// code (SERVFAIL, REFUSED, ...) rather than an answer or NXDOMAIN.
func unusable(m *dns.Msg, err error) bool {
	return err != nil || m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError
}

// Failure is a name outside the zones that a check needed an answer about and got none (the
// Oracle failed, twice): the check was not made, and its finding, if any, is unknown.
type Failure struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Error string `json:"error"`
	// Owner is a name of the zones whose check needed it, and File and Line where its record is,
	// when the zone was read from text.
	Owner string `json:"owner,omitempty"`
	File  string `json:"file,omitempty"`
	Line  int    `json:"line,omitempty"`
}

// failures returns the questions that failed, by name and type.
func (a *asker) failures() []Failure {
	var out []Failure
	a.answered(func(q question, c *call) {
		if !c.failed {
			return
		}
		text := "no answer"
		switch {
		case c.err != nil:
			text = WithoutSource(c.err).Error()
		case c.m != nil:
			text = "answered " + dns.RcodeToString[c.m.Rcode]
		}
		out = append(out, Failure{Name: q.name, Type: dns.TypeToString[q.qtype], Error: text})
	})
	slices.SortFunc(out, func(a, b Failure) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type)) })
	return out
}

// runTasks runs the checks that ask the Oracle, Config.Parallel at a time; each keeps its findings
// in its slot, so that the order does not depend on which answer came first.
func (c *checker) runTasks() {
	n := 0
	for _, s := range c.slots {
		if s.task != nil {
			n++
		}
	}
	if n == 0 {
		return
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(c.cfg.Parallel, n) {
		wg.Go(func() {
			for i := range work {
				c.slots[i].found = c.slots[i].task()
			}
		})
	}
feed:
	for i := range c.slots {
		if c.slots[i].task == nil {
			continue
		}
		select {
		case work <- i:
		case <-c.ctx.Done():
			break feed // the checks not begun are left out
		}
	}
	close(work)
	wg.Wait()
}
