package test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dnsflatten/flatten/internal/loopback"
)

// startNSD runs NSD, a real authoritative server from Debian's packages, on 127.0.0.1, serving
// zones (origin -> zone file text). It is stopped when the test ends.
func startNSD(tb testing.TB, zones map[string]string) *server {
	tb.Helper()
	origins := make([]string, 0, len(zones))
	for origin := range zones {
		origins = append(origins, origin)
	}
	sort.Strings(origins)
	list := make([]loopback.NSDZone, 0, len(origins))
	for _, origin := range origins {
		list = append(list, loopback.NSDZone{Name: origin, File: zones[origin]})
	}
	return startNSDZones(tb, list)
}

// startNSDZones runs NSD serving zones, each with its File holding the zone's text, and its
// transfer settings.
func startNSDZones(tb testing.TB, zones []loopback.NSDZone) *server {
	tb.Helper()
	bin := lookPath(tb, "nsd")
	dir := tb.TempDir()
	port := freePort(tb)
	list := make([]loopback.NSDZone, 0, len(zones))
	for i, z := range zones {
		file := fmt.Sprintf("zone%d", i)
		writeFile(tb, filepath.Join(dir, file), z.File)
		z.File = file
		list = append(list, z)
	}
	cf := filepath.Join(dir, "nsd.conf")
	writeFile(tb, cf, loopback.NSDConfig(dir, port, list))
	s := runServer(tb, "", port, bin, "-d", "-c", cf)
	s.waitReady(tb)
	tb.Cleanup(func() {
		if tb.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "nsd.log")); err == nil {
				tb.Logf("nsd log:\n%s", b)
			}
		}
	})
	return s
}

// startPDNS runs PowerDNS Authoritative (bind backend) on 127.0.0.1 serving zones (origin -> zone
// file text), with the extra settings given (e.g. "enable-lua-records=yes"). It logs every question
// it receives (log-dns-queries), so a test can tell what reached it. It is stopped when the test
// ends.
func startPDNS(tb testing.TB, zones map[string]string, extra ...string) *server {
	tb.Helper()
	dir, port := pdnsConfig(tb, zones, extra...)
	s := runServer(tb, "", port, lookPath(tb, "pdns_server"), "--config-dir="+dir)
	s.waitReady(tb)
	return s
}

// pdnsConfig writes startPDNS's configuration and zones in a folder of their own, and returns it
// with the port chosen.
func pdnsConfig(tb testing.TB, zones map[string]string, extra ...string) (string, int) {
	tb.Helper()
	dir := tb.TempDir()
	port := freePort(tb)
	var named strings.Builder
	origins := make([]string, 0, len(zones))
	for origin := range zones {
		origins = append(origins, origin)
	}
	sort.Strings(origins)
	for i, origin := range origins {
		file := filepath.Join(dir, fmt.Sprintf("zone%d", i))
		writeFile(tb, file, zones[origin])
		fmt.Fprintf(&named, "zone %q { type master; file %q; };\n", strings.TrimSuffix(origin, "."), file)
	}
	writeFile(tb, filepath.Join(dir, "named.conf"), named.String())
	conf := fmt.Sprintf(`launch=bind
bind-config=%[1]s/named.conf
local-address=127.0.0.1:%[2]d
guardian=no
daemon=no
webserver=no
api=no
socket-dir=%[1]s
security-poll-suffix=
log-dns-queries=yes
loglevel=6
%[3]s
`, dir, port, strings.Join(extra, "\n"))
	writeFile(tb, filepath.Join(dir, "pdns.conf"), conf)
	return dir, port
}

// asked reports whether a PowerDNS started by startPDNS has received a question for name.
func (s *server) asked(name string) bool {
	return strings.Contains(strings.ToLower(s.out.String()), "wants '"+strings.ToLower(strings.TrimSuffix(name, "."))+"|")
}
