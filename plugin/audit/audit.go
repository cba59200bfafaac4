// Package audit is the flatten plugin's validator beside the request path. The Auditor reads the
// plugin's zones from the server block's plugins (file, auto, secondary, kubernetes: any
// transfer.Transferer) at start-up and whenever a serial changes, publishes what the request path
// needs of them (a snapshot read through View), and runs every rule of plugin/rules over them,
// asking about names outside the zones through an Oracle (the resolver option, or the server), and
// logging, counting and exporting the findings. The Reporter words, logs and counts what live
// answers meet (loops, chains too long, dangling targets, failed lookups) as the audit words it.
package audit

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/probe"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

var log = clog.NewWithPlugin("flatten")

// Config is what the Auditor is built from.
type Config struct {
	// Zones are the plugin's zones; Every is how often their serials are checked (0: at start-up
	// and reload only).
	Zones chain.Zones
	Every time.Duration
	// Block names the server block (its keys and addresses): at a reload, the auditor of the same
	// block takes over the figures this one published (gauges.go).
	Block string
	// Handlers are the server block's plugins: the zones are read from those that can hand them
	// over (transfer.Transferer), and the kubernetes plugin's services are watched.
	Handlers []plugin.Handler
	// Owners says the snapshot must know the CNAME owners that own other records (dangling
	// nxdomain).
	Owners bool
	// MaxChain and Targets are the options of the same names, for the rules; Aliases are the
	// declared aliases, which reference their targets like CNAMEs.
	MaxChain int
	Targets  []string
	Aliases  map[string]string
	// ProbeNS has the rules ask name servers whether they serve the zones delegated to them, on
	// ProbePort ("" for 53).
	ProbeNS   bool
	ProbePort string
	// Own answers, in memory, questions for names in Zones; World asks about other names (the
	// resolver option, or the server at its own address), or is nil; Slots are the lookup slots
	// (max_lookups) the audit's questions share with the request path's.
	Own   func(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
	World func(ctx context.Context, q *dns.Msg) (*dns.Msg, error)
	// WorldIsSelf says World asks the server itself, for want of a resolver: its refusal means
	// the server resolves no name outside its zones, and they are left unchecked, not failed.
	WorldIsSelf bool
	Slots       chan struct{}
	// Changed is told the origin of a zone whose serial changed.
	Changed func(origin string)
	// Serial returns the serial the zone's plugin serves for origin now.
	Serial func(ctx context.Context, origin string) (uint32, bool)
}

// Auditor audits the plugin's zones.
type Auditor struct {
	zones chain.Zones
	every time.Duration
	trs   []transfer.Transferer
	// handlers are the block's plugins, whose loaded zones stand for a plugin zone none of them
	// serves (loadedZones, zonesBelow); saidBelow is what was last logged of that, by plugin zone.
	handlers  []plugin.Handler
	saidBelow map[string]string
	// held are the zones audited: the plugin's zones, one that no plugin serves replaced by those
	// below it. Names outside them are asked of the world, not of the block (oracle, references).
	held atomic.Pointer[chain.Zones]
	// life guards started against Stop; started is also read without it, by every question.
	life    sync.Mutex
	started atomic.Bool
	stopped bool
	owners  bool
	rules   rules.Config
	// changed is told the origin of a zone whose serial changed; serial reads a zone's serial.
	changed func(origin string)
	serial  func(ctx context.Context, origin string) (uint32, bool)

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
	// prober, with probe_ns, asks name servers whether they serve the zones delegated to them; it
	// forgets their addresses at each check.
	prober *probe.Prober
	// kube, when the block has the kubernetes plugin, tells whether its services changed in a way
	// the audit can see (see kube.go).
	kube *kubeWatch
	// checked are the fingerprints of the zones the last finished check saw, by origin, and last
	// its findings (guarded by mu).
	checked map[string]uint64
	last    []rules.Finding
	// aliases are the declared aliases, which reference their targets like CNAMEs.
	aliases map[string]string
	// standing and referenced are this auditor's share of the audit_findings and
	// target_references gauges (gauges.go).
	standing, referenced, unchecked *gaugeSet
	// unread is the zone the gauges' figures from names in no zone read come from (see New).
	unread string
	// saidOffline: the note on names outside the zones the audit has no way to check was logged.
	saidOffline bool
}

// checkJob is one check of every zone read.
type checkJob struct {
	ctx   context.Context
	zones map[string]zoneRead
	start time.Time // when the reading that queued it began
}

// New returns an Auditor for cfg; Start starts it.
func New(cfg Config) *Auditor {
	a := &Auditor{zones: cfg.Zones, every: cfg.Every, handlers: cfg.Handlers, saidBelow: map[string]string{}, kube: newKubeWatch(cfg.Handlers), changed: cfg.Changed, serial: cfg.Serial,
		owners: cfg.Owners, rules: rules.Config{MaxChain: cfg.MaxChain, Targets: cfg.Targets}, aliases: cfg.Aliases,
		wake: make(chan struct{}, 1), jobs: make(chan checkJob, 1), read: map[string]zoneRead{}, checked: map[string]uint64{},
	}
	// A figure of audit_findings, audit_unchecked_names or target_references is the auditor's that
	// audits the zone it comes from (gauges.go); one from names in no zone read (a declared alias
	// in a zone no plugin of the block serves) is the plugin's ZONES'.
	a.unread = "\x00" + strings.Join(slices.Sorted(slices.Values(cfg.Zones)), " ")
	inZones := func(zone string) bool { return zone == a.unread || a.holds(zone) }
	a.standing = newGaugeSet(auditFindings, cfg.Block, inZones)
	a.unchecked = newGaugeSet(auditUnchecked, cfg.Block, inZones)
	a.referenced = newGaugeSet(targetReferences, cfg.Block, inZones)
	for _, h := range cfg.Handlers {
		if tr, ok := h.(transfer.Transferer); ok {
			a.trs = append(a.trs, tr)
		}
	}
	if cfg.World != nil || a.kube != nil {
		o := &oracle{slots: cfg.Slots, world: cfg.World, self: cfg.WorldIsSelf, kube: a.kube, holds: a.holds, own: cfg.Own}
		a.outside = newRecorder(o, cfg.Every, a.kube.owns)
		a.rules.Oracle = a.outside
		if cfg.ProbeNS {
			// The name servers' addresses come through the recorder: each is asked once a check.
			a.prober = probe.New(a.outside, cfg.ProbePort)
			a.outside.p = a.prober
			a.rules.Prober = a.outside
		}
	}
	if cfg.ProbeNS && cfg.World == nil {
		log.Warningf("probe_ns: this server block has no resolver and no address of its own to find name servers' addresses with: add 'resolver ADDRESS...'; no delegation is probed")
	}
	a.snap.Store(&snapshot{})
	held := cfg.Zones
	a.held.Store(&held)
	a.ctx, a.stop = context.WithCancel(context.Background())
	return a
}

// snapshot returns the zones as last read.
func (a *Auditor) snapshot() *snapshot { return a.snap.Load() }

// Ready reports whether the zones have been read once since start-up.
func (a *Auditor) Ready() bool { return a.ready.Load() }

// Start reads the zones now, then whenever a serial changes, until Stop. Only its first call
// starts the audit, and none after Stop: the plugin calls it when its instance serves (caddy's
// start-up event) and, in case that event never comes (a reload whose old instance fails to shut
// down returns before it, while the new one serves), at every question.
func (a *Auditor) Start() {
	if a.started.Load() {
		return
	}
	a.life.Lock()
	defer a.life.Unlock()
	if a.started.Load() || a.stopped {
		return
	}
	a.started.Store(true)
	for _, g := range a.gaugeSets() {
		g.enlist()
	}
	a.wg.Go(a.checker)
	if a.serial != nil {
		a.wg.Go(a.watchSerials)
	}
	a.wg.Go(func() {
		// The reads stay on ordinary threads: a zone comes over a channel a name at a time from
		// its plugin's goroutine, and a goroutine locked to a thread of its own (background) pays
		// a thread wake-up for every one, which cost a million-record zone ten seconds of CPU.
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

// Stop stops the audit and waits for it.
func (a *Auditor) Stop() {
	a.life.Lock()
	a.stopped = true
	a.stop()
	a.life.Unlock()
	a.wg.Wait()
	for _, g := range a.gaugeSets() {
		g.retire()
	}
	time.AfterFunc(handOnMax, expire) // what no successor has settled by then (gauges.go)
}

// gaugeSets are the auditor's shares of the gauge vectors it publishes.
func (a *Auditor) gaugeSets() []*gaugeSet { return []*gaugeSet{a.standing, a.referenced, a.unchecked} }

// holds reports whether name is in a zone the audit reads (see held).
func (a *Auditor) holds(name string) bool { return a.held.Load().Holds(name) }

// serialEvery is how often the served zones' serials are compared with the snapshot's, whatever
// the audit interval: a reload of a zone reaches its flattened answers (whose cache the pass then
// purges for the zone) within about this long, as it reaches the zone's own answers. Each
// comparison is one in-memory SOA question a zone.
const serialEvery = time.Second

// watchSerials asks for a pass when a served zone's serial is not the snapshot's, until Stop.
// Service backends are left to their own watch (kube.go).
func (a *Auditor) watchSerials() {
	t := time.NewTicker(serialEvery)
	defer t.Stop()
	asked := map[string]uint32{} // the serial a pass was last asked for, by zone: asked once
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
		snap := a.snapshot()
		if snap == nil {
			continue
		}
		for origin, z := range snap.zones {
			if a.kube.owns(origin) {
				continue
			}
			if serial, ok := a.serial(a.ctx, origin); ok && serial != z.serial && serial != asked[origin] {
				asked[origin] = serial
				a.poke()
			}
		}
	}
}

// poke asks for a pass now: a question saw a serial the snapshot does not have.
func (a *Auditor) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// pass reads every zone whose serial differs from the last read (all of them when first), and
// when any changed, publishes the new snapshot and queues a check of every zone; so it does when an
// answer about a name outside the zones changed. The audit keeps no zone's records between checks
// (a zone its plugin reloads would be held twice): a zone that did not change is read again for
// the check, which sees the zones together.
func (a *Auditor) pass(first bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	changed := first
	snap := &snapshot{zones: map[string]*zoneState{}}
	fresh := map[string]zoneRead{} // the zones read in full now
	kube := kubeState{w: a.kube}
	published := false // a zone was read anew: the snapshot changes
	// The plugin's zones, and in place of one that no plugin serves, the zones the block's plugins
	// load below it (loadedZones), added as they are found.
	zones := slices.Clone([]string(a.zones))
	var loaded []string
	below := map[string][]string{}
	for i := 0; i < len(zones); i++ {
		origin := zones[i]
		last, seen := a.read[origin]
		if seen && kube.same(origin, last.serial) {
			last.serial = a.kube.serial()
			a.read[origin] = last
			snap.zones[origin] = a.snapshot().zones[origin]
			continue
		}
		// The services are noted before they are read: one added in between is then read now and
		// seen as new on the next pass, never the other way round.
		kube.read(origin)
		z, err := a.readOne(origin, last)
		switch {
		case errors.Is(err, errNotSynced):
			continue // read it on a later pass
		case errors.Is(err, transfer.ErrNotAuthoritative):
			if loaded == nil {
				loaded = loadedZones(a.handlers)
			}
			if in := zonesBelow(origin, loaded); len(in) > 0 {
				below[origin] = in
				for _, z := range in {
					if !slices.Contains(zones, z) {
						zones = append(zones, z)
					}
				}
				continue
			}
			if first {
				log.Infof("audit: no plugin in this server block serves zone %s; not audited", origin)
			}
			continue
		case err != nil:
			log.Warningf("audit: reading zone %s: %s", origin, err)
		case z.records == nil && seen: // unchanged: only the SOA came
		case z.serial == 0 && len(z.records) <= 1:
			// A service backend that has not synced yet (the kubernetes plugin answers its SOA
			// with serial 0 until then): read it again on the next pass.
			continue
		default:
			if seen && a.changed != nil {
				a.changed(origin)
			}
			if !z.partial {
				z.print = fingerprint(z.records)
			}
			// A change the rules cannot see (addresses, the serial) needs no check.
			if !seen || z.print != a.checked[origin] {
				changed = true
			} else {
				a.resoa(origin, z.records)
			}
			a.read[origin] = zoneRead{serial: z.serial, partial: z.partial, count: len(z.records), print: z.print}
			fresh[origin] = z
			snap.zones[origin] = newZoneState(origin, z.serial, z.records, a.owners)
			published = true
			continue
		}
		if old := a.snapshot().zones[origin]; seen && old != nil {
			snap.zones[origin] = old
		}
	}
	for origin := range a.read {
		if !slices.Contains(zones, origin) { // a zone auto no longer serves
			delete(a.read, origin)
			delete(a.checked, origin)
			changed = true
		}
	}
	a.sayBelow(below)
	held := make(chain.Zones, 0, len(zones))
	for _, z := range zones {
		if below[z] == nil {
			held = append(held, z)
		}
	}
	a.held.Store(&held)
	if changed || published {
		a.snap.Store(snap)
	}
	if !changed && (first || a.outside == nil || !a.outside.changed(a.ctx)) {
		return
	}
	job := make(map[string]zoneRead, len(a.read))
	for origin, last := range a.read {
		if z, ok := fresh[origin]; ok {
			job[origin] = z
			continue
		}
		print := last.print // unchanged since
		last.serial = 0     // the whole zone
		z, err := a.readOne(origin, last)
		if err != nil || z.records == nil {
			log.Warningf("audit: reading zone %s again for the check: %v; it is left out of it", origin, err)
			continue
		}
		z.print = print
		job[origin] = z
	}
	a.queue(job, start)
}

// sayBelow logs, for each plugin zone that no plugin of the block serves, the zones below it that
// are audited in its place, when they are new or have changed. a.mu is held.
func (a *Auditor) sayBelow(replaced map[string][]string) {
	for zone, below := range replaced {
		list := strings.Join(below, ", ")
		if a.saidBelow[zone] != list {
			a.saidBelow[zone] = list
			log.Infof("audit: no plugin in this server block serves zone %s itself; the zones its plugins serve below it are audited: %s", zone, list)
		}
	}
}

// resoa gives the findings of the last check that quote zone origin's SOA the SOA of records,
// whose serial changed and nothing else the rules read. a.mu is held.
func (a *Auditor) resoa(origin string, records []dns.RR) {
	var soa dns.RR
	for _, rr := range records {
		if rr.Header().Rrtype == dns.TypeSOA && chain.Equal(rr.Header().Name, origin) {
			soa = rr
			break
		}
	}
	if soa == nil {
		return
	}
	text := soa.String()
	for i, fd := range a.last {
		if r, err := dns.NewRR(fd.Record); err == nil && r.Header().Rrtype == dns.TypeSOA && chain.Equal(r.Header().Name, origin) {
			a.last[i].Record = text
		}
	}
}

// Findings returns the findings the audit stands by: those of its last check, with what a change
// of the zones the rules cannot see has changed in them since.
func (a *Auditor) Findings() []rules.Finding {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.last)
}

// errNotSynced is a kubernetes zone whose plugin has not synced with the API yet.
var errNotSynced = errors.New("the kubernetes plugin has not synced yet")

// readOne reads zone origin, last read as last: without records when its serial is last's (when
// not 0).
func (a *Auditor) readOne(origin string, last zoneRead) (zoneRead, error) {
	switch {
	case !a.kube.owns(origin):
		return readZone(a.trs, origin, last.serial, last.count)
	case !a.kube.covers(origin):
		return zoneRead{}, errNotSynced
	default:
		return a.kube.read(a.ctx, origin, last.serial)
	}
}

// queue queues a check of zones. A newer check supersedes the one still running, and any check
// still waiting. a.mu is held.
func (a *Auditor) queue(zones map[string]zoneRead, start time.Time) {
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
func (a *Auditor) apexNow(origin string) *zoneState {
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
