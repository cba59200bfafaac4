package rules

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestRegistrable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want string
	}{
		{name: "www.shop.example.com.", want: "example.com."},
		{name: "a.b.example.co.uk.", want: "example.co.uk."},
		{name: "Shop.Lapsed.Example.", want: "lapsed.example."}, // a top-level name not in the list: public
		{name: "example.com.", want: "example.com."},
		{name: "com.", want: ""},
		{name: "abandoned.azurewebsites.net.", want: ""}, // a provider's suffix (private section)
		{name: "x.github.io.", want: ""},
	} {
		if got := registrable(tc.name); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Targets under a domain nobody has registered are critical, with what the one who registers it
// gets; each such domain is asked about once; targets in a provider's namespace are left to the
// takeover table.
func TestUnregisteredDomain(t *testing.T) {
	t.Parallel()
	z, err := ParseZoneFile("testdata/unregistered.example.org", "")
	if err != nil {
		t.Fatal(err)
	}
	o := &recordingOracle{}
	got := texts(Check(context.Background(), []Zone{z}, Config{Oracle: o}))
	want := []string{
		"critical unregistered-domain _sip._tcp.example.org.: SRV target sip.lapsed.example. is under lapsed.example., a domain that is not registered (NXDOMAIN): anyone who registers it receives the clients of _sip._tcp.example.org.; " +
			"fix: remove the record or point it at a name you control now; or register lapsed.example. yourself",
		"critical unregistered-domain example.org.: MX exchange mx.lapsed.example. is under lapsed.example., a domain that is not registered (NXDOMAIN): anyone who registers it receives the mail for example.org.; " +
			"fix: remove the record or point it at a name you control now; or register lapsed.example. yourself",
		"critical unregistered-domain shop.example.org.: CNAME chain end shop.lapsed.example. is under lapsed.example., a domain that is not registered (NXDOMAIN): anyone who registers it controls what shop.example.org. resolves to: shop.example.org. -> shop.lapsed.example.; " +
			"fix: remove the record or point it at a name you control now; or register lapsed.example. yourself",
		"critical unregistered-domain sub.example.org.: NS name ns1.gone-dns.example. is under gone-dns.example., a domain that is not registered (NXDOMAIN): anyone who registers it answers for sub.example.org. (a delegation takeover); " +
			"fix: remove the record or point it at a name you control now; or register gone-dns.example. yourself",
		"warning dangling-cname www.example.org.: dangling CNAME: gone.example.net. does not exist (NXDOMAIN): www.example.org. -> gone.example.net.; fix: remove the CNAME, or create gone.example.net.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	wantAsked := []string{"example.net. SOA", "gone-dns.example. SOA", "gone.example.net. A", "lapsed.example. SOA", "mx.lapsed.example. CNAME",
		"ns1.example.net. CNAME", "ns1.gone-dns.example. CNAME", "shop.lapsed.example. A", "sip.lapsed.example. CNAME"}
	if asked := o.questions(); !slices.Equal(asked, wantAsked) {
		t.Errorf("asked %v, want %v", asked, wantAsked)
	}
	// An AliasMode record is worded as an alias; a provider's name stays a takeover risk.
	got = texts(Check(context.Background(), []Zone{zone(t, "@ IN HTTPS 0 cdn.lapsed.example.\napp IN CNAME abandoned.azurewebsites.net.\n")}, Config{Oracle: oracle}))
	want = []string{"critical takeover-risk app.example.org.: subdomain-takeover risk: abandoned.azurewebsites.net. does not exist and names under azurewebsites.net. can be claimed by anyone (known takeovers; Azure App Service; an asuid TXT verification record blocks takeover): app.example.org. -> abandoned.azurewebsites.net.; fix: remove the CNAME now, or claim abandoned.azurewebsites.net. back at the provider",
		"critical unregistered-domain example.org.: alias chain end cdn.lapsed.example. is under lapsed.example., a domain that is not registered (NXDOMAIN): anyone who registers it controls what example.org. resolves to: example.org. -> cdn.lapsed.example.; fix: remove the record or point it at a name you control now; or register lapsed.example. yourself"}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
