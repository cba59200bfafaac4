package test

import (
	"fmt"
	"strings"
	"testing"
)

// The server's audit with probe_ns asks the name servers of each delegation directly, as
// cnamelint -probe-ns does (lameDelegations: NSD as the DNS host). The lame delegation at a DNS
// host where anyone may create a zone is critical, the others warnings (one of them to a name
// server whose address only the zone itself holds, which the resolver does not know); all are logged and
// published in audit_findings; the served delegation is left alone; without probe_ns the same
// zone has no such finding.
func TestAuditProbesDelegations(t *testing.T) {
	nsd, zone := lameDelegations(t)
	// The server's probes go to NSD's port instead of 53.
	t.Setenv("FLATTEN_PROBE_PORT", strings.TrimPrefix(nsd.addr, "127.0.0.1:"))
	const corefile = `example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    flatten {
        resolver %s
        %s
    }
    file %s
}
`
	for _, probe := range []bool{true, false} {
		t.Run(fmt.Sprintf("probe_ns %v", probe), func(t *testing.T) {
			metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			option := ""
			if probe {
				option = "probe_ns"
			}
			s := start(t, fmt.Sprintf(corefile, metrics, nsd.addr, option, zone))
			if !probe {
				s.waitLog(t, "[INFO] plugin/flatten: audit of example.org. (serial 1, 8 records): no findings")
				if got := metric(t, metrics, "coredns_flatten_audit_findings", `rule="lame-delegation"`); got != 0 {
					t.Errorf("without probe_ns: %v lame-delegation findings", got)
				}
				return
			}
			s.waitLog(t, "[INFO] plugin/flatten: audit of example.org. (serial 1, 8 records): 3 finding(s): 1 critical, 2 warning")
			for _, line := range []string{
				"[ERROR] plugin/flatten: audit: critical lame-delegation taken.example.org.: lame delegation of taken.example.org.: the zone is not served by ns1.digitalocean.com. (ns1.digitalocean.com. answers REFUSED): anyone with an account at DigitalOcean can create the zone there and answer for taken.example.org. (a DNS takeover)",
				"[WARNING] plugin/flatten: audit: warning lame-delegation gone.example.org.: lame delegation of gone.example.org.: the zone is not served by ns1.hosts.example.net. (ns1.hosts.example.net. answers REFUSED)",
				// Its name server's address is the zone's own, which the resolver does not know.
				"[WARNING] plugin/flatten: audit: warning lame-delegation lame.example.org.: lame delegation of lame.example.org.: the zone is not served by ns1.example.org. (ns1.example.org. answers REFUSED)",
			} {
				s.waitLog(t, line)
			}
			if strings.Contains(s.out.String(), "good.example.org.: lame") {
				t.Error("the served delegation good.example.org is reported lame")
			}
			for labels, want := range map[string]float64{
				`rule="lame-delegation",severity="critical",zone="example.org."`: 1,
				`rule="lame-delegation",severity="warning",zone="example.org."`:  2,
			} {
				if got := metric(t, metrics, "coredns_flatten_audit_findings", labels); got != want {
					t.Errorf("coredns_flatten_audit_findings{%s} = %v, want %v", labels, got, want)
				}
			}
		})
	}
}
