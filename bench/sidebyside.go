package main

// Side by side: the targets that compare two servers of one kind (the pass-through with the
// server without flatten, the warm apex with whoami, HTTPS with A) also run the two servers under
// dnsperf at the same time, half the clients each, after the rounds (twice as many times as there
// are rounds, unless -side says otherwise). One after the other, even 10 s apart, the machine's
// speed moves between the two runs by up to a third on a shared machine (bench/PROFILE.md, fifth
// pass), and the ratio with it; side by side, both servers run at the same moment on the same
// machine, and the ratio of their queries/s is that of what an answer costs each, give or take
// what the machine does to one process and not the other: the control (a2)/(a), two identical
// servers, measures that (bench/PROFILE.md, sixth pass).

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// pair is two scenarios a target compares: x's speed against y's.
type pair struct{ x, y string }

// pairs are the targets' pairs that run side by side (targets 1 to 4), and two controls: (a2), a
// second server identical to (a), against (a), which measures the method itself (any ratio but 1
// is the machine's), and (z), CoreDNS's any plugin in flatten's place, against (a): what any
// plugin costs, side by side.
var pairs = []pair{{"b", "a"}, {"bc", "ac"}, {"c", "w"}, {"h", "c"}, {"a2", "a"}, {"z", "a"}}

// sideRuns is how many times each pair runs side by side.
func sideRuns() int {
	if *side > 0 {
		return *side
	}
	return 2 * *rounds
}

// sideBySide runs dnsperf against x and y at the same time, half the clients each, and returns
// x's queries/s over y's. The two load tools are started one just after the other; xFirst says
// which goes first, and the callers alternate it from run to run, so that neither server of a pair
// is always the one whose load starts first.
func (b *bench) sideBySide(x, y *scenario, xFirst bool) (float64, error) {
	half := max(1, *clients/2)
	var rx, ry result
	var ex, ey error
	var wg sync.WaitGroup
	if xFirst {
		wg.Go(func() { rx, ex = b.dnsperfWith(x, half) })
		ry, ey = b.dnsperfWith(y, half)
	} else {
		wg.Go(func() { ry, ey = b.dnsperfWith(y, half) })
		rx, ex = b.dnsperfWith(x, half)
	}
	wg.Wait()
	if err := errors.Join(ex, ey); err != nil {
		return 0, err
	}
	if rx.lost > 0 || ry.lost > 0 {
		// The one-after-the-other runs count losses; here they are only said.
		fmt.Printf("side by side %s and %s: %d and %d questions lost\n", x.key, y.key, rx.lost, ry.lost)
	}
	return rx.qps / ry.qps, nil
}

// sideBySideRounds runs every pair side by side sideRuns times, and returns each pair's ratios.
// As in the rounds, every other pass runs the pairs in reverse order, and it starts the other
// server's load first: a server of a pair is then as often the one that rested longer before the
// run, or whose load started first, as the other.
func (b *bench) sideBySideRounds(by map[string]*scenario) (map[pair][]float64, error) {
	out := map[pair][]float64{}
	for r := 1; r <= sideRuns(); r++ {
		order := slices.Clone(pairs)
		if r%2 == 0 {
			slices.Reverse(order)
		}
		for _, p := range order {
			v, err := b.sideBySide(by[p.x], by[p.y], r%2 == 1)
			if err != nil {
				return nil, err
			}
			out[p] = append(out[p], v)
			fmt.Printf("side by side %d %s/%s %.3f\n", r, p.x, p.y, v)
		}
	}
	return out, nil
}
