package rules

// The findings about one CNAME chain, whoever walked it: the zone audit and the linter over zone
// data, the server over live answers. Each builds the same severity, rule, text and fix from the
// chain's names, so an operator reads one message wherever the problem was met.

import (
	"fmt"
	"strings"
)

// LoopFinding is the finding for a chain that comes back to a name it has seen: names is the
// chain as walked, ending with the repeated name; record is the CNAME that closes the loop, if
// known.
func LoopFinding(names []string, record string) Finding {
	return Finding{Severity: Error, Rule: RuleLoop, Owner: names[0], Record: record,
		RFC:     "RFC 1034 3.6.2",
		Message: "CNAME loop: " + strings.Join(names, " -> "),
		Fix:     "point one CNAME of the loop at a name that holds addresses"}
}

// LongChainFinding is the finding for a chain of more than max hops: names is the chain from its
// head to where it was stopped or ends.
func LongChainFinding(names []string, max int) Finding {
	head, end := names[0], names[len(names)-1]
	return Finding{Severity: Warning, Rule: RuleTooLong, Owner: head,
		RFC:     "RFC 1034 3.6.2",
		Message: fmt.Sprintf("CNAME chain of %d hops, more than max_chain %d: %s", len(names)-1, max, strings.Join(names, " -> ")),
		Fix:     "point " + head + " at the chain's end, " + end + ", directly"}
}

// StoppedChainFinding is the finding for a chain a live answer stopped following once it had more
// than max hops: names is the chain from its head to the name it stopped at, which is not the
// chain's end (the audit and the linter, which walk it whole, name that).
func StoppedChainFinding(names []string, max int) Finding {
	head, last := names[0], names[len(names)-1]
	return Finding{Severity: Warning, Rule: RuleTooLong, Owner: head,
		RFC:     "RFC 1034 3.6.2",
		Message: fmt.Sprintf("CNAME chain of more than max_chain %d hops from %s, not followed past %s: %s", max, head, last, strings.Join(names, " -> ")),
		Fix:     "point " + head + " at the chain's end directly (the audit and cnamelint name the end)"}
}

// MultipleFinding is the finding for a name that owns more than one CNAME.
func MultipleFinding(owner, record string, targets []string) Finding {
	return Finding{Severity: Error, Rule: RuleMultiple, Owner: owner, Record: record,
		RFC:     "RFC 2181 10.1",
		Message: fmt.Sprintf("%d CNAMEs (%s): a name has at most one canonical name", len(targets), strings.Join(targets, ", ")),
		Fix:     "keep one CNAME"}
}

// DanglingFinding is the finding for a chain whose last name does not exist (NXDOMAIN): names is
// the chain from the alias to the missing target; record is the alias's CNAME, if known. A target
// under a provider suffix whose abandoned names anyone can claim again (by suffixes, the takeover
// table) is a critical takeover risk; otherwise it is a dangling CNAME.
func DanglingFinding(names []string, record string, suffixes Suffixes) Finding {
	if suffixes == nil {
		suffixes = DefaultSuffixes
	}
	head, end := names[0], names[len(names)-1]
	path := strings.Join(names, " -> ")
	f := Finding{Severity: Warning, Rule: RuleDangling, Owner: head, Record: record,
		RFC:     "RFC 1034 3.6.2",
		Message: "dangling CNAME: " + end + " does not exist (NXDOMAIN): " + path,
		Fix:     "remove the CNAME, or create " + end}
	if p, ok := suffixes.Match(end); ok {
		switch p.Claim {
		case Vulnerable, Edge:
			claim := "can be claimed by anyone (known takeovers; " + p.Note + ")"
			if p.Claim == Edge {
				claim = "may be claimed again under conditions (" + p.Note + ")"
			}
			f.Severity, f.Rule = Critical, RuleTakeover
			f.Message = fmt.Sprintf("subdomain-takeover risk: %s does not exist and names under %s %s: %s", end, p.Suffix, claim, path)
			f.Fix = "remove the CNAME now, or claim " + end + " back at the provider"
		case NotVulnerable:
			f.Message += " (" + p.Suffix + " names cannot be claimed by others: " + p.Note + ")"
		}
	}
	return f
}
