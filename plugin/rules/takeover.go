package rules

// The takeover table: provider suffixes whose abandoned names can be claimed again.

import (
	_ "embed"
	"path"
	"strings"

	"github.com/miekg/dns"
)

//go:embed takeover-suffixes.tsv
var takeoverTSV string

//go:embed dns-hosts.tsv
var dnsHostsTSV string

// Claim says whether an abandoned name under a provider's suffix can be claimed again by anyone.
type Claim int

const (
	// Unknown: the suffix is not in the table.
	Unknown Claim = iota
	// Vulnerable: public references show takeovers of such names.
	Vulnerable
	// Edge: takeovers are possible only under conditions (reserved names, some name forms).
	Edge
	// NotVulnerable: public references list the provider as not claimable.
	NotVulnerable
)

// Provider is one row of the takeover table (or of the DNS hosts table, where Suffix is a
// pattern of name server names).
type Provider struct {
	Suffix string
	Claim  Claim
	Note   string
	// Source is where the row can be checked, and Date the date of that version.
	Source string
	Date   string
}

// Suffixes is the table of provider suffixes, longest match first.
type Suffixes []Provider

// DefaultSuffixes is the project's own table, embedded at build time.
var DefaultSuffixes = parseSuffixes(takeoverTSV)

// DNSHosts is the table of DNS hosting providers, by patterns of their name servers' names, and
// whether anyone may create a zone there for any name (see MatchHost); embedded at build time.
var DNSHosts = parseSuffixes(dnsHostsTSV)

// parseSuffixes reads a table of rows "suffix status [note [source date]]", tab-separated; lines
// starting with # and the header row are skipped.
func parseSuffixes(tsv string) Suffixes {
	var s Suffixes
	for line := range strings.SplitSeq(tsv, "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 || strings.HasPrefix(line, "#") || f[0] == "suffix" || f[0] == "pattern" {
			continue
		}
		p := Provider{Suffix: dns.Fqdn(strings.ToLower(f[0]))}
		switch f[1] {
		case "vulnerable":
			p.Claim = Vulnerable
		case "edge":
			p.Claim = Edge
		case "not-vulnerable":
			p.Claim = NotVulnerable
		default:
			continue
		}
		if len(f) > 2 {
			p.Note = f[2]
		}
		if len(f) > 4 {
			p.Source, p.Date = f[3], f[4]
		}
		s = append(s, p)
	}
	return s
}

// Match returns the provider whose suffix name is under (the longest such suffix), if any.
func (s Suffixes) Match(name string) (Provider, bool) {
	var best Provider
	found := false
	for _, p := range s {
		if dns.IsSubDomain(p.Suffix, name) && p.Suffix != dns.CanonicalName(name) && len(p.Suffix) > len(best.Suffix) {
			best, found = p, true
		}
	}
	return best, found
}

// MatchHost returns the row whose pattern matches the name server name ns (in the DNS hosts
// table, a pattern is a lower-case name without its trailing dot, where * stands for any run of
// characters, dots included), if any: the first that matches.
func (s Suffixes) MatchHost(ns string) (Provider, bool) {
	name := strings.TrimSuffix(dns.CanonicalName(ns), ".")
	for _, p := range s {
		if ok, _ := path.Match(strings.TrimSuffix(p.Suffix, "."), name); ok {
			return p, true
		}
	}
	return Provider{}, false
}
