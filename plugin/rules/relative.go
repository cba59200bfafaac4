package rules

// The relative-name rule: a target written without its trailing dot.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// tlds are top-level labels that mark a relative target as an outside name with the zone appended.
// Every two-letter label is taken as a country code as well.
var tlds = []string{"com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "app", "dev", "cloud",
	"ai", "xyz", "online", "site", "tech", "store", "shop", "blog", "name", "pro", "mobi", "asia", "eu", "arpa", "example", "test"}

// relative checks rule 6 for the alias record rr (a CNAME or an AliasMode record) at node id, whose
// target is written: a target written without its trailing dot, so that the zone's origin was
// appended to it.
func (c *checker) relative(id int32, rr dns.RR, written string) {
	if c.ix.nodes[id].target >= 0 {
		return // the target exists
	}
	name := c.ix.nodes[id].name
	target := dns.CanonicalName(written)
	zone := c.ix.zoneOf(target)
	if zone == "" || zone == "." || c.ix.exists(target) || c.ix.unknown(target) || c.ix.underDNAME(target) {
		return
	}
	prefix := strings.TrimSuffix(strings.TrimSuffix(target, zone), ".")
	switch labels := dns.SplitDomainName(prefix); {
	case strings.HasSuffix(prefix+".", "."+zone) || prefix+"." == zone:
	case len(labels) >= 2 && (len(labels[len(labels)-1]) == 2 || slices.Contains(tlds, labels[len(labels)-1])):
	default:
		return
	}
	intended := prefix + "."
	c.add(Finding{Severity: Error, Rule: RuleRelative, Owner: name, Record: rr.String(),
		RFC:     "RFC 1035 5.1",
		Message: fmt.Sprintf("target %s looks like %s written without its trailing dot: the zone's origin %s was appended", written, intended, zone),
		Fix:     fmt.Sprintf("write the target as '%s', with the trailing dot", intended)})
}
