package main

import (
	"encoding/json"
	"slices"
	"testing"
)

// -points-at lists every name that reaches a name: by CNAME (a DKIM selector's too), AliasMode,
// DNAME, a declared alias, or as an MX, SRV or NS target; each with its path and file; exit 1.
func TestPointsAt(t *testing.T) {
	t.Parallel()
	const file = "testdata/db.pointsat.example.org"
	for _, tc := range []struct {
		name   string
		args   []string
		stdout string
		code   int
	}{{
		name: "every kind of reference, with the Corefile's alias",
		args: []string{"-points-at", "Shop.Host.Example.Net", "-corefile", "testdata/Corefile"},
		stdout: file + ": _sip._tcp.example.org. srv: _sip._tcp.example.org. -> shop.host.example.net.\n" +
			file + ": app.example.org. alias: app.example.org. -> shop.host.example.net.\n" +
			file + ": example.org. mx: example.org. -> shop.host.example.net.\n" +
			file + ": s1._domainkey.example.org. cname: s1._domainkey.example.org. -> shop.host.example.net.\n" +
			file + ": shop.old.example.org. dname: shop.old.example.org. -> shop.host.example.net.\n" +
			file + ": sub.example.org. ns: sub.example.org. -> shop.host.example.net.\n" +
			file + ": web.example.org. cname: web.example.org. -> shop.host.example.net.\n" +
			file + ": www.example.org. cname: www.example.org. -> web.example.org. -> shop.host.example.net.\n" +
			"shop.host.example.net. is reached by 8 name(s) in 1 zone(s)\n",
		code: 1,
	}, {
		name:   "a name in the middle of a chain",
		args:   []string{"-points-at", "web.example.org.", file + ":example.org"},
		stdout: file + ": example.org. alias-mode: example.org. -> www.example.org. -> web.example.org.\n" + file + ": www.example.org. cname: www.example.org. -> web.example.org.\nweb.example.org. is reached by 2 name(s) in 1 zone(s)\n",
		code:   1,
	}, {
		name:   "nothing reaches it",
		args:   []string{"-points-at", "unused.example.net", file + ":example.org"},
		stdout: "unused.example.net. is reached by 0 name(s) in 1 zone(s)\n",
		code:   0,
	}, {
		name: "not a name",
		args: []string{"-points-at", "a..b", file + ":example.org"},
		code: 2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runLint(tc.args...)
			if code != tc.code || tc.stdout != "" && stdout != tc.stdout {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s", code, stdout, stderr, tc.code, tc.stdout)
			}
		})
	}
	// The apex reaches it through its AliasMode record too, but its MX is the shorter path.
	stdout, _, code := runLint("-json", "-points-at", "shop.host.example.net.", file+":example.org")
	var rs []referrer
	if err := json.Unmarshal([]byte(stdout), &rs); err != nil || code != 1 || len(rs) != 7 {
		t.Fatalf("exit %d, %v: %s", code, err, stdout)
	}
	if r := rs[1]; r.File != file || r.Owner != "example.org." || r.Kind != "mx" || !slices.Equal(r.Path, []string{"example.org.", "shop.host.example.net."}) {
		t.Errorf("JSON %+v", r)
	}
	if stdout, _, _ := runLint("-json", "-points-at", "unused.example.net", file+":example.org"); stdout != "[]\n" {
		t.Errorf("JSON with nothing: %q", stdout)
	}
}
