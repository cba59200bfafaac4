package flatten

import (
	"reflect"
	"strings"
	"testing"

	"github.com/coredns/caddy"
)

func TestSetup(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		keys      []string // server block keys; example.org. when nil
		wantErr   string   // a fragment of the error; "" when setup must succeed
		wantZones []string
		wantMode  Mode
		wantNames []string
		wantMax   int
	}{
		{name: "defaults", input: "flatten", wantZones: []string{"example.org."}, wantMode: Apex, wantMax: 10},
		{name: "zones from arguments", input: "flatten example.org example.net.", keys: []string{"."},
			wantZones: []string{"example.org.", "example.net."}, wantMode: Apex, wantMax: 10},
		{name: "all", input: "flatten {\n all\n}", wantZones: []string{"example.org."}, wantMode: All, wantMax: 10},
		{name: "apex explicit and max_chain", input: "flatten {\n apex\n max_chain 12\n}",
			wantZones: []string{"example.org."}, wantMode: Apex, wantMax: 12},
		{name: "names", input: "flatten {\n names www.example.org WWW2.example.org.\n}",
			wantZones: []string{"example.org."}, wantMode: Names, wantNames: []string{"www.example.org.", "www2.example.org."}, wantMax: 10},

		{name: "unknown property", input: "flatten {\n flatten_all\n}",
			wantErr: "Testfile:2 - Error during parsing: unknown property 'flatten_all': expected one of apex, all, names, max_chain, alias, resolver, ttl, cache, stale"},
		{name: "conflicting selectors", input: "flatten {\n apex\n all\n}",
			wantErr: "Testfile:3 - Error during parsing: 'all' conflicts with 'apex' given before it: use one of apex, all or names"},
		{name: "selector twice", input: "flatten {\n names a.example.org\n names b.example.org\n}",
			wantErr: "'names' conflicts with 'names' given before it"},
		{name: "all with arguments", input: "flatten {\n all www.example.org\n}",
			wantErr: "Testfile:2 - Error during parsing: 'all' takes no arguments; to flatten chosen names write 'names www.example.org'"},
		{name: "names without names", input: "flatten {\n names\n}",
			wantErr: "'names' needs at least one owner name, e.g. 'names www.example.org'"},
		{name: "relative name", input: "flatten {\n names www\n}",
			wantErr: "Testfile:2 - Error during parsing: 'www' is not inside this block's zones (example.org.): write the full name, e.g. 'www.example.org.'"},
		{name: "bad name", input: "flatten {\n names a..example.org\n}",
			wantErr: "'a..example.org' is not a domain name"},
		{name: "bad zone", input: "flatten example..org",
			wantErr: "Testfile:1 - Error during parsing: 'example..org' is not a zone name: write a domain name such as example.org"},
		{name: "max_chain zero", input: "flatten {\n max_chain 0\n}",
			wantErr: "Testfile:2 - Error during parsing: max_chain '0' is out of range: write a whole number from 1 to 32 (default 10)"},
		{name: "max_chain too big", input: "flatten {\n max_chain 100\n}", wantErr: "max_chain '100' is out of range"},
		{name: "max_chain not a number", input: "flatten {\n max_chain ten\n}", wantErr: "max_chain 'ten' is out of range"},
		{name: "max_chain without number", input: "flatten {\n max_chain\n}",
			wantErr: "'max_chain' takes one number, the CNAME hops allowed (default 10)"},
		{name: "twice in a block", input: "flatten\nflatten",
			wantErr: "Testfile:2 - Error during parsing: flatten may appear once per server block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := caddy.NewTestController("dns", tc.input)
			c.ServerBlockKeys = tc.keys
			if c.ServerBlockKeys == nil {
				c.ServerBlockKeys = []string{"example.org."}
			}
			f, err := parse(c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(f.Zones, tc.wantZones) || f.Mode != tc.wantMode || f.MaxChain != tc.wantMax {
				t.Errorf("got zones %v mode %d max %d, want %v %d %d", f.Zones, f.Mode, f.MaxChain, tc.wantZones, tc.wantMode, tc.wantMax)
			}
			for _, n := range tc.wantNames {
				if _, ok := f.Names[n]; !ok {
					t.Errorf("names %v lack %s", f.Names, n)
				}
			}
			if len(f.Names) != len(tc.wantNames) {
				t.Errorf("names = %v, want %v", f.Names, tc.wantNames)
			}
		})
	}
}
