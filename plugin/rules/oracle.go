package rules

// Questions to the Oracle, each asked once, and the checks that need them run many at a time.

import (
	"context"
	"errors"
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
	c.m, c.err = a.oracle.Lookup(a.ctx, name, qtype)
	if c.err == nil && c.m == nil {
		c.err = errNoAnswer
	}
	close(c.done)
	return c.m, c.err
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
