package rules

// Records that cannot be read, as unparsable-record findings.

import (
	"strings"

	"github.com/miekg/dns"
)

// finding is the unparsable-record finding for p.
func (p problem) finding(origin string) Finding {
	owner := origin
	if p.owner != "" {
		owner = dns.CanonicalName(p.owner)
	}
	return Finding{Severity: Error, Rule: RuleUnparsable, Owner: owner, Record: p.text, File: p.file, Line: p.line,
		RFC:     "RFC 1035 5.1",
		Message: p.msg,
		Fix:     "correct the record; named-checkzone shows how BIND reads it"}
}

func (r *reader) problem(owner, file string, line int, text, msg string) {
	r.problems = append(r.problems, problem{seq: r.seq, owner: owner, file: file, line: line, text: text, msg: msg})
}

// text writes toks back as one line, for a finding.
func text(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		if t.quoted {
			b.WriteString(`"` + t.text + `"`)
		} else {
			b.WriteString(t.text)
		}
	}
	return b.String()
}
