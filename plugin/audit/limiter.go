package audit

// Rate limiting of log lines: a broken name asked often is logged once per interval, not once per
// question, so that a flood of questions cannot flood the log.

import (
	"sync"
	"time"

	"github.com/dnsflatten/flatten/plugin/chain"
)

// limiter lets one log line through per key and interval, so that a broken name asked a thousand
// times a second logs once a minute, not a thousand times. It remembers at most limiterSize keys:
// a flood of distinct names resets it instead of growing it.
type limiter struct {
	mu    sync.Mutex
	every time.Duration
	last  map[limiterKey]time.Time
	now   func() time.Time
}

type limiterKey struct {
	name, what string
}

const limiterSize = 10000

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, last: make(map[limiterKey]time.Time), now: time.Now}
}

// allow reports whether a line about name and what may be logged now.
func (l *limiter) allow(name string, what error) bool {
	k := limiterKey{chain.Lower(name), problem(what)}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if t, ok := l.last[k]; ok && now.Sub(t) < l.every {
		return false
	}
	if len(l.last) >= limiterSize {
		clear(l.last)
	}
	l.last[k] = now
	return true
}

// problem names the kind of problem err is, without the details that change from one occurrence
// to the next (a transport error's local port, say), so that one problem is one key.
func problem(err error) string {
	if le, ok := err.(*chain.LookupError); ok {
		return "lookup " + chain.Lower(le.Name) + " " + le.Label()
	}
	return err.Error()
}
