package flatten

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/coredns/coredns/request"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// auditZone is what the last audit read of one zone.
type auditZone struct {
	serial uint32
	zone   rules.Zone
}

// apexRecords are the records at an apex that holds a CNAME beside other data, by type: the layout
// users bring from providers that flatten apex CNAMEs. Questions for types other than A and AAAA
// are answered from here instead of with the CNAME.
type apexRecords map[uint16][]dns.RR

// defaultAuditInterval is how often the plugin checks the serials of its zones.
const defaultAuditInterval = 15 * time.Second

// startAudit audits the zones now and then whenever a serial changes, until shutdown. The plugin
// reports ready after the first audit.
func (f *Flatten) startAudit(transferers []transfer.Transferer) {
	f.transferers = transferers
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.audit(f.stopCtx, true)
		f.ready.Store(true)
		if f.AuditInterval <= 0 {
			return
		}
		t := time.NewTicker(f.AuditInterval)
		defer t.Stop()
		for {
			select {
			case <-f.stopCtx.Done():
				return
			case <-t.C:
				f.audit(f.stopCtx, false)
			}
		}
	}()
}

// audit reads the plugin's zones from the server block's Transferers and, when any serial differs
// from the last audit's (or first is set), checks them with the validation rules, logs a summary and
// each finding, counts them, and rebuilds the apex index. Cached entries of a changed zone are
// dropped: its aliases may have changed.
func (f *Flatten) audit(ctx context.Context, first bool) {
	changed := first
	zones := make(map[string]auditZone, len(f.Zones))
	for _, origin := range f.Zones {
		last, seen := f.audited[origin]
		z, err := f.transfer(origin, last.serial)
		switch {
		case errors.Is(err, transfer.ErrNotAuthoritative):
			if first {
				log.Infof("audit: no plugin in this server block serves zone %s; not audited", origin)
			}
			continue
		case err != nil:
			log.Warningf("audit: reading zone %s: %s", origin, err)
			if seen {
				zones[origin] = last
			}
			continue
		case z.zone.Records == nil && seen: // unchanged: only the SOA came
			zones[origin] = last
			continue
		}
		if seen {
			f.cache.purge(origin)
		}
		zones[origin] = z
		changed = true
	}
	f.audited = zones
	if !changed {
		return
	}

	var all []rules.Zone
	for _, z := range zones {
		all = append(all, z.zone)
	}
	cfg := rules.Config{MaxChain: f.MaxChain}
	if f.Resolver != nil {
		cfg.Oracle = oracle{f.Resolver}
	}
	findings := rules.Check(ctx, all, cfg)

	counts := map[rules.Severity]int{}
	for _, fd := range findings {
		counts[fd.Severity]++
		findingCount.WithLabelValues(fd.Rule, fd.Severity.String()).Inc()
	}
	for _, origin := range slices.Sorted(maps.Keys(zones)) {
		z := zones[origin]
		log.Infof("audit of %s (serial %d, %d records): %s", origin, z.serial, len(z.zone.Records), summarize(findings, origin, zones))
	}
	for _, fd := range findings {
		logFinding("audit: ", fd)
	}
	if idx := apexIndex(all); idx != nil {
		f.apexes.Store(&idx)
	} else {
		f.apexes.Store(nil)
	}
}

