package rules

// Cancellation: how the long passes over the zones notice, cheaply, that Run's context has ended.

import "context"

// stopper tells whether ctx has ended, looking at it once every 4096 calls; one goroutine uses it.
type stopper struct {
	ctx  context.Context
	n    uint32
	done bool
}

// stopped reports whether the context has ended, as last seen.
func (s *stopper) stopped() bool {
	if !s.done {
		s.n++
		if s.n&4095 == 0 && s.ctx.Err() != nil {
			s.done = true
		}
	}
	return s.done
}
