package flatten

// Live validation: what the plugin meets while answering (loops, chains too long, dangling
// targets, failed lookups) is logged, once a minute per name and problem, and counted. Findings
// are worded by plugin/rules, exactly as the zone audit and the linter word them.

import (
	"context"
	"errors"

	"github.com/coredns/coredns/plugin/metrics"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// reporter logs and counts what live answers meet.
type reporter struct {
	logs *limiter
}

var errDangling = errors.New("dangling")

// broken reports a chain the plugin refused to answer from, or a failed lookup.
func (rp *reporter) broken(ctx context.Context, qname string, qtype uint16, err error) {
	var ce *ChainError
	if errors.As(err, &ce) {
		server := metrics.WithServer(ctx)
		switch ce.Kind {
		case Loop:
			loopCount.WithLabelValues(server).Inc()
		case TooLong:
			tooLongCount.WithLabelValues(server).Inc()
		case Prohibited:
			prohibitedCount.WithLabelValues(server).Inc()
		}
		fd := ce.finding()
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
	if le, ok := err.(*LookupError); ok && le.Cause == Referral && le.Via != "" {
		text += "; point 'resolver' at a recursive server"
	}
	log.Warningf("%s %s: %s", qname, dns.TypeToString[qtype], text)
}

// dangling reports a chain whose last name does not exist: a subdomain-takeover risk when the
// target is under a provider suffix whose abandoned names anyone can claim.
func (rp *reporter) dangling(ctx context.Context, names []string) {
	danglingCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	fd := rules.DanglingFinding(names, "", nil)
	findingCount.WithLabelValues(fd.Rule, fd.Severity.String()).Inc()
	if rp.logs.allow(names[0], errDangling) {
		logFinding("", fd)
	}
}

// stale reports an answer served from expired data.
func (rp *reporter) stale(ctx context.Context, name string, err error) {
	staleCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	if rp.logs.allow(name, errStale) {
		log.Warningf("%s: serving stale data: %s", name, err)
	}
}

var errStale = errors.New("stale")

// fallback reports an answer at a declared alias taken from the zone's own records because the
// target's lookup failed.
func (rp *reporter) fallback(ctx context.Context, qname string, qtype uint16, err error) {
	fallbackCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	if rp.logs.allow(qname, errFallback) {
		log.Warningf("%s %s: %s; answered from the zone's own records, TTL %d", qname, dns.TypeToString[qtype], err, staleTTL)
	}
}

var errFallback = errors.New("fallback")

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
