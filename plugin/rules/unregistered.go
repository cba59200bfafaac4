package rules

// The unregistered-domain rule: an alias or a host name outside the zones whose registrable
// domain does not exist can be taken by anyone who registers that domain.

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/net/publicsuffix"
)

// registrable returns the registrable domain of name, lower-case and absolute, as publicsuffix's
// EffectiveTLDPlusOne gives it: its public suffix and one label more. It returns "" when there is
// none, and when the public suffix is from the private section of the Public Suffix List (a
// provider's, such as azurewebsites.net): names there are claimed at the provider, which the
// takeover table judges, not registered.
func registrable(name string) string {
	n := strings.TrimSuffix(dns.CanonicalName(name), ".")
	suffix, icann := publicsuffix.PublicSuffix(n)
	if !icann && strings.Contains(suffix, ".") {
		return "" // a private suffix (top-level names not in the list are taken as public)
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(n)
	if err != nil {
		return ""
	}
	return reg + "."
}

// unregistered returns the registrable domain of name, a name outside the zones that does not
// exist, when the Oracle says that domain does not exist either (NXDOMAIN for its SOA): anyone
// may register it. It returns "" otherwise, or when that is not known. Each domain is asked about
// once, however many names are under it.
func (c *checker) unregistered(name string) string {
	reg := registrable(name)
	if reg == "" || c.ix.zoneOf(reg) != "" {
		return ""
	}
	if _, ok := c.cfg.Suffixes.Match(name); ok {
		return "" // a provider's name: the takeover table judges it
	}
	m, err := c.ask.lookup(reg, dns.TypeSOA)
	if err != nil || m.Rcode != dns.RcodeNameError {
		return ""
	}
	return reg
}

// unregisteredFinding is the finding for owner's record (rr, its text) whose target, or the end
// of whose chain (path), is under reg, a domain that is not registered; consequence says what the
// one who registers it gets.
func unregisteredFinding(owner, record, field, target, reg, consequence string) Finding {
	return Finding{Severity: Critical, Rule: RuleUnregistered, Owner: owner, Record: record,
		RFC:     "RFC 9499 2 (public suffix, registered domain)",
		Message: fmt.Sprintf("%s %s is under %s, a domain that is not registered (NXDOMAIN): anyone who registers it %s", field, target, reg, consequence),
		Fix:     fmt.Sprintf("remove the record or point it at a name you control now; or register %s yourself", reg)}
}
