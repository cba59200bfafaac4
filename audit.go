package flatten

// The zone audit: a component with its own goroutine, started and stopped with the server. At
// start-up, and whenever a zone's serial changes (checked every audit interval), it reads the
// plugin's zones, publishes what the request path needs of them (a snapshot), drops the cached
// chains of a changed zone, and then runs every validation rule over them, logging and counting
// the findings. The rules run apart from the reading: answers never wait for them, and a newer
// serial supersedes a check still running.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin/transfer"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// auditor audits the plugin's zones.
type auditor struct {
	zones []string
	every time.Duration
	trs   []transfer.Transferer
	// owners says the snapshot must know the CNAME owners that own other records (dangling
	// nxdomain).
	owners bool
	rules  rules.Config
	// changed is told the origin of a zone whose serial changed.
	changed func(origin string)

	snap  atomic.Pointer[snapshot]
	ready atomic.Bool
	wake  chan struct{} // a question saw a new serial
	jobs  chan checkJob // the latest zones to check; one slot, the newest wins

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
	mu   sync.Mutex // guards cancel and read
	// cancel stops the check running now; read is the last read of each zone.
	cancel context.CancelFunc
	read   map[string]zoneRead
	// outside records what the rules asked about names outside the zones, to ask again every
	// interval: a target that stops existing is a takeover risk before any client asks.
	outside *recorder
	// kube, when the block has the kubernetes plugin, tells whether its services changed in a way
	// the audit can see (see kubewatch.go).
	kube *kubeWatch
	// aliases are the declared aliases, which reference their targets like CNAMEs.
	aliases map[string]string
}

// kubeState is what one pass knows of the kubernetes plugin's services: asked at most once.
type kubeState struct {
	w              *kubeWatch
	asked, changed bool
}

// same reports whether zone origin, last read at serial, is the kubernetes plugin's and changed
// since in no way the audit can see.
func (k *kubeState) same(origin string, serial uint32) bool {
	if !k.w.covers(origin) || k.w.serial() == serial {
		return false // not the plugin's, or unchanged anyway (the read then costs only the SOA)
	}
	if !k.asked {
		k.changed, k.asked = k.w.changed(), true
	}
	return !k.changed
}

// read notes that zone origin was read: the services it holds are the ones to compare with next.
func (k *kubeState) read(origin string) {
	if !k.asked && k.w.covers(origin) {
		k.w.changed()
		k.asked = true
	}
}

// checkJob is one check of every zone read.
type checkJob struct {
	ctx   context.Context
	zones map[string]zoneRead
	start time.Time // when the reading that queued it began
}

func newAuditor(cfg config, trs []transfer.Transferer, kube *kubeWatch, o rules.Oracle, changed func(string)) *auditor {
	a := &auditor{zones: cfg.zones, every: cfg.audit, trs: trs, kube: kube, changed: changed, owners: cfg.dangling == dns.RcodeNameError,
		rules: rules.Config{MaxChain: cfg.maxChain, Targets: cfg.targets}, aliases: cfg.aliases,
		wake: make(chan struct{}, 1), jobs: make(chan checkJob, 1), read: map[string]zoneRead{}}
	if o != nil {
		a.outside = &recorder{o: o, seen: map[question]int{}}
		a.rules.Oracle = a.outside
	}
	a.snap.Store(&snapshot{})
	a.ctx, a.stop = context.WithCancel(context.Background())
	return a
}

// snapshot returns the zones as last read.
func (a *auditor) snapshot() *snapshot { return a.snap.Load() }

// start reads the zones now, then whenever a serial changes, until shutdown.
func (a *auditor) start() {
	a.wg.Go(a.checker)
	a.wg.Go(func() {
		a.pass(true)
		a.ready.Store(true)
		var tick <-chan time.Time
		if a.every > 0 {
			t := time.NewTicker(a.every)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-a.ctx.Done():
				return
			case <-tick:
			case <-a.wake:
			}
			a.pass(false)
		}
	})
}

// shutdown stops the audit and waits for it.
func (a *auditor) shutdown() {
	a.stop()
	a.wg.Wait()
}

// poke asks for a pass now: a question saw a serial the snapshot does not have.
func (a *auditor) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// pass reads every zone whose serial differs from the last read (all of them when first), and
// when any changed, publishes the new snapshot and queues a check.
func (a *auditor) pass(first bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	changed := first
	snap := &snapshot{zones: map[string]*zoneState{}}
	kube := kubeState{w: a.kube}
	for _, origin := range a.zones {
		last, seen := a.read[origin]
		if seen && kube.same(origin, last.serial) {
			last.serial = a.kube.serial()
			a.read[origin] = last
			snap.zones[origin] = a.snapshot().zones[origin]
			continue
		}
		z, err := readZone(a.trs, origin, last.serial)
		kube.read(origin)
		fresh := false
		switch {
		case errors.Is(err, transfer.ErrNotAuthoritative):
			if first {
				log.Infof("audit: no plugin in this server block serves zone %s; not audited", origin)
			}
			continue
		case err != nil:
			log.Warningf("audit: reading zone %s: %s", origin, err)
			z = last
		case z.records == nil && seen: // unchanged: only the SOA came
			z = last
		case z.serial == 0 && len(z.records) <= 1:
			// A service backend that has not synced yet (the kubernetes plugin answers its SOA
			// with serial 0 until then): read it again on the next pass.
			continue
		default:
			if seen && a.changed != nil {
				a.changed(origin)
			}
			fresh, changed = true, true
		}
		if z.records == nil {
			continue
		}
		a.read[origin] = z
		if old := a.snapshot().zones[origin]; old != nil && !fresh {
			snap.zones[origin] = old
		} else {
			snap.zones[origin] = newZoneState(origin, z.serial, z.records, a.owners)
		}
	}
	if !changed {
		if !first && a.outside != nil && a.outside.changed(a.ctx) {
			a.queue(maps.Clone(a.read), start)
		}
		return
	}
	a.snap.Store(snap)
	a.queue(maps.Clone(a.read), start)
}

