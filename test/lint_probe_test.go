package test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lameDelegations starts NSD, a real authoritative server, as the DNS host of delegations below
// example.org: it serves good.example.org and the host names of the name servers, and REFUSES the
// zones it no longer serves (gone, and taken, at a DNS host where anyone may create a zone); lame
// is delegated to a name server whose address is in example.org itself. It returns NSD and the
// file of example.org (8 records).
func lameDelegations(t *testing.T) (*server, string) {
	t.Helper()
	nsd := startNSD(t, map[string]string{
		"hosts.example.net.": "$ORIGIN hosts.example.net.\n$TTL 60\n@ IN SOA ns1 h 1 7200 3600 1209600 60\n@ IN NS ns1\nns1 IN A 127.0.0.1\n",
		// Loopback stands in for the provider's name server.
		"digitalocean.com.": "$ORIGIN digitalocean.com.\n$TTL 60\n@ IN SOA ns1 h 1 7200 3600 1209600 60\n@ IN NS ns1\nns1 IN A 127.0.0.1\n",
		"good.example.org.": "$ORIGIN good.example.org.\n$TTL 60\n@ IN SOA ns1.hosts.example.net. h 1 7200 3600 1209600 60\n@ IN NS ns1.hosts.example.net.\nwww IN A 192.0.2.1\n",
		// The zone of example.org's own name server, so that NSD, the linter's resolver here,
		// answers every question the checks ask (no address: the apex is not probed).
		"example.net.": "$ORIGIN example.net.\n$TTL 60\n@ IN SOA ns1.hosts.example.net. h 1 7200 3600 1209600 60\n@ IN NS ns1.hosts.example.net.\nns1 IN TXT \"stands in\"\n",
	})
	zone := filepath.Join(t.TempDir(), "db.example.org")
	writeFile(t, zone, `$ORIGIN example.org.
$TTL 3600
@ IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300
@ IN NS  ns1.example.net.
@ IN A   192.0.2.10
good IN NS ns1.hosts.example.net.
gone IN NS ns1.hosts.example.net.
taken IN NS ns1.digitalocean.com.
lame IN NS ns1.example.org.
ns1 IN A 127.0.0.1
`)
	return nsd, zone
}

// cnamelint -probe-ns finds the lame delegations, critical where the name servers are a DNS
// host's where anyone may create the zone, and leaves the served one alone.
func TestLinterProbesDelegations(t *testing.T) {
	nsd, zone := lameDelegations(t)
	t.Setenv("CNAMELINT_PROBE_PORT", strings.TrimPrefix(nsd.addr, "127.0.0.1:"))
	fs, code := lint(t, "-resolver", nsd.addr, "-probe-ns", zone)
	got := make([]string, 0, len(fs))
	for _, f := range fs {
		got = append(got, f.Severity+" "+f.Rule+" "+f.Owner+": "+f.Message)
	}
	want := []string{
		"warning lame-delegation gone.example.org.: lame delegation of gone.example.org.: the zone is not served by ns1.hosts.example.net. (ns1.hosts.example.net. answers REFUSED)",
		// Its name server's address is the zone's own, which the resolver does not know.
		"warning lame-delegation lame.example.org.: lame delegation of lame.example.org.: the zone is not served by ns1.example.org. (ns1.example.org. answers REFUSED)",
		"critical lame-delegation taken.example.org.: lame delegation of taken.example.org.: the zone is not served by ns1.digitalocean.com. (ns1.digitalocean.com. answers REFUSED): anyone with an account at DigitalOcean can create the zone there and answer for taken.example.org. (a DNS takeover)",
	}
	if !slices.Equal(got, want) || code != 1 {
		t.Errorf("exit %d, findings:\n  %s\nwant:\n  %s", code, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Without -probe-ns nothing is asked of the name servers.
	if fs, code := lint(t, "-resolver", nsd.addr, zone); len(fs) != 0 || code != 0 {
		t.Errorf("without -probe-ns: exit %d, %v", code, fs)
	}
}
