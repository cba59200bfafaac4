package main

// SARIF 2.1.0 output (-format sarif), the format code-scanning dashboards read (GitHub, GitLab,
// Azure DevOps, editors' SARIF viewers): one run, the rules with their RFC and help, a result for
// each finding with its level, location, message and fix, and the inputs not read as the run's
// notifications.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/dnsflatten/flatten/plugin/rules"
)

const (
	sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"
	readmeURI   = "https://github.com/dnsflatten/flatten/blob/main/cmd/cnamelint/README.md"
	srcRoot     = "SRCROOT" // the working directory, which relative file names are read from
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                `json:"tool"`
	Invocations        []sarifInvocation        `json:"invocations"`
	OriginalURIBaseIDs map[string]sarifArtifact `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult            `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifText       `json:"help"`
	HelpURI              string          `json:"helpUri"`
	DefaultConfiguration sarifConfig     `json:"defaultConfiguration"`
	Properties           sarifProperties `json:"properties"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifProperties struct {
	Tags             []string `json:"tags,omitempty"`
	SecuritySeverity string   `json:"security-severity,omitempty"`
	Precision        string   `json:"precision,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	ExitCode            int                 `json:"exitCode"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Kind                string            `json:"kind,omitempty"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical        `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLoction `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogicalLoction struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
}

// sarifLevel maps a severity to SARIF's levels: critical and error are errors.
func sarifLevel(s rules.Severity) string {
	switch s {
	case rules.Critical, rules.Error:
		return "error"
	case rules.Warning:
		return "warning"
	}
	return "note"
}

var firstRFC = regexp.MustCompile(`RFC (\d+)(?: (\d+(?:\.\d+)*))?`)

// rfcURI links a rule's first RFC (and section) at the RFC Editor; a rule without one, the README.
func rfcURI(ref string) string {
	m := firstRFC.FindStringSubmatch(ref)
	if m == nil {
		return readmeURI + "#rules"
	}
	uri := "https://www.rfc-editor.org/rfc/rfc" + m[1]
	if m[2] != "" {
		uri += "#section-" + m[2]
	}
	return uri
}

// sarifRules describes every rule of the catalog, and the linter's own not-checked.
func sarifRules() []sarifRule {
	cat := append(rules.Catalog(), rules.RuleInfo{ID: ruleNotChecked, Severity: rules.Warning,
		Summary: "A name outside the zones that a check needed, and the resolver did not answer about.",
		Why:     "The check was not made: its finding, if any, is unknown.",
		Fix:     "Run again when the resolver answers, or give one that does (-resolver).",
		RFC:     "cnamelint's own"})
	out := make([]sarifRule, 0, len(cat))
	for _, r := range cat {
		tags := []string{"dns"}
		props := sarifProperties{Precision: "very-high"}
		if r.Security {
			tags = append(tags, "security")
			props.SecuritySeverity = "9.1"
		}
		props.Tags = tags
		help := fmt.Sprintf("%s %s Fix: %s (%s)", r.Summary, r.Why, r.Fix, r.RFC)
		out = append(out, sarifRule{
			ID:                   r.ID,
			Name:                 ruleName(r.ID),
			ShortDescription:     sarifText{Text: r.Summary},
			FullDescription:      sarifText{Text: r.Summary + " " + r.Why},
			Help:                 sarifText{Text: help, Markdown: fmt.Sprintf("%s %s\n\n**Fix:** %s\n\nSee [%s](%s).", r.Summary, r.Why, r.Fix, r.RFC, rfcURI(r.RFC))},
			HelpURI:              rfcURI(r.RFC),
			DefaultConfiguration: sarifConfig{Level: sarifLevel(r.Severity)},
			Properties:           props,
		})
	}
	return out
}

// ruleName is a rule's id in CamelCase, as SARIF names rules: cname-loop is CnameLoop.
func ruleName(id string) string {
	parts := strings.Split(id, "-")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, "")
}

