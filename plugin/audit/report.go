package audit

// Live validation: what the plugin meets while answering (loops, chains too long, dangling
// targets, failed lookups) is logged, once a minute per name and problem, and counted. Findings
// are worded by plugin/rules, exactly as the zone audit and the linter word them.

import (
	"context"
	"errors"
	"time"

	"github.com/coredns/coredns/plugin/metrics"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// Reporter logs and counts what live answers meet.
type Reporter struct {
	logs *limiter
}

// NewReporter returns a Reporter that logs a problem of a name at most once a minute.
func NewReporter() *Reporter { return &Reporter{logs: newLimiter(time.Minute)} }

var errDangling = errors.New("dangling")

// Broken reports a chain the plugin refused to answer from (a *chain.Error), or a failed lookup.
func (rp *Reporter) Broken(ctx context.Context, qname string, qtype uint16, err error) {
	if ce, ok := errors.AsType[*chain.Error](err); ok {
		server := metrics.WithServer(ctx)
		switch ce.Kind {
		case chain.Loop:
			loopCount.WithLabelValues(server).Inc()
		case chain.TooLong:
			tooLongCount.WithLabelValues(server).Inc()
		case chain.Prohibited:
			prohibitedCount.WithLabelValues(server).Inc()
		}
		fd := finding(ce)
		findingCount.WithLabelValues(fd.Rule, fd.Severity.String()).Inc()
		if rp.logs.allow(qname, err) {
			logFinding("", fd)
		}
		return
	}
	if !rp.logs.allow(qname, err) {
		return
	}
	text := err.Error()
	if le, ok := err.(*chain.LookupError); ok && le.Cause == chain.Referral && le.Via != "" {
		text += "; point 'resolver' at a recursive server"
	}
	log.Warningf("%s %s: %s", qname, dns.TypeToString[qtype], text)
}

// finding is the validation finding a broken chain is, as the rules word it.
func finding(e *chain.Error) rules.Finding {
	switch e.Kind {
	case chain.Loop:
		return rules.LoopFinding(e.Names, "")
	case chain.TooLong:
		return rules.StoppedChainFinding(e.Names, e.Max) // walked only as far as max_chain allows
	case chain.Prohibited:
		return rules.NotAllowedFinding(e.Names, "", e.Allowed)
	default:
		return rules.MultipleFinding(e.Names[len(e.Names)-1], "", e.Targets)
	}
}

// Dangling reports a chain (names) whose last name does not exist: a subdomain-takeover risk when
// the target is under a provider suffix whose abandoned names anyone can claim.
func (rp *Reporter) Dangling(ctx context.Context, names []string) {
	danglingCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	fd := rules.DanglingFinding(names, "", nil)
	findingCount.WithLabelValues(fd.Rule, fd.Severity.String()).Inc()
	if rp.logs.allow(names[0], errDangling) {
		logFinding("", fd)
	}
}

// Stale reports an answer served from expired data because the refresh of name failed (err).
func (rp *Reporter) Stale(ctx context.Context, name string, err error) {
	staleCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	if rp.logs.allow(name, errStale) {
		log.Warningf("%s: serving stale data: %s", name, err)
	}
}

var errStale = errors.New("stale")

// Fallback reports an answer at a declared alias taken from the zone's own records, TTL ttl,
// because the target's lookup failed.
func (rp *Reporter) Fallback(ctx context.Context, qname string, qtype uint16, err error, ttl uint32) {
	fallbackCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	if rp.logs.allow(qname, errFallback) {
		log.Warningf("%s %s: %s; answered from the zone's own records, TTL %d", qname, dns.TypeToString[qtype], err, ttl)
	}
}

var errFallback = errors.New("fallback")

// Unexpanded reports a name a zone transfer sends without the addresses its alias leads to: the
// lookup of target failed (failed), or found none.
func (rp *Reporter) Unexpanded(zone, name, target string, failed error) {
	if !rp.logs.allow(name, errUnexpanded) {
		return
	}
	if failed != nil {
		log.Warningf("transfer of %s: %s: target %s could not be resolved (%s): sent without addresses", zone, name, target, failed)
		return
	}
	log.Warningf("transfer of %s: %s: target %s does not resolve to addresses: sent without them", zone, name, target)
}

var errUnexpanded = errors.New("unexpanded")

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
