package rules

// The rules as a catalog: what each checks and why, for reports that describe their rules
// (cnamelint's SARIF output) and for documentation kept in step with the code.

// RuleInfo describes one rule.
type RuleInfo struct {
	ID string
	// Severity is the rule's usual severity; a finding may carry another (target-no-address is a
	// warning for SRV, lame-delegation critical at a DNS host where anyone may create the zone).
	Severity Severity
	// Summary is one sentence: what a finding of the rule means.
	Summary string
	// Why says what breaks, and Fix what to do in general; each finding says it for its records.
	Why, Fix string
	// RFC is the reference as findings quote it; Security marks rules about a takeover.
	RFC      string
	Security bool
}

// Catalog lists every rule, in the order the README's table gives them.
func Catalog() []RuleInfo {
	return []RuleInfo{
		{RuleSiblings, Error, "A CNAME shares its name with other data.",
			"Only DNSSEC records may sit beside a CNAME; resolvers see the CNAME and never the other records.",
			"Move the other records to the target name, or replace the CNAME with addresses.",
			"RFC 1034 3.6.2, RFC 2181 10.1, RFC 4035 2.5", false},
		{RuleApex, Error, "A CNAME at a zone apex, which must hold SOA and NS records.",
			"Resolvers that honour the CNAME lose the zone's other records.",
			"Replace the CNAME with the target's addresses, or declare it to flatten as an alias.",
			"RFC 1034 3.6.2, RFC 2181 10.1", false},
		{RuleMultiple, Error, "More than one CNAME at a name.",
			"A name has at most one canonical name; which one a resolver gets is undefined.",
			"Keep one CNAME.", "RFC 2181 10.1", false},
		{RuleLoop, Error, "A loop of CNAME, DNAME or AliasMode records.",
			"Resolvers give up on the chain and answer SERVFAIL for every name on it.",
			"Point one record of the loop at a name that holds addresses.", "RFC 1034 3.6.2", false},
		{RuleTooLong, Warning, "A chain of aliases longer than the hops allowed.",
			"Resolvers and servers cut long chains: clients get SERVFAIL or a partial answer.",
			"Point the chain's first name at its end directly.", "RFC 1034 3.6.2", false},
		{RuleDangling, Warning, "A chain ends at a name that does not exist.",
			"Every name on the chain answers NXDOMAIN.",
			"Remove the CNAME, or create its target.", "RFC 1034 3.6.2", false},
		{RuleTakeover, Critical, "A chain ends at a provider's name that does not exist and that others can claim.",
			"Whoever claims the name at the provider serves content under the alias (subdomain takeover).",
			"Remove the CNAME now, or claim the target back at the provider.", "RFC 1034 3.6.2", true},
		{RuleUnregistered, Critical, "A target under a registrable domain that nobody has registered.",
			"Whoever registers the domain answers for the names that point into it.",
			"Remove the record or point it at a name you control, or register the domain.",
			"RFC 9499 2 (public suffix, registered domain)", true},
		{RuleLame, Critical, "A delegation whose name servers do not serve the zone.",
			"Resolution of the zone fails; at a DNS host where anyone may create the zone, anyone can answer for it.",
			"Create the zone at the name servers again, or remove the NS records.",
			"RFC 1034 4.2.2, RFC 9499 7 (lame delegation)", true},
		{RuleNotAllowed, Error, "A chain leaves the zones checked and the targets allowed.",
			"Local policy: aliases may lead only into the zones allowed.",
			"Point the alias at a name under a zone allowed, or allow the target's zone.",
			"local policy: the targets option, cnamelint -targets", false},
		{RuleRelative, Error, "A target written without its trailing dot.",
			"The zone's origin is appended to the name, so the record points somewhere else.",
			"Write the target with its trailing dot.", "RFC 1035 5.1", false},
		{RuleTargetAlias, Error, "An MX, NS or SRV target, or the SOA MNAME, is an alias.",
			"These targets must name hosts with addresses, never aliases.",
			"Point the record at the alias's target instead.", "RFC 2181 10.3, RFC 2782, RFC 6672 2.3", false},
		{RuleNoAddress, Error, "An MX, NS or SRV target inside the zones has no A or AAAA record.",
			"Mail, resolvers or service clients cannot reach the host.",
			"Add the host's addresses, or point the record at a host that has them.",
			"RFC 5321 5.1, RFC 1034 4.2.2, RFC 2782", false},
		{RuleDKIM, Error, "A DKIM selector delegated to a name that holds no DKIM key.",
			"Signatures with this selector fail verification.",
			"Publish the key at the target, or remove the delegation.", "RFC 6376 3.6.2", false},
		{RuleMTASTS, Error, "An MTA-STS policy host delegated to a name with no addresses.",
			"Senders cannot fetch the policy.",
			"Point mta-sts at the host that serves the policy.", "RFC 8461 3.3", false},
		{RuleBIMI, Error, "A BIMI record delegated to a name that holds no v=BIMI1 record.",
			"Mail clients show no logo.",
			"Publish the BIMI record at the target, or remove the delegation.",
			"draft-brand-indicators-for-message-identification", false},
		{RuleUnparsable, Error, "A record that cannot be read.",
			"BIND refuses the zone for it; the record is left out of the other checks.",
			"Correct the record; named-checkzone shows how BIND reads it.", "RFC 1035 5.1", false},
	}
}
