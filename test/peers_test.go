package test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// startNSD runs NSD, a real authoritative server from Debian's packages, on 127.0.0.1, serving
// zones (origin -> zone file text). It is stopped when the test ends.
func startNSD(t testing.TB, zones map[string]string) *server {
	t.Helper()
	bin := lookPath(t, "nsd")
	dir := t.TempDir()
	port := freePort(t)
	var conf strings.Builder
	// rrl-ratelimit 0: NSD's response rate limiting caps one client at about 200 answers a second.
	fmt.Fprintf(&conf, `server:
    ip-address: 127.0.0.1@%d
    username: ""
    chroot: ""
    database: ""
    zonesdir: "%[2]s"
    pidfile: "%[2]s/nsd.pid"
    xfrdfile: "%[2]s/xfrd.state"
    zonelistfile: "%[2]s/zone.list"
    xfrdir: "%[2]s"
    logfile: "%[2]s/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
    server-count: 1
remote-control:
    control-enable: no
`, port, dir)
	origins := make([]string, 0, len(zones))
	for origin := range zones {
		origins = append(origins, origin)
	}
	sort.Strings(origins)
	for i, origin := range origins {
		file := fmt.Sprintf("zone%d", i)
		writeFile(t, filepath.Join(dir, file), zones[origin])
		fmt.Fprintf(&conf, "zone:\n    name: %q\n    zonefile: %q\n", origin, file)
	}
	cf := filepath.Join(dir, "nsd.conf")
	writeFile(t, cf, conf.String())
	s := runServer(t, "", port, bin, "-d", "-c", cf)
	s.waitReady(t)
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "nsd.log")); err == nil {
				t.Logf("nsd log:\n%s", b)
			}
		}
	})
	return s
}
