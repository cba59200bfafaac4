package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// blockText writes server blocks back as "KEYS: DIRECTIVE ARGS [{ ... }]; ...", for comparison.
func blockText(blocks []serverBlock) []string {
	out := make([]string, 0, len(blocks))
	var ds func([]directive) string
	ds = func(list []directive) string {
		parts := make([]string, 0, len(list))
		for _, d := range list {
			s := d.name
			for _, a := range d.args {
				s += " " + a.text
			}
			if d.block != nil {
				s += " { " + ds(d.block) + " }"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "; ")
	}
	for _, b := range blocks {
		out = append(out, strings.Join(b.keys, " ")+": "+ds(b.directives))
	}
	return out
}

func TestParseCorefile(t *testing.T) {
	t.Setenv("CNAMELINT_TEST_ZONE", "env.example")
	for _, tc := range []struct {
		name   string
		input  string
		blocks []string
		err    string
	}{{
		name:   "CoreDNS's corefile.5.md: one block",
		input:  ". {\n    whoami\n    log\n}\n",
		blocks: []string{".: whoami; log"},
	}, {
		name:   "CoreDNS's corefile.5.md: a snippet imported",
		input:  "(mysnippet) {\n    log\n    whoami\n}\n\n. {\n    import mysnippet\n}\n",
		blocks: []string{".: log; whoami"},
	}, {
		name:   "CoreDNS's corefile.5.md: two keys, and a nested block",
		input:  "example.org org {\n    whoami\n}\n. {\n    file db.shared example.org example.net\n    transfer example.org example.net {\n        to * 10.240.1.1\n    }\n}\n",
		blocks: []string{"example.org org: whoami", ".: file db.shared example.org example.net; transfer example.org example.net { to * 10.240.1.1 }"},
	}, {
		name:   "CoreDNS's plugin/root/README.md",
		input:  "tls://example.com:853 {\n    root /config\n    tls cert.pem key.pem\n    whoami\n}\n",
		blocks: []string{"tls://example.com:853: root /config; tls cert.pem key.pem; whoami"},
	}, {
		name:   "comments, quotes, a comma between keys, an environment placeholder",
		input:  "# a comment\nexample.org:53, {$CNAMELINT_TEST_ZONE}:53 { # another\n    file \"db with space\" # trailing\n    log \"a \\\"quoted\\\" word\" `raw #text`\n    hosts {$CNAMELINT_TEST_UNSET:fallback}\n}\n",
		blocks: []string{"example.org:53 env.example:53: file db with space; log a \"quoted\" word raw #text; hosts fallback"},
	}, {
		name:   "one block without braces",
		input:  "example.org\nfile db.example.org\nlog\n",
		blocks: []string{"example.org: file db.example.org; log"},
	}, {
		name:  "a block left open",
		input: "example.org {\n    file db.example.org {\n        reload 1s\n}\n",
		err:   "line 4: '{' without '}'",
	}, {
		name:  "an unterminated quote",
		input: "example.org {\n    file \"db\n}\n",
		err:   "line 2: unterminated quoted string",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			blocks, err := parseCorefile(tc.input)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := blockText(blocks); !slices.Equal(got, tc.blocks) {
				t.Errorf("blocks:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.blocks, "\n  "))
			}
		})
	}
}

func TestZoneOfKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, zone string }{
		{key: ".", zone: "."},
		{key: ".:53", zone: "."},
		{key: "Example.ORG:1053", zone: "example.org."},
		{key: "dns://example.org.:53", zone: "example.org."},
		{key: "tls://example.com:853", zone: "example.com."},
		{key: "10.0.0.0/24", zone: "0.0.10.in-addr.arpa."},
		{key: "10.0.0.0/27", zone: ""}, // not on a label: CoreDNS serves it with a filter
		{key: "2001:db8::/32", zone: "8.b.d.0.1.0.0.2.ip6.arpa."},
	} {
		if got := zoneOfKey(tc.key); got != tc.zone {
			t.Errorf("%s: %q, want %q", tc.key, got, tc.zone)
		}
	}
}

// The project's own example Corefile, and one with a root directive, relative zone files, a file
// line naming its zones, and a flatten block with declared aliases.
func TestReadCorefile(t *testing.T) {
	t.Parallel()
	zones, aliases, err := readCorefile("../../Corefile.example")
	if err != nil {
		t.Fatal(err)
	}
	want := []corefileZone{{path: "../../zones/db.example.org", origin: "example.org."}, {path: "../../zones/db.example.net", origin: "example.net."}}
	if !slices.Equal(zones, want) || len(aliases) != 0 {
		t.Errorf("zones %v aliases %v, want %v", zones, aliases, want)
	}

	dir := t.TempDir()
	cf := filepath.Join(dir, "Corefile")
	text := "example.org:1053 example.com {\n    root zones\n    flatten {\n        alias example.org www.example.net\n        alias Shop.example.org. shops.example.net.\n    }\n    file db.example.org example.org\n    file /abs/db.example.com\n}\n"
	if err := os.WriteFile(cf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	zones, aliases, err = readCorefile(cf)
	if err != nil {
		t.Fatal(err)
	}
	want = []corefileZone{{path: filepath.Join(dir, "zones/db.example.org"), origin: "example.org."},
		{path: "/abs/db.example.com", origin: "example.org."}, {path: "/abs/db.example.com", origin: "example.com."}}
	if !slices.Equal(zones, want) || fmt.Sprint(aliases) != "map[example.org.:www.example.net. shop.example.org.:shops.example.net.]" {
		t.Errorf("zones %v aliases %v, want %v", zones, aliases, want)
	}
}
