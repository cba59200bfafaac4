package rules

// The takeover table: provider suffixes whose abandoned names can be claimed again.

import (
	_ "embed"
	"strings"

	"github.com/miekg/dns"
)

//go:embed takeover-suffixes.tsv
var takeoverTSV string

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

// Provider is one row of the takeover table.
type Provider struct {
	Suffix string
	Claim  Claim
	Note   string
}

// Suffixes is the table of provider suffixes, longest match first.
type Suffixes []Provider

// DefaultSuffixes is the project's own table, embedded at build time.
var DefaultSuffixes = parseSuffixes(takeoverTSV)

func parseSuffixes(tsv string) Suffixes {
	var s Suffixes
	for _, line := range strings.Split(tsv, "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 || strings.HasPrefix(line, "#") || f[0] == "suffix" {
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
