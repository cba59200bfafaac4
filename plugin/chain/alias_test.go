package chain

import (
	"testing"

	"github.com/miekg/dns"
)

func TestTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		record string
		target string
		ok     bool
	}{
		{record: "www.example.org. 60 IN CNAME cdn.example.net.", target: "cdn.example.net.", ok: true},
		{record: "example.org. 60 IN HTTPS 0 svc.example.net.", target: "svc.example.net.", ok: true},
		{record: "_dns.example.org. 60 IN SVCB 0 resolver.example.net.", target: "resolver.example.net.", ok: true},
		{record: "example.org. 60 IN HTTPS 1 svc.example.net. alpn=h2", ok: false},                         // ServiceMode
		{record: "example.org. 60 IN HTTPS 1 . alpn=h3", ok: false},                                        // ServiceMode at the owner
		{record: "example.org. 60 IN HTTPS 0 .", ok: false},                                                // no service (RFC 9460 2.5.1)
		{record: "example.org. 60 IN DNAME example.net.", ok: false},                                       // redirects names below, not the owner
		{record: "example.org. 60 IN MX 10 mx.example.net.", ok: false},                                    // names a host, aliases nothing
		{record: "example.org. 60 IN A 192.0.2.1", ok: false},                                              // data
		{record: "_8443._https.example.org. 60 IN HTTPS 0 example.net.", target: "example.net.", ok: true}, // another port
	} {
		rr, err := dns.NewRR(tc.record)
		if err != nil {
			t.Fatal(err)
		}
		target, ok := Target(rr)
		if target != tc.target || ok != tc.ok {
			t.Errorf("%s: %q %v, want %q %v", tc.record, target, ok, tc.target, tc.ok)
		}
	}
}
