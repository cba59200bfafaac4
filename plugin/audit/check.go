package audit

// The audit's check: every rule over the zones read, one check at a time, its findings logged,
// counted and published as metrics, with the names outside the zones that names in them reach.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/rules"
)

// checker runs the checks queued, one at a time, behind the answers (background).
func (a *Auditor) checker() {
	background()
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
func (a *Auditor) check(job checkJob) {
	all := make([]rules.Zone, 0, len(job.zones))
	for _, origin := range slices.Sorted(maps.Keys(job.zones)) {
		z := job.zones[origin]
		all = append(all, rules.Zone{Origin: origin, Records: z.records, Partial: z.partial})
	}
	if a.outside != nil {
		a.outside.reset()
	}
	if a.prober != nil {
		a.prober.Forget()
	}
	cfg := a.rules
	cfg.Outside = a.aliases
	if cfg.Outside == nil {
		cfg.Outside = map[string]string{}
	}
	res := rules.Run(job.ctx, all, cfg)
	findings := res.Findings
	if job.ctx.Err() != nil {
		return // superseded: the newer check reports
	}
	standing := map[[3]string]float64{}
	for _, fd := range findings {
		findingCount.WithLabelValues(fd.Rule, fd.Severity.String()).Inc()
		standing[[3]string{zoneOf(fd.Owner, job.zones), fd.Rule, fd.Severity.String()}]++
	}
	var published []gauge
	for k, n := range standing {
		published = append(published, gauge{labels: []string{k[0], k[1], k[2]}, zone: a.figureZone(k[0]), value: n})
	}
	read := make([]string, 0, len(job.zones)+1)
	for origin := range job.zones {
		read = append(read, origin)
	}
	read = append(read, a.unread)
	a.standing.publish(published, read)
	a.references(res.Outside, read)
	unchecked := a.incomplete(res.Failed, job.zones, read)
	a.mu.Lock()
	a.last = findings
	for origin, z := range job.zones {
		a.checked[origin] = z.print
	}
	a.mu.Unlock()
	auditDuration.Set(time.Since(job.start).Seconds()) // the whole audit: the reverse map included
	for _, z := range all {
		log.Infof("audit of %s (serial %d, %d records): %s", z.Origin, job.zones[z.Origin].serial, len(z.Records), summarize(findings, z.Origin, job.zones))
	}
	for _, fd := range findings {
		logFinding("audit: ", fd)
	}
	if unchecked != "" {
		log.Warning(unchecked)
	}
	if n := len(res.Unchecked); n > 0 && !a.saidOffline {
		a.saidOffline = true // a fact of the configuration: said once
		log.Infof("audit: %d name(s) outside the zones are not checked: this server resolves no names outside its zones; give flatten a resolver, or the block a forward, to check them", n)
	}
}

// figureZone is the zone a gauge figure comes from (gauges.go): zone, or, for names in no zone read
// (""), the plugin's ZONES.
func (a *Auditor) figureZone(zone string) string {
	if zone == "" {
		return a.unread
	}
	return zone
}

// references publishes, for every name outside the zones that names in them reach (CNAME and
// AliasMode chains, declared aliases, MX, SRV and NS targets), how many names do: an alert can fire
// when a cloud resource, mail provider or CDN name about to be removed still has names pointing
// at it (the deprovisioning guard cnamelint -points-at gives the list).
func (a *Auditor) references(outside map[string]map[string]int, read []string) {
	published := make([]gauge, 0, len(outside))
	for target, byZone := range outside {
		if a.holds(target) {
			continue
		}
		for zone, n := range byZone {
			published = append(published, gauge{labels: []string{target}, zone: a.figureZone(zone), value: float64(n)})
		}
	}
	a.referenced.publish(published, read)
}

// incomplete publishes, for each zone audited, how many names outside the zones its checks
// needed and got no answer about, and returns the one warning the pass logs when there were any:
// a resolver that does not answer must not look like a clean audit.
func (a *Auditor) incomplete(failed []rules.Failure, zones map[string]zoneRead, read []string) string {
	per := make(map[string]float64, len(zones))
	for origin := range zones {
		per[origin] = 0
	}
	errs := map[string]int{}
	names := make([]string, 0, min(len(failed), 5))
	for _, f := range failed {
		per[zoneOf(f.Owner, zones)]++
		errs[f.Error]++
		if len(names) < 5 {
			names = append(names, f.Name+" "+f.Type)
		}
	}
	published := make([]gauge, 0, len(per))
	for zone, n := range per {
		published = append(published, gauge{labels: []string{zone}, zone: a.figureZone(zone), value: n})
	}
	a.unchecked.publish(published, read)
	if len(failed) == 0 {
		return ""
	}
	common := ""
	for e, n := range errs {
		if n > errs[common] || n == errs[common] && e < common {
			common = e
		}
	}
	more := ""
	if len(failed) > len(names) {
		more = fmt.Sprintf(" and %d more", len(failed)-len(names))
	}
	return fmt.Sprintf("audit: %d name(s) outside the zones not checked, no answer after one retry (%s): %s%s; their findings are unknown until the resolver answers",
		len(failed), common, strings.Join(names, ", "), more)
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
		if chain.In(name, origin) && len(origin) > len(best) {
			best = origin
		}
	}
	return best
}