// queue queues a check of zones. A newer check supersedes the one still running, and any check
// still waiting. a.mu is held.
func (a *auditor) queue(zones map[string]zoneRead, start time.Time) {
	if a.cancel != nil {
		a.cancel()
	}
	ctx, cancel := context.WithCancel(a.ctx)
	a.cancel = cancel
	select {
	case <-a.jobs:
	default:
	}
	a.jobs <- checkJob{ctx: ctx, zones: zones, start: start}
}

// apexNow reads the apex of zone origin now, when a question sees a serial the snapshot does
// not have, publishes it, and asks for a full pass. It reads the transfer only as far as the apex's
// records (they come first) and leaves the rest to be drained.
func (a *auditor) apexNow(origin string) *zoneState {
	z, err := readApex(a.trs, origin)
	if err != nil {
		return nil
	}
	st := newZoneState(origin, z.serial, z.records, false)
	for {
		old := a.snap.Load()
		if prev := old.zones[origin]; prev != nil {
			owners := prev.owners // until the full pass reads the rest of the zone
			st.owners, st.records = owners, prev.records
		}
		if a.snap.CompareAndSwap(old, old.with(st)) {
			break
		}
	}
	a.poke()
	return st
}

// checker runs the checks queued, one at a time.
func (a *auditor) checker() {
	for {
		select {
		case <-a.ctx.Done():
			return
		case job := <-a.jobs:
			a.check(job)
		}
	}
}

// check runs every rule over the zones of job (together, so that loops and targets across them
// are seen) and logs a summary per zone and each finding, and counts them; unless a newer job
// superseded it meanwhile.
func (a *auditor) check(job checkJob) {
	all := make([]rules.Zone, 0, len(job.zones))
	for _, origin := range slices.Sorted(maps.Keys(job.zones)) {
		all = append(all, rules.Zone{Origin: origin, Records: job.zones[origin].records})
	}
	if a.outside != nil {
		a.outside.reset()
	}
	findings := rules.Check(job.ctx, all, a.rules)
	if job.ctx.Err() != nil {
		return // superseded: the newer check reports
	}
	auditDuration.Set(time.Since(job.start).Seconds())
	standing := map[[3]string]float64{}
	for _, fd := range findings {
		findingCount.WithLabelValues(fd.Rule, fd.Severity.String()).Inc()
		standing[[3]string{zoneOf(fd.Owner, job.zones), fd.Rule, fd.Severity.String()}]++
	}
	auditFindings.Reset()
	for k, n := range standing {
		auditFindings.WithLabelValues(k[0], k[1], k[2]).Set(n)
	}
	a.references(all)
	for _, z := range all {
		log.Infof("audit of %s (serial %d, %d records): %s", z.Origin, job.zones[z.Origin].serial, len(z.Records), summarize(findings, z.Origin, job.zones))
	}
	for _, fd := range findings {
		logFinding("audit: ", fd)
	}
}

// references publishes, for every name outside the zones that names in them reach (CNAME and
// AliasMode chains, declared aliases, MX, SRV and NS targets), how many names do: an alert can fire
// when a cloud resource, mail provider or CDN name about to be removed still has names pointing
// at it (the deprovisioning guard cnamelint -points-at gives the list).
func (a *auditor) references(zones []rules.Zone) {
	targetReferences.Reset()
	for target, refs := range rules.References(zones, a.aliases) {
		if !a.inZones(target) {
			targetReferences.WithLabelValues(target).Set(float64(len(refs)))
		}
	}
}

// inZones reports whether name is in one of the audited zones.
func (a *auditor) inZones(name string) bool {
	for _, z := range a.zones {
		if inZone(name, z) {
			return true
		}
	}
	return false
}

// summarize counts the findings owned by names in origin (and not in a zone below it).
func summarize(findings []rules.Finding, origin string, zones map[string]zoneRead) string {
	counts := map[rules.Severity]int{}
	n := 0
	for _, fd := range findings {
		if zoneOf(fd.Owner, zones) == origin {
			counts[fd.Severity]++
			n++
		}
	}
	if n == 0 {
		return "no findings"
	}
	var parts []string
	for s := rules.Critical; s >= rules.Info; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return fmt.Sprintf("%d finding(s): %s", n, strings.Join(parts, ", "))
}

// zoneOf returns the origin of the innermost zone that holds name.
func zoneOf(name string, zones map[string]zoneRead) string {
	best := ""
	for origin := range zones {
		if inZone(name, origin) && len(origin) > len(best) {
			best = origin
		}
	}
	return best
}
