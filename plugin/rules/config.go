package rules

// What Run is given and what it gives back: the Oracle, the Config and the Result.

import (
	"context"

	"github.com/miekg/dns"
)

// Oracle answers questions about names the zones given do not hold: dangling targets and email
// checks. Lookup returns the reply of a recursive resolver (CNAMEs followed), or an error.
type Oracle interface {
	Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
}

// Config tunes Check.
type Config struct {
	// MaxChain is the number of CNAME hops allowed; 0 means 10.
	MaxChain int
	// Oracle resolves names outside the zones; nil skips the checks that need it.
	Oracle Oracle
	// Suffixes is the takeover table; nil means DefaultSuffixes.
	Suffixes Suffixes
	// Parallel is the number of Oracle questions asked at a time; 0 means 8. Each distinct
	// question (name and type) is asked once.
	Parallel int
	// Targets are the zones outside the zones checked that chains may lead into; nil puts no
	// limit. A chain (CNAME, AliasMode, DNAME) that reaches a name under none of the zones checked
	// and none of these is a target-not-allowed finding, and is followed no further: no question
	// is asked about that name or what follows it.
	Targets []string
	// Prober asks the name servers of each delegation and apex whether they serve the zone, for
	// the lame-delegation rule; nil skips it. Probes count against Parallel as Oracle questions
	// do, and each (zone, server) is probed once.
	Prober Prober
	// Outside, when set, has Run count the references to the names outside the zones (as
	// References gives them, with these declared aliases beside the zones' records) into
	// Result.Outside, on the index the rules use: no second reading of the zones.
	Outside map[string]string
}

// Result is what Run found.
type Result struct {
	// Findings ordered by owner name and rule.
	Findings []Finding
	// Unchecked are the names outside the zones that checks needed to ask about and did not,
	// because Config.Oracle is nil or had no way to ask (ErrNotAsked): dangling targets, MX/NS/SRV
	// targets, email delegations.
	Unchecked []string
	// Lookups is the number of distinct questions asked of the Oracle.
	Lookups int
	// Incomplete is true when Run's context ended before every check ran: the findings are
	// those made by then.
	Incomplete bool
	// Outside is, with Config.Outside set, the number of references to each name outside the
	// zones (see References), by the zone of the name that refers.
	Outside map[string]map[string]int
	// Failed are the names outside the zones whose checks the Oracle could not answer (an error,
	// SERVFAIL, REFUSED; each asked twice): the findings are incomplete without them.
	Failed []Failure
}