// summarize counts the findings owned by names in origin (and not in a zone below it).
func summarize(findings []rules.Finding, origin string, zones map[string]auditZone) string {
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

func zoneOf(name string, zones map[string]auditZone) string {
	best := ""
	for origin := range zones {
		if dns.IsSubDomain(origin, name) && len(origin) > len(best) {
			best = origin
		}
	}
	return best
}

// logFinding logs one finding at a level that fits its severity.
func logFinding(prefix string, fd rules.Finding) {
	switch fd.Severity {
	case rules.Critical:
		log.Errorf("%s%s", prefix, fd)
	case rules.Error, rules.Warning:
		log.Warningf("%s%s", prefix, fd)
	default:
		log.Infof("%s%s", prefix, fd)
	}
}

// transfer reads zone origin from the first Transferer that serves it or, when none does, the part
// of an enclosing zone that one serves: ZONES may name a part of a zone, such as a Kubernetes
// namespace, prod.svc.cluster.local, whose records are in the kubernetes plugin's cluster.local.
// With a serial, a zone whose serial is unchanged comes back without records.
func (f *Flatten) transfer(origin string, serial uint32) (auditZone, error) {
	// origin and its ancestors, innermost first.
	var names []string
	for i, end := 0, false; !end; i, end = dns.NextLabel(origin, i) {
		names = append(names, origin[i:])
	}
	for _, tr := range f.transferers {
		order := names
		if _, ok := tr.(plugin.ServiceBackend); ok {
			// Service backends (kubernetes, etcd) accept any name below their zones and build the
			// records' names from the one asked for; only their own zone gives the right names.
			order = slices.Clone(names)
			slices.Reverse(order)
		}
		for _, zone := range order {
			z, err := f.transferZone(tr, zone, origin, serial)
			if !errors.Is(err, transfer.ErrNotAuthoritative) {
				return z, err
			}
		}
	}
	return auditZone{}, transfer.ErrNotAuthoritative
}

// transferZone reads zone from tr and keeps the records at and below origin. The channel is
// always drained, so the Transferer's goroutine ends.
func (f *Flatten) transferZone(tr transfer.Transferer, zone, origin string, serial uint32) (auditZone, error) {
	ch, err := tr.Transfer(zone, serial)
	if err != nil {
		return auditZone{}, err
	}
	var rrs []dns.RR
	for batch := range ch {
		rrs = append(rrs, batch...)
	}
	z := auditZone{zone: rules.Zone{Origin: origin}}
	if len(rrs) > 0 {
		if soa, ok := rrs[0].(*dns.SOA); ok {
			z.serial = soa.Serial
		}
	}
	if len(rrs) <= 1 && serial != 0 {
		return z, nil // only the SOA: unchanged
	}
	if zone != origin {
		kept := rrs[:0]
		for _, rr := range rrs {
			if dns.IsSubDomain(origin, rr.Header().Name) {
				kept = append(kept, rr)
			}
		}
		rrs = kept
	}
	z.zone.Records = dns.Dedup(rrs, nil)
	if z.zone.Records == nil {
		z.zone.Records = []dns.RR{} // read, and empty: not "unchanged"
	}
	return z, nil
}

// apexIndex returns the records of every apex that holds a CNAME beside data other than SOA, NS and
// DNSSEC records, or nil when there is none.
func apexIndex(zones []rules.Zone) map[string]apexRecords {
	var idx map[string]apexRecords
	for _, z := range zones {
		at := apexRecords{}
		for _, rr := range z.Records {
			if equalFold(rr.Header().Name, z.Origin) {
				at[rr.Header().Rrtype] = append(at[rr.Header().Rrtype], rr)
			}
		}
		if len(at[dns.TypeCNAME]) == 0 {
			continue
		}
		for t := range at {
			if !apexNative(t) {
				if idx == nil {
					idx = map[string]apexRecords{}
				}
				idx[z.Origin] = at
				break
			}
		}
	}
	return idx
}

// apexNative reports whether questions of type t at an apex are answered by the rest of the plugin
// chain as usual: the CNAME itself, the types the file plugin answers at an apex in any case,
// DNSSEC types, transfers, and A/AAAA (flattened).
func apexNative(t uint16) bool {
	switch t {
	case dns.TypeCNAME, dns.TypeSOA, dns.TypeNS, dns.TypeA, dns.TypeAAAA, dns.TypeRRSIG, dns.TypeNSEC,
		dns.TypeNSEC3, dns.TypeNSEC3PARAM, dns.TypeDNSKEY, dns.TypeDS, dns.TypeAXFR, dns.TypeIXFR, dns.TypeANY:
		return true
	}
	return false
}

// oracle adapts a Lookuper (the resolver option) to the rules' Oracle.
type oracle struct{ l Lookuper }

func (o oracle) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*resolverTimeout)
	defer cancel()
	m, err := o.l.Lookup(ctx, request.Request{}, name, qtype)
	if err == nil && m == nil {
		err = errors.New("no answer")
	}
	return m, err
}
