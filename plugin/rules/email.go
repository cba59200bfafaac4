package rules

// The email rules: DKIM, MTA-STS and BIMI delegations must land on what the provider publishes.

import (
	"strings"

	"github.com/miekg/dns"
)

// email checks rule 8 for the CNAME at name: delegations of DKIM keys (RFC 6376), MTA-STS policy
// hosts (RFC 8461) and BIMI records to a provider must land on what the provider is to publish.
func (c *checker) email(name string, cn *dns.CNAME) {
	if !strings.Contains(name, "._domainkey.") && !strings.HasPrefix(name, "mta-sts.") && !strings.Contains(name, "._bimi.") {
		return
	}
	labels := dns.SplitDomainName(name)
	var check func() []Finding
	switch {
	case len(labels) >= 2 && labels[1] == "_domainkey":
		check = func() []Finding {
			txt, known := c.resolve(name, dns.TypeTXT)
			if !known || anyTXT(txt, isDKIM) {
				return nil
			}
			return []Finding{{Severity: Error, Rule: RuleDKIM, Owner: name, Record: cn.String(), RFC: "RFC 6376 3.6.2",
				Message: "DKIM selector delegated to " + cn.Target + ", which holds no DKIM key (a TXT with p=): signatures with this selector fail",
				Fix:     "publish the key at " + cn.Target + " (the provider's selector record), or remove the delegation"}}
		}
	case len(labels) >= 2 && labels[0] == "mta-sts":
		check = func() []Finding {
			a, knownA := c.resolve(name, dns.TypeA)
			aaaa, knownAAAA := c.resolve(name, dns.TypeAAAA)
			if !knownA || !knownAAAA || len(a) > 0 || len(aaaa) > 0 {
				return nil
			}
			return []Finding{{Severity: Error, Rule: RuleMTASTS, Owner: name, Record: cn.String(), RFC: "RFC 8461 3.3",
				Message: "MTA-STS policy host delegated to " + cn.Target + ", which has no addresses: senders cannot fetch the policy",
				Fix:     "point mta-sts at the host that serves https://" + name + "/.well-known/mta-sts.txt"}}
		}
	case len(labels) >= 2 && labels[1] == "_bimi":
		check = func() []Finding {
			txt, known := c.resolve(name, dns.TypeTXT)
			if !known || anyTXT(txt, func(s string) bool { return strings.HasPrefix(strings.ToLower(s), "v=bimi1") }) {
				return nil
			}
			return []Finding{{Severity: Error, Rule: RuleBIMI, Owner: name, Record: cn.String(), RFC: "draft-brand-indicators-for-message-identification",
				Message: "BIMI record delegated to " + cn.Target + ", which holds no v=BIMI1 TXT record",
				Fix:     "publish the BIMI record at " + cn.Target + ", or remove the delegation"}}
		}
	default:
		return
	}
	if c.ask != nil {
		c.later(check)
		return
	}
	for _, f := range check() {
		c.add(f)
	}
}

func isDKIM(s string) bool {
	for tag := range strings.SplitSeq(s, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(tag), "="); ok && strings.TrimSpace(k) == "p" && strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

func anyTXT(rrs []dns.RR, ok func(string) bool) bool {
	for _, rr := range rrs {
		if t, isTXT := rr.(*dns.TXT); isTXT && ok(strings.Join(t.Txt, "")) {
			return true
		}
	}
	return false
}

// resolve follows name's chain through the zones given and then the oracle, and returns the records
// of type t at its end, and whether the answer is known.
func (c *checker) resolve(name string, t uint16) ([]dns.RR, bool) {
	seen := map[string]bool{}
	for hop := 0; hop <= c.cfg.MaxChain; hop++ {
		if seen[name] {
			return nil, true // a loop: nothing
		}
		seen[name] = true
		if !c.ix.authoritative(name) || c.ix.unknown(name) {
			if !c.ix.unknown(name) && (c.ix.zoneOf(name) != "" || !c.allowed(name)) {
				return nil, false // unknown here, or not to be followed (a target-not-allowed finding)
			}
			if c.ask == nil {
				c.unchecked[name] = true
				return nil, false
			}
			m, err := c.ask.lookup(name, t)
			if err != nil || (m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError) {
				return nil, false
			}
			var out []dns.RR
			for _, rr := range m.Answer {
				if rr.Header().Rrtype == t {
					out = append(out, rr)
				}
			}
			return out, true
		}
		if next, _, ok := c.ix.dnameStep(name); ok {
			name = next
			continue
		}
		if rrs := c.ix.rrs(name, t); len(rrs) > 0 {
			return rrs, true
		}
		next, cn := c.ix.cname(name)
		if cn == nil {
			return nil, true
		}
		name = next
	}
	return nil, true
}
