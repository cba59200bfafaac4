package rules

import (
	"regexp"
	"testing"
)

// Every row of both tables names its source and the date of the version read.
func TestTablesHaveSources(t *testing.T) {
	t.Parallel()
	date := regexp.MustCompile(`^20\d\d-\d\d-\d\d$`)
	for name, table := range map[string]Suffixes{"takeover-suffixes.tsv": DefaultSuffixes, "dns-hosts.tsv": DNSHosts} {
		if len(table) < 10 {
			t.Errorf("%s: %d rows", name, len(table))
		}
		for _, p := range table {
			if p.Source == "" || !date.MatchString(p.Date) || p.Note == "" || p.Claim == Unknown {
				t.Errorf("%s: row %+v", name, p)
			}
		}
	}
}

// Rows of two or three columns, as tables were written before, are still read.
func TestSuffixesOldRows(t *testing.T) {
	t.Parallel()
	got := parseSuffixes("# a comment\nsuffix\tstatus\tnote\nold.example\tvulnerable\nnoted.example\tedge\ta note\nnew.example\tnot-vulnerable\tn\tsrc\t2025-01-02\nbad.example\tmaybe\n")
	want := Suffixes{
		{Suffix: "old.example.", Claim: Vulnerable},
		{Suffix: "noted.example.", Claim: Edge, Note: "a note"},
		{Suffix: "new.example.", Claim: NotVulnerable, Note: "n", Source: "src", Date: "2025-01-02"},
	}
	if len(got) != len(want) {
		t.Fatalf("rows %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestDanglingFindingByClaim(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		end     string
		message string
	}{{
		end:     "x.azurewebsites.net.",
		message: "critical takeover-risk: subdomain-takeover risk: x.azurewebsites.net. does not exist and names under azurewebsites.net. can be claimed by anyone (known takeovers; Azure App Service; an asuid TXT verification record blocks takeover): a.example.org. -> x.azurewebsites.net.",
	}, {
		end:     "x.cloudapp.net.",
		message: "critical takeover-risk: subdomain-takeover risk: x.cloudapp.net. does not exist and names under cloudapp.net. may be claimed again under conditions (Azure classic; names stay reserved for the old tenant for a period after deletion): a.example.org. -> x.cloudapp.net.",
	}, {
		end:     "x.cloudfront.net.",
		message: "warning dangling-cname: dangling CNAME: x.cloudfront.net. does not exist (NXDOMAIN): a.example.org. -> x.cloudfront.net. (cloudfront.net. names cannot be claimed by others: CloudFront distribution names are random)",
	}, {
		end:     "x.example.net.",
		message: "warning dangling-cname: dangling CNAME: x.example.net. does not exist (NXDOMAIN): a.example.org. -> x.example.net.",
	}} {
		f := DanglingFinding([]string{"a.example.org.", tc.end}, "", nil)
		if got := f.Severity.String() + " " + f.Rule + ": " + f.Message; got != tc.message {
			t.Errorf("%s:\n%s\nwant\n%s", tc.end, got, tc.message)
		}
	}
}

func TestDNSHosts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ns    string
		claim Claim
		note  string
	}{
		{ns: "ns1.digitalocean.com.", claim: Vulnerable, note: "DigitalOcean"},
		{ns: "NS2.Linode.com", claim: Vulnerable, note: "Linode"},
		{ns: "ns1-05.azure-dns.com.", claim: Edge, note: "Azure DNS"},
		{ns: "ns4-05.azure-dns.info.", claim: Edge, note: "Azure DNS"},
		{ns: "dns1.p05.nsone.net.", claim: Edge, note: "NS1; registration closed at the source's date"},
		{ns: "ns-cloud-b1.googledomains.com.", claim: Edge, note: "Google Cloud DNS"},
		{ns: "ns-40.awsdns-05.com.", claim: NotVulnerable, note: "AWS Route 53; dnsReaper still checks it: its validation may or may not prevent a takeover"},
		{ns: "ns-1536.awsdns-00.co.uk.", claim: NotVulnerable, note: "AWS Route 53; dnsReaper still checks it: its validation may or may not prevent a takeover"},
		{ns: "kate.ns.cloudflare.com.", claim: NotVulnerable, note: "Cloudflare"},
		{ns: "ns1.example.net.", claim: Unknown},
		{ns: "digitalocean.com.", claim: Unknown},
		{ns: "ns1.digitalocean.com.evil.example.", claim: Unknown},
	} {
		p, ok := DNSHosts.MatchHost(tc.ns)
		if p.Claim != tc.claim || p.Note != tc.note || ok != (tc.claim != Unknown) {
			t.Errorf("%s: %+v %v, want %v %q", tc.ns, p, ok, tc.claim, tc.note)
		}
	}
}
