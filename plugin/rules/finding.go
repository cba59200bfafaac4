// Package rules holds the CNAME validation rules: pure functions over the records of one or more
// zones. The server's zone audit, its live checks and the cnamelint command all use them. The rules
// do no DNS I/O themselves; what they need to know about names outside the zones they are given
// comes through an Oracle.
package rules

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity orders findings.
type Severity int

const (
	// Info is worth knowing; nothing breaks.
	Info Severity = iota
	// Warning: something may break or already does for some clients.
	Warning
	// Error: the data breaks a MUST of an RFC, or answers are wrong.
	Error
	// Critical: a security risk (subdomain takeover).
	Critical
)

var severityNames = []string{"info", "warning", "error", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalJSON writes the severity's name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity's name, as MarshalJSON writes it.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	v, err := ParseSeverity(name)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads a severity's name.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use one of %s", name, strings.Join(severityNames, ", "))
}

// Rule identifiers, as they appear in findings, logs and metric labels.
const (
	RuleSiblings    = "cname-and-other-data"
	RuleApex        = "cname-at-apex"
	RuleMultiple    = "multiple-cnames"
	RuleLoop        = "cname-loop"
	RuleTooLong     = "chain-too-long"
	RuleDangling    = "dangling-cname"
	RuleTakeover    = "takeover-risk"
	RuleRelative    = "relative-name"
	RuleTargetAlias = "target-is-alias"
	RuleDKIM        = "dkim-target"
	RuleMTASTS      = "mta-sts-target"
	RuleBIMI        = "bimi-target"
	RuleNoAddress   = "target-no-address"
	RuleUnparsable  = "unparsable-record"
	RuleNotAllowed  = "target-not-allowed"
	// RuleUnregistered: a target outside the zones whose registrable domain does not exist.
	RuleUnregistered = "unregistered-domain"
	// RuleLame: a delegation whose name servers do not serve the delegated zone.
	RuleLame = "lame-delegation"
)

// Finding is one broken rule: where, what, why (the RFC) and how to fix it. File and Line, when
// the zone was read from text, are where the record it is about was written (the first record of
// a rule over several).
type Finding struct {
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Owner    string   `json:"owner"`
	Record   string   `json:"record,omitempty"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	RFC      string   `json:"rfc"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

// String is the one-line form used in logs.
func (f Finding) String() string {
	return fmt.Sprintf("%s %s %s: %s (%s); fix: %s", f.Severity, f.Rule, f.Owner, f.Message, f.RFC, f.Fix)
}

// Located is the one-line form with where the finding is first, as compilers and grep -n write it
// (FILE:LINE: ...), which editors and CI annotations read.
func (f Finding) Located() string {
	if f.File == "" {
		return f.String()
	}
	if f.Line == 0 {
		return f.File + ": " + f.String()
	}
	return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f)
}