// artifact is the location of a file as SARIF writes it: a relative path as a URI reference from
// the working directory (SRCROOT), an absolute one as a file URI, a transferred zone as a DNS URI
// (RFC 4501).
func (r *report) artifact(name string) sarifArtifact {
	if r.transfers[name] {
		return sarifArtifact{URI: "dns://" + name}
	}
	if filepath.IsAbs(name) {
		return sarifArtifact{URI: fileURI(name)}
	}
	segs := strings.Split(filepath.ToSlash(filepath.Clean(name)), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	uri := strings.Join(segs, "/")
	if strings.Contains(segs[0], ":") { // it would read as a scheme
		uri = "./" + uri
	}
	return sarifArtifact{URI: uri, URIBaseID: srcRoot}
}

// fileURI is an absolute path as a file URI (RFC 8089): file:///etc/zone, file:///C:/zones/db.
func fileURI(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a drive letter
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// location is where a finding is: its file and line, and its owner name.
func (r *report) location(file string, line int, owner string) sarifLocation {
	loc := sarifLocation{}
	if file != "" {
		loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: r.artifact(file)}
		if line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: line}
		}
	}
	if owner != "" {
		loc.LogicalLocations = []sarifLogicalLoction{{FullyQualifiedName: owner}}
	}
	return loc
}

// fingerprint identifies a finding across runs whatever line it moved to: its file, rule, owner
// and record (for a name not checked, which quotes no record, the name and type, never the error,
// which changes from run to run).
func fingerprint(f rules.Finding) string {
	what := f.Record
	if what == "" {
		what, _, _ = strings.Cut(f.Message, " not checked")
	}
	sum := sha256.Sum256([]byte(f.File + "\x00" + f.Rule + "\x00" + f.Owner + "\x00" + what))
	return hex.EncodeToString(sum[:16])
}

// writeSARIF writes the report as a SARIF 2.1.0 log.
func (r *report) writeSARIF(w io.Writer) error {
	rs := sarifRules()
	index := map[string]int{}
	for i, rule := range rs {
		index[rule.ID] = i
	}
	results := make([]sarifResult, 0, len(r.findings)+len(r.failed))
	add := func(f rules.Finding, kind, level string) {
		text := f.Message
		if f.RFC != "" {
			text += " (" + f.RFC + ")"
		}
		text += ". Fix: " + f.Fix + "."
		props := map[string]any{"severity": f.Severity.String(), "owner": f.Owner, "fix": f.Fix}
		if f.Record != "" {
			props["record"] = f.Record
		}
		if f.RFC != "" {
			props["rfc"] = f.RFC
		}
		results = append(results, sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Kind: kind, Level: level,
			Message:             sarifText{Text: text},
			Locations:           []sarifLocation{r.location(f.File, f.Line, f.Owner)},
			PartialFingerprints: map[string]string{"cnamelintFinding/v1": fingerprint(f)},
			Properties:          props,
		})
	}
	for _, f := range r.findings {
		add(f, "", sarifLevel(f.Severity))
	}
	// A check not made is neither passed nor failed: SARIF's kind "open" (3.27.9), whose level is
	// "none"; the run's notification says it at warning level.
	for _, f := range r.failed {
		add(notChecked(f), "open", "none")
	}
	inv := sarifInvocation{ExecutionSuccessful: len(r.inputs) == 0, ExitCode: r.exitCode()}
	for _, e := range r.inputs {
		n := sarifNotification{Level: "error", Message: sarifText{Text: e.err.Error()}}
		if e.file != "" {
			n.Locations = []sarifLocation{r.location(e.file, 0, "")}
		}
		inv.Notifications = append(inv.Notifications, n)
	}
	for _, s := range []string{r.failedSummary(), r.timeoutNote()} {
		if s != "" {
			inv.Notifications = append(inv.Notifications, sarifNotification{Level: "warning", Message: sarifText{Text: s}})
		}
	}
	for _, s := range append([]string{r.offlineNote()}, r.notes...) {
		if s != "" {
			inv.Notifications = append(inv.Notifications, sarifNotification{Level: "note", Message: sarifText{Text: s}})
		}
	}
	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriver{Name: "cnamelint", Version: version(), InformationURI: readmeURI, Rules: rs}},
		Invocations: []sarifInvocation{inv},
		Results:     results,
	}
	if wd, err := os.Getwd(); err == nil {
		root := fileURI(wd) + "/"
		run.OriginalURIBaseIDs = map[string]sarifArtifact{srcRoot: {URI: root}}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // -> in messages stays readable
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: "2.1.0", Runs: []sarifRun{run}})
}

// version is the module's version the linter was built from ("(devel)" for a local build).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return ""
}
