package test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dnsflatten/flatten/internal/loopback"
)

// The zones a transfer reads, as a primary serves them: example.org has a loop and a dangling
// CNAME; example.com, a CNAME beside other data.
const (
	axfrOrg = `$ORIGIN example.org.
$TTL 300
@ IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300
@ IN NS ns1.example.org.
ns1 IN A 192.0.2.53
loop1 IN CNAME loop2
loop2 IN CNAME loop1
gone IN CNAME nothing
`
	axfrCom = `$ORIGIN example.com.
$TTL 300
@ IN SOA ns1.example.org. hostmaster.example.com. 1 7200 3600 1209600 300
@ IN NS ns1.example.org.
www IN CNAME www.example.org.
shop IN CNAME shops.myplatform.com
`
	tsigName   = "xfr-key"
	tsigSecret = "c2VjcmV0IGtleSBmb3IgdGVzdHMgb2YgY25hbWVsaW50" // base64
)

// axfrFindings are the findings of example.org and example.com read by transfer from server: in
// each zone's order of records as the server sends them, so the lines are left out.
func axfrFindings(server string) []string {
	return []string{
		server + "/example.com warning dangling-cname shop.example.com.",
		server + "/example.com error relative-name shop.example.com.",
		server + "/example.org warning dangling-cname gone.example.org.",
		server + "/example.org error cname-loop loop1.example.org.",
	}
}

// lintAXFR runs cnamelint -axfr and returns its findings as FILE SEVERITY RULE OWNER (each with a
// line within its transfer), its input errors, and its exit code.
func lintAXFR(t *testing.T, server string, args ...string) (got, inputErrs []string, code int) {
	t.Helper()
	fs, code := lint(t, append([]string{"-axfr", server}, args...)...)
	for _, f := range fs {
		if f.Rule == "input-error" {
			inputErrs = append(inputErrs, f.Message)
			continue
		}
		if f.Line < 1 || f.Line > 6 {
			t.Errorf("%s: line %d is not a record's place in the transfer", f.Owner, f.Line)
		}
		got = append(got, f.File+" "+f.Severity+" "+f.Rule+" "+f.Owner)
	}
	return got, inputErrs, code
}

// cnamelint -axfr reads zones from NSD by transfer and checks them as files, naming SERVER/ZONE
// as the file: with no key where the zone allows it, with a TSIG key where the zone wants one; a
// refused transfer, a wrong key and a zone the server does not have are each said, and the
// other zones are still checked.
func TestLinterTransfersFromNSD(t *testing.T) {
	key := loopback.NSDKey{Name: tsigName, Algorithm: "hmac-sha256", Secret: tsigSecret}
	nsd := startNSDZones(t, []loopback.NSDZone{
		{Name: "example.org", File: axfrOrg, ProvideXFR: []string{"127.0.0.1 NOKEY"}},
		{Name: "example.com", File: axfrCom, ProvideXFR: []string{"127.0.0.1 " + tsigName}, Keys: []loopback.NSDKey{key}},
		{Name: "example.net", File: soaNS("example.net.")}, // no provide-xfr: refused
	})
	checkTransfers(t, nsd.addr)
}

// The same against PowerDNS (bind backend): transfers allowed from loopback by IP for
// example.org, by the TSIG key for example.com (its TSIG-ALLOW-AXFR metadata), refused otherwise.
func TestLinterTransfersFromPowerDNS(t *testing.T) {
	db := filepath.Join(t.TempDir(), "dnssec.db") // where PowerDNS keeps TSIG keys and zone metadata
	dir, port := pdnsConfig(t, map[string]string{"example.org.": axfrOrg, "example.com.": axfrCom, "example.net.": soaNS("example.net.")},
		"bind-dnssec-db="+db, "allow-axfr-ips=")
	pdnsutil := lookPath(t, "pdnsutil")
	for _, args := range [][]string{
		{"create-bind-db", db},
		{"import-tsig-key", tsigName, "hmac-sha256", tsigSecret},
		{"set-meta", "example.com", "TSIG-ALLOW-AXFR", tsigName},
		{"set-meta", "example.org", "ALLOW-AXFR-FROM", "127.0.0.1"},
	} {
		if out, err := exec.Command(pdnsutil, append([]string{"--config-dir=" + dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("pdnsutil %v: %v\n%s", args, err, out)
		}
	}
	s := runServer(t, "", port, lookPath(t, "pdns_server"), "--config-dir="+dir)
	s.waitReady(t)
	checkTransfers(t, s.addr)
}

// checkTransfers runs the linter's transfers against a server where example.org may be
// transferred by this host without a key, example.com only with the key, example.net by no one.
func checkTransfers(t *testing.T, server string) {
	t.Helper()
	all := axfrFindings(server)
	got, errs, code := lintAXFR(t, server, "-tsig="+tsigName+":hmac-sha256:"+tsigSecret, "example.com")
	if !slices.Equal(got, all[:2]) || len(errs) != 0 || code != 1 {
		t.Errorf("with the key: exit %d, errors %v, findings\n  %s\nwant\n  %s", code, errs, strings.Join(got, "\n  "), strings.Join(all[:2], "\n  "))
	}

	// Without the key, example.com is refused; example.net is refused to everyone; example.org
	// is still checked.
	got, errs, code = lintAXFR(t, server, "example.com", "example.net", "example.org")
	refused := regexp.MustCompile(`^` + regexp.QuoteMeta(server) + `/example\.(com|net): transfer refused \((REFUSED|NOTAUTH)\): the server does not serve the zone, or not to this host: allow this host to transfer it \(NSD: provide-xfr; PowerDNS: allow-axfr-ips; BIND: allow-transfer\), or give its TSIG key with -tsig$`)
	if !slices.Equal(got, all[2:]) || len(errs) != 2 || !refused.MatchString(errs[0]) || !refused.MatchString(errs[1]) || code != 2 {
		t.Errorf("without the key: exit %d, errors\n  %s\nfindings %v, want %v", code, strings.Join(errs, "\n  "), got, all[2:])
	}

	// A wrong secret; the key where the zone wants none.
	_, errs, code = lintAXFR(t, server, "-tsig="+tsigName+":hmac-sha256:d3Jvbmcgc2VjcmV0", "example.com", "example.org")
	badKey := regexp.MustCompile(`^` + regexp.QuoteMeta(server) + `/example\.(com|org): transfer refused \([^)]+\): the server does not accept the key xfr-key\. for this zone: check its name, algorithm and secret, and that the zone allows transfers with it$`)
	if code != 2 || len(errs) != 2 || !badKey.MatchString(errs[0]) || !badKey.MatchString(errs[1]) {
		t.Errorf("keys refused: exit %d, errors\n  %s", code, strings.Join(errs, "\n  "))
	}

	// Text names SERVER/ZONE:LINE.
	out, _ := exec.Command(cnamelint(t), "-axfr", server, "example.org").Output()
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(server) + `/example\.org:[1-6]: error cname-loop loop1\.example\.org\.: `).Match(out) {
		t.Errorf("text output:\n%s", out)
	}
}
