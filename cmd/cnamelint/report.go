package main

// What a run found, and the exit status it gives; written as text or JSON here, as SARIF in
// sarif.go.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dnsflatten/flatten/plugin/rules"
)

// Exit statuses, in the order they take precedence: a run that could not read an input says so
// before anything else, findings come before a check left incomplete.
const (
	exitClean      = 0 // nothing at or above -fail-on, every name checked
	exitFindings   = 1 // a finding at or above -fail-on
	exitInput      = 2 // a usage error, an input not read, a resolver that answers nothing
	exitIncomplete = 3 // names the resolver did not answer about were left unchecked
)

// Rules of the linter's own, for what is not a finding about the zones: in JSON and SARIF beside
// the findings, so that a reader of either sees them.
const (
	ruleNotChecked = "not-checked" // a name the resolver did not answer about
	ruleInputError = "input-error" // an input not read, a bad flag, a resolver that answers nothing
)

// report is what one run gives.
type report struct {
	resolver  string // "" offline
	zones     int
	outcome   // findings, names not checked
	inputs    []inputError
	threshold rules.Severity
	incompOK  bool
	transfers map[string]bool // the names of the zones read by transfer (SERVER/ZONE)
}

// exitCode is the run's status: 2 > 1 > 3 > 0.
func (r *report) exitCode() int {
	switch {
	case len(r.inputs) > 0:
		return exitInput
	case slices.ContainsFunc(r.findings, func(f rules.Finding) bool { return f.Severity >= r.threshold }):
		return exitFindings
	case (len(r.failed) > 0 || r.timedOut) && !r.incompOK:
		return exitIncomplete
	}
	return exitClean
}

// failedSummary is "N name(s) not checked: resolver R: ERROR", with the error most names got.
func (r *report) failedSummary() string {
	if len(r.failed) == 0 {
		return ""
	}
	count := map[string]int{}
	for _, f := range r.failed {
		count[f.Error]++
	}
	errs := make([]string, 0, len(count))
	for e := range count {
		errs = append(errs, e)
	}
	slices.SortFunc(errs, func(a, b string) int { return cmp.Or(count[b]-count[a], strings.Compare(a, b)) })
	s := fmt.Sprintf("%d name(s) not checked: resolver %s: %s", len(r.failed), r.resolver, errs[0])
	if len(errs) > 1 {
		s += fmt.Sprintf(" (and %d other error(s))", len(errs)-1)
	}
	return s
}

// timeoutNote says the run's time ran out before every check was made.
func (r *report) timeoutNote() string {
	if !r.timedOut {
		return ""
	}
	return fmt.Sprintf("the run's %s ran out before every check was made: the checks not made by then are not reported", runTimeout)
}

// offlineNote is the note on what offline mode left alone.
func (r *report) offlineNote() string {
	if r.unchecked == 0 {
		return ""
	}
	return fmt.Sprintf("%d outside target(s) not checked: give -resolver to check them", r.unchecked)
}

// unread returns the inputs that could not be read.
func (r *report) unread() []inputError {
	var out []inputError
	for _, e := range r.inputs {
		if e.file != "" {
			out = append(out, e)
		}
	}
	return out
}

// notChecked is a name the resolver did not answer about, as a finding-shaped entry.
func notChecked(f rules.Failure) rules.Finding {
	owner := f.Owner
	if owner == "" {
		owner = f.Name
	}
	return rules.Finding{Severity: rules.Warning, Rule: ruleNotChecked, Owner: owner, File: f.File, Line: f.Line,
		Message: fmt.Sprintf("%s %s not checked: the resolver gave no answer (%s)", f.Name, f.Type, f.Error),
		Fix:     "run again when the resolver answers, or give one that does (-resolver)"}
}

// inputFinding is an input error as a finding-shaped entry.
func inputFinding(e inputError) rules.Finding {
	fix := "correct the input; the other inputs were checked"
	if e.file == "" {
		fix = "correct the command line, or the setting named (cnamelint -h lists the flags)"
	}
	return rules.Finding{Severity: rules.Error, Rule: ruleInputError, File: e.file, Message: e.err.Error(), Fix: fix}
}

// writeText writes each finding as FILE:LINE: SEVERITY RULE OWNER: MESSAGE (RFC); fix: FIX, the
// names not checked in the same form, a summary, and the notes on what was not checked. Input
// errors went to standard error as they happened.
func (r *report) writeText(w io.Writer) {
	counts := map[rules.Severity]int{}
	for _, f := range r.findings {
		fmt.Fprintln(w, f.Located())
		counts[f.Severity]++
	}
	for _, f := range r.failed {
		nc := notChecked(f)
		where := ""
		if nc.File != "" {
			where = fmt.Sprintf("%s:%d: ", nc.File, nc.Line)
		}
		fmt.Fprintf(w, "%s%s %s %s: %s\n", where, nc.Severity, nc.Rule, nc.Owner, nc.Message)
	}
	parts := []string{}
	for s := rules.Critical; s >= rules.Info; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "%d zone(s), %d finding(s): %s\n", r.zones, len(r.findings), strings.Join(parts, ", "))
	if s := r.failedSummary(); s != "" {
		fmt.Fprintln(w, s)
	}
	if s := r.timeoutNote(); s != "" {
		fmt.Fprintln(w, s)
	}
	if s := r.offlineNote(); s != "" {
		fmt.Fprintln(w, s)
	}
	for _, s := range r.notes {
		fmt.Fprintln(w, s)
	}
	if n := len(r.unread()); n > 0 {
		fmt.Fprintf(w, "%d input(s) not read: see the errors on standard error\n", n)
	}
}

// writeJSON writes one array: the findings, then the names not checked (rule not-checked) and the
// inputs not read (rule input-error), so that standard output is JSON in every case. The notes on
// what was not checked go to standard error too.
func (r *report) writeJSON(w, errw io.Writer) error {
	out := make([]rules.Finding, 0, len(r.findings)+len(r.failed)+len(r.inputs))
	out = append(out, r.findings...)
	for _, f := range r.failed {
		out = append(out, notChecked(f))
	}
	for _, e := range r.inputs {
		out = append(out, inputFinding(e))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // -> in messages stays readable
	for _, s := range append([]string{r.failedSummary(), r.timeoutNote(), r.offlineNote()}, r.notes...) {
		if s != "" {
			fmt.Fprintln(errw, "cnamelint:", s)
		}
	}
	return enc.Encode(out)
}
