package target

// Resolution failures, cached (RFC 9520): when a target outside the zones cannot be looked up (the
// resolver times out, is unreachable, answers SERVFAIL, REFUSED or nothing usable, or refers the
// question elsewhere), the questions that need it in the next moments get that failure at once, instead of each waiting out a lookup of its own that fails the
// same way. A client's stub resolver that waits seconds for every answer retries, and gives up, on
// its own clock; with the failure cached it gets its SERVFAIL (with the same extended error) at
// once and moves on. Stale data, when the cache has some, is still served (RFC 8767): the failure
// only spares the wait.
//
// A failure is held failureHold, doubled each time the name fails again within failureHoldMax of
// its last hold's end (the lookup that fails again may itself wait out a timeout of seconds), up
// to failureHoldMax: the load on a resolver that is down stays bounded, and a name whose resolver
// comes back is looked up again within a second or two of a short outage, and within
// failureHoldMax of a long one. Names in the zones are never held: they are asked of the block's
// own plugins, in memory, and a reload of the zone must reach them at once; but for the names a root
// block's plugins refuse, which are asked as names outside the zones are (lookup.go, route). Nor is a lookup that was not made (max_lookups in flight), or one cut
// short by the end of the question that made it (fetch). A question answered with a held failure
// makes no lookup: lookups_total and lookup_failures_total count the lookups made.

import (
	"errors"
	"net/netip"
	"time"

	"github.com/coredns/coredns/plugin/pkg/cache"
	"github.com/dnsflatten/flatten/plugin/chain"
)

const (
	// failureHold is how long a first failure is held: RFC 9520 section 3.2 asks for at least a
	// second.
	failureHold = time.Second
	// failureHoldMax bounds the hold of a name that keeps failing, as RFC 8767's failure recheck
	// timer bounds the retries of stale data's refresh (staleRetry).
	failureHoldMax = staleRetry
)

// failure is a failed lookup of name and qtype (for the client network scope, with ecs), held
// until until.
type failure struct {
	name  string
	qtype uint16
	scope netip.Prefix
	err   error
	until time.Time
	hold  time.Duration
}

// failures holds the failed lookups; bounded like the entries.
type failures struct{ c *cache.Cache[*failure] }

func newFailures(size int) *failures { return &failures{c: cache.New[*failure](size)} }

// at returns the failure held under k for name and qtype (scope), or nil: nothing held, or another
// name's whose key collides.
func (f *failures) at(k uint64, name string, qtype uint16, scope netip.Prefix) *failure {
	x, ok := f.c.Get(k)
	if !ok || x.qtype != qtype || x.scope != scope || !chain.Equal(x.name, name) {
		return nil
	}
	return x
}

// get returns the error of a failed lookup of name and qtype still held at now, or nil.
func (f *failures) get(name string, qtype uint16, scope netip.Prefix, now time.Time) error {
	if x := f.at(key(name, qtype, scope), name, qtype, scope); x != nil && now.Before(x.until) {
		return x.err
	}
	return nil
}

// add holds err, the failure of a lookup of name and qtype at now, when it is one to hold: twice
// as long as the last hold when that ended less than failureHoldMax ago.
func (f *failures) add(name string, qtype uint16, scope netip.Prefix, err error, now time.Time) {
	var le *chain.LookupError
	if !errors.As(err, &le) || le.Cause == chain.Busy {
		return
	}
	k := key(name, qtype, scope)
	hold := failureHold
	if x := f.at(k, name, qtype, scope); x != nil && now.Sub(x.until) < failureHoldMax {
		hold = min(2*x.hold, failureHoldMax)
	}
	f.c.Add(k, &failure{name: name, qtype: qtype, scope: scope, err: err, until: now.Add(hold), hold: hold})
}

// forget drops what is held of name and qtype: it was looked up.
func (f *failures) forget(name string, qtype uint16, scope netip.Prefix) {
	if k := key(name, qtype, scope); f.at(k, name, qtype, scope) != nil {
		f.c.Remove(k)
	}
}
