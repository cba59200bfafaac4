package rules

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// HTTPS and SVCB records in AliasMode are aliases: chains follow them with CNAMEs, and their
// dangling targets, loops and long chains are found; at an apex and beside other data they are
// what RFC 9460 made them for.
func TestAliasModeRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		zone     string
		findings []string // with the test oracle
	}{{
		name:     "AliasMode at the apex beside SOA, NS, MX and TXT",
		zone:     "@ IN HTTPS 0 www.example.net.\n@ IN MX 10 mx.example.net.\n@ IN TXT \"v=spf1 -all\"\n",
		findings: nil,
	}, {
		name:     "AliasMode beside other data below the apex",
		zone:     "shop IN HTTPS 0 www.example.net.\nshop IN A 192.0.2.1\nshop IN TXT \"x\"\n",
		findings: nil,
	}, {
		name: "a dangling AliasMode target",
		zone: "shop IN HTTPS 0 gone.example.net.\n",
		findings: []string{"warning dangling-cname shop.example.org.: dangling alias: gone.example.net. does not exist (NXDOMAIN): shop.example.org. -> gone.example.net.; " +
			"fix: remove the alias, or create gone.example.net."},
	}, {
		name: "an AliasMode chain into a provider's claimable names",
		zone: "@ IN HTTPS 0 app\napp IN CNAME abandoned.azurewebsites.net.\n",
		findings: []string{"critical takeover-risk example.org.: subdomain-takeover risk: abandoned.azurewebsites.net. does not exist and names under azurewebsites.net. can be claimed by anyone " +
			"(known takeovers; Azure App Service; an asuid TXT verification record blocks takeover): example.org. -> app.example.org. -> abandoned.azurewebsites.net.; " +
			"fix: remove the alias now, or claim abandoned.azurewebsites.net. back at the provider"},
	}, {
		name: "a loop through AliasMode and CNAME records",
		zone: "@ IN HTTPS 0 a\na IN CNAME b\nb IN SVCB 0 @\n",
		findings: []string{"error cname-loop a.example.org.: alias loop: a.example.org. -> b.example.org. -> example.org. -> a.example.org.; " +
			"fix: point one alias of the loop at a name that holds addresses"},
	}, {
		name:     "a CNAME loop keeps its CNAME text beside an AliasMode that leads into it",
		zone:     "@ IN HTTPS 0 a\na IN CNAME b\nb IN CNAME a\n",
		findings: []string{"error cname-loop a.example.org.: CNAME loop: a.example.org. -> b.example.org. -> a.example.org.; fix: point one CNAME of the loop at a name that holds addresses"},
	}, {
		name: "a long chain of AliasMode records",
		zone: "@ IN HTTPS 0 h1\nh1 IN HTTPS 0 h2\nh2 IN HTTPS 0 h3\nh3 IN CNAME www.example.net.\n",
		findings: []string{"warning chain-too-long example.org.: alias chain of 4 hops, more than max_chain 2: example.org. -> h1.example.org. -> h2.example.org. -> h3.example.org. -> www.example.net.; " +
			"fix: point example.org. at the chain's end, www.example.net., directly"},
	}, {
		name: "a CNAME beside an AliasMode record is still a CNAME beside other data",
		zone: "www IN CNAME www.example.net.\nwww IN HTTPS 0 www.example.net.\n",
		findings: []string{"error cname-and-other-data www.example.org.: CNAME beside HTTPS: only DNSSEC records may share a name with a CNAME; resolvers see the CNAME and never the HTTPS; " +
			"fix: move the HTTPS records to the target name, or replace the CNAME with addresses"},
	}, {
		name: "an AliasMode target written without its trailing dot",
		zone: "@ IN HTTPS 0 shops.myplatform.com\n",
		findings: []string{"warning dangling-cname example.org.: dangling alias: shops.myplatform.com.example.org. does not exist (NXDOMAIN): example.org. -> shops.myplatform.com.example.org.; fix: remove the alias, or create shops.myplatform.com.example.org.",
			"error relative-name example.org.: target shops.myplatform.com.example.org. looks like shops.myplatform.com. written without its trailing dot: the zone's origin example.org. was appended; fix: write the target as 'shops.myplatform.com.', with the trailing dot"},
	}, {
		name:     "ServiceMode and the target \".\" alias nothing",
		zone:     "@ IN HTTPS 1 . alpn=h2\n@ IN A 192.0.2.1\noff IN HTTPS 0 .\nsvc IN SVCB 1 gone.example.net.\n",
		findings: nil,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := texts(Check(context.Background(), []Zone{zone(t, tc.zone)}, Config{Oracle: oracle, MaxChain: 2}))
			if !slices.Equal(got, tc.findings) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.findings, "\n  "))
			}
		})
	}
}
