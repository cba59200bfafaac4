package rules

// The target-not-allowed rule: chains must stay within the zones checked and the zones of
// Config.Targets.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// newTargets is the set of the zones in targets, lower-case and absolute; nil for nil.
func newTargets(targets []string) map[string]bool {
	if targets == nil {
		return nil
	}
	set := make(map[string]bool, len(targets))
	for _, t := range targets {
		set[dns.CanonicalName(t)] = true
	}
	return set
}

// allowed reports whether a chain may lead to name, a lower-case name outside the zones checked:
// there is no limit, or name is at or below one of the zones of Config.Targets.
func (c *checker) allowed(name string) bool {
	if c.targets == nil {
		return true
	}
	for n := name; n != ""; n = parent(n) {
		if c.targets[n] {
			return true
		}
	}
	return false
}

// notAllowed is the finding for a chain (names, from its head; record is the head's alias record)
// that leaves the zones checked and the targets allowed at its last name.
func (c *checker) notAllowed(names []string, record string) Finding {
	zones := make([]string, 0, len(c.targets))
	for z := range c.targets {
		zones = append(zones, z)
	}
	return NotAllowedFinding(names, record, zones)
}

// NotAllowedFinding is the finding for a chain (names, from its head; record is the head's alias
// record, if known) that leaves the zones checked and the targets allowed (zones) at its last
// name; the server's live answers word it the same way.
func NotAllowedFinding(names []string, record string, zones []string) Finding {
	head, out := names[0], names[len(names)-1]
	zones = slices.Sorted(slices.Values(zones))
	where := "which is outside the zones checked, and no other zone is allowed"
	if len(zones) > 0 {
		where = "which is under none of the zones checked nor the targets allowed (" + strings.Join(zones, ", ") + ")"
	}
	return Finding{Severity: Error, Rule: RuleNotAllowed, Owner: head, Record: record,
		RFC:     "local policy: the targets option, cnamelint -targets",
		Message: fmt.Sprintf("CNAME chain leaves the targets allowed at %s, %s: %s", out, where, strings.Join(names, " -> ")),
		Fix:     fmt.Sprintf("point %s at a name under a zone allowed, or allow the zone of %s", head, out)}
}
