package flatten

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"
)

func TestSetup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		input     string
		keys      []string // server block keys; example.org. when nil
		wantErr   string   // a fragment of the error; "" when setup must succeed
		wantZones []string
		wantMode  Mode
		wantNames []string
		wantMax   int
		check     func(*testing.T, config)
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
			wantErr: "Testfile:2 - Error during parsing: unknown property 'flatten_all': expected one of apex, all, names, max_chain, alias, resolver, ttl, cache, stale, dangling, audit, max_lookups, targets, expand_transfer, ecs, probe_ns"},
		{name: "conflicting selectors", input: "flatten {\n apex\n all\n}",
			wantErr: "Testfile:3 - Error during parsing: 'all' conflicts with 'apex' given before it: use one of apex, all or names"},
		{name: "names twice", input: "flatten {\n names a.example.org\n names b.example.org\n}",
			wantErr: "Testfile:3 - Error during parsing: 'names' given twice: list every name on one 'names' line"},
		{name: "apex twice", input: "flatten {\n apex\n apex\n}", wantErr: "Testfile:3 - Error during parsing: 'apex' given twice: keep one"},
		{name: "a name of another zone", input: "flatten {\n names www.example.com\n}",
			wantErr: "Testfile:2 - Error during parsing: 'www.example.com' is not inside this block's zones (example.org.): flatten answers only for its zones; name a name of them, or flatten www.example.com in a block that serves its zone"},
		{name: "a zone the block does not serve", input: "flatten example.com",
			wantErr: "Testfile:1 - Error during parsing: zone 'example.com' is not served by this server block (example.org.): flatten sees only its block's questions; add the zone to the block's keys, e.g. 'example.com example.org. { ... }', or leave the zones out to take the block's"},
		{name: "a zone below the block's", input: "flatten sub.example.org", wantZones: []string{"sub.example.org."}, wantMode: Apex, wantMax: 10},
		{name: "a resolv.conf that is not there", input: "flatten {\n resolver /no/such/resolv.conf\n}",
			wantErr: "Testfile:2 - Error during parsing: resolver '/no/such/resolv.conf' names a resolv.conf file that cannot be read (stat /no/such/resolv.conf: no such file or directory): give the file's path, or addresses such as 127.0.0.1:5301"},
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
		{name: "max_chain not a number", input: "flatten {\n max_chain abc\n}",
			wantErr: "Testfile:2 - Error during parsing: max_chain 'abc' is not a whole number: write one from 1 to 32, the CNAME hops allowed (default 10)"},
		{name: "max_chain without number", input: "flatten {\n max_chain\n}",
			wantErr: "'max_chain' takes one number, the CNAME hops allowed (default 10)"},
		{name: "resolver, alias, ttl, cache, stale", input: "flatten {\n resolver 127.0.0.1:5301 [::1] 127.0.0.2\n alias example.org www.example.net\n alias shop.example.org shops.example.com.\n ttl 30 600\n cache 5000\n stale 1h\n}",
			wantZones: []string{"example.org."}, wantMode: Apex, wantMax: 10,
			check: func(t *testing.T, c config) {
				t.Helper()
				if !reflect.DeepEqual(c.resolvers, []string{"127.0.0.1:5301", "[::1]:53", "127.0.0.2:53"}) {
					t.Errorf("resolver addresses %v", c.resolvers)
				}
				if !reflect.DeepEqual(c.aliases, map[string]string{"example.org.": "www.example.net.", "shop.example.org.": "shops.example.com."}) {
					t.Errorf("aliases %v", c.aliases)
				}
				if c.minTTL != 30 || c.maxTTL != 600 || c.cacheSize != 5000 || c.maxStale != time.Hour {
					t.Errorf("ttl %d-%d cache %d stale %s", c.minTTL, c.maxTTL, c.cacheSize, c.maxStale)
				}
			}},
		{name: "resolver from a resolv.conf file", input: "flatten {\n resolver testdata/resolv.conf\n}", wantZones: []string{"example.org."}, wantMax: 10,
			check: func(t *testing.T, c config) {
				t.Helper()
				if !reflect.DeepEqual(c.resolvers, []string{"192.0.2.53:53", "[2001:db8::53]:53"}) {
					t.Errorf("resolver addresses %v", c.resolvers)
				}
			}},
		{name: "ttl max only", input: "flatten {\n ttl 60\n stale 0\n}", wantZones: []string{"example.org."}, wantMax: 10,
			check: func(t *testing.T, c config) {
				t.Helper()
				if c.minTTL != 5 || c.maxTTL != 60 || c.maxStale != 0 {
					t.Errorf("ttl %d-%d stale %s", c.minTTL, c.maxTTL, c.maxStale)
				}
			}},
		{name: "resolver without address", input: "flatten {\n resolver\n}",
			wantErr: "Testfile:2 - Error during parsing: 'resolver' needs at least one address, e.g. 'resolver 127.0.0.1:5301'"},
		{name: "resolver hostname", input: "flatten {\n resolver dns.example.net\n}",
			wantErr: "Testfile:2 - Error during parsing: resolver address 'dns.example.net' is not an IP address with an optional port or a resolv.conf file, e.g. 127.0.0.1:5301, [::1]:53 or /etc/resolv.conf"},
		{name: "resolver over TLS", input: "flatten {\n resolver tls://127.0.0.1\n}",
			wantErr: "resolver address 'tls://127.0.0.1' is not an IP address"},
		{name: "resolver twice", input: "flatten {\n resolver 127.0.0.1\n resolver 127.0.0.2\n}",
			wantErr: "Testfile:3 - Error during parsing: 'resolver' given twice: list every address on one line"},
		{name: "alias one argument", input: "flatten {\n alias example.org\n}",
			wantErr: "'alias' takes a name and its target, e.g. 'alias example.org www.example.net'"},
		{name: "alias outside zones", input: "flatten {\n alias www www.example.net\n}",
			wantErr: "alias name 'www' is not inside this block's zones (example.org.): write the full name"},
		{name: "alias to itself", input: "flatten {\n alias example.org EXAMPLE.org.\n}",
			wantErr: "'alias example.org EXAMPLE.org.' points at itself"},
		{name: "alias twice", input: "flatten {\n alias example.org a.example.net\n alias example.org. b.example.net\n}",
			wantErr: "Testfile:3 - Error during parsing: 'example.org.' is declared an alias twice: keep one 'alias' line for it"},
		{name: "ttl min above max", input: "flatten {\n ttl 600 30\n}",
			wantErr: "Testfile:2 - Error during parsing: 'ttl 600 30': MIN 600 is above MAX 30: write MIN first, e.g. 'ttl 30 600'"},
		{name: "ttl max below the default min", input: "flatten {\n ttl 3\n}",
			wantErr: "Testfile:2 - Error during parsing: 'ttl 3': MAX 3 is below the default MIN 5: write 'ttl 0 3' to allow TTLs that low"},
		{name: "ttl max zero", input: "flatten {\n ttl 0 0\n}", wantErr: "Testfile:2 - Error during parsing: 'ttl 0 0': MAX must be at least 1 second"},
		{name: "cache below the floor", input: "flatten {\n cache 10\n}", wantZones: []string{"example.org."}, wantMax: 10,
			check: func(t *testing.T, c config) {
				t.Helper()
				if c.cacheSize != 1024 {
					t.Errorf("cache 10 is %d entries, want the floor, 1024", c.cacheSize)
				}
			}},
		{name: "ttl not a number", input: "flatten {\n ttl 1h\n}",
			wantErr: "ttl '1h' is not a number of seconds from 0 to 2147483647"},
		{name: "cache zero", input: "flatten {\n cache 0\n}",
			wantErr: "cache '0' is out of range: write a whole number from 1 to 10000000 (default 10000)"},
		{name: "stale bad", input: "flatten {\n stale forever\n}",
			wantErr: "stale 'forever' is not a duration from 0 to 168h, e.g. 24h, 30m or 15s"},
		{name: "dangling and audit", input: "flatten {\n dangling servfail\n audit 1m\n}", wantZones: []string{"example.org."}, wantMax: 10,
			check: func(t *testing.T, c config) {
				t.Helper()
				if c.dangling != dns.RcodeServerFailure || c.audit != time.Minute {
					t.Errorf("dangling %d audit %s", c.dangling, c.audit)
				}
			}},
		{name: "durations in seconds", input: "flatten {\n audit 30\n stale 0\n}", wantZones: []string{"example.org."}, wantMax: 10,
			check: func(t *testing.T, c config) {
				t.Helper()
				if c.audit != 30*time.Second || c.maxStale != 0 {
					t.Errorf("audit %s stale %s", c.audit, c.maxStale)
				}
			}},
		{name: "dangling bad", input: "flatten {\n dangling refuse\n}",
			wantErr: "Testfile:2 - Error during parsing: 'dangling refuse': write 'dangling nodata' (the default), 'dangling nxdomain' or 'dangling servfail'"},
		{name: "max_lookups", input: "flatten {\n max_lookups 8\n}", wantZones: []string{"example.org."}, wantMax: 10,
			check: func(t *testing.T, c config) {
				t.Helper()
				if f := newFlatten(c, nil, block{}); c.maxLookups != 8 || cap(f.chase.Slots()) != 8 {
					t.Errorf("max_lookups %d, slots %d", c.maxLookups, cap(f.chase.Slots()))
				}
			}},
		{name: "max_lookups zero", input: "flatten {\n max_lookups 0\n}",
			wantErr: "max_lookups '0' is out of range: write a whole number from 1 to 100000 (default 256)"},
		{name: "audit bad", input: "flatten {\n audit often\n}",
			wantErr: "audit 'often' is not a duration from 0 to 168h"},
		{name: "targets, expand_transfer, ecs", input: "flatten {\n targets example.net cdn.example.com.\n expand_transfer\n resolver 127.0.0.1\n ecs client_address\n}",
			wantZones: []string{"example.org."}, wantMax: 10,
			check: func(t *testing.T, c config) {
				t.Helper()
				if !reflect.DeepEqual(c.targets, []string{"example.net.", "cdn.example.com."}) || !c.expandTransfer || !c.ecs || !c.ecsClient {
					t.Errorf("targets %v expand %v ecs %v %v", c.targets, c.expandTransfer, c.ecs, c.ecsClient)
				}
			}},
		{name: "targets without zones", input: "flatten {\n targets\n}",
			wantErr: "Testfile:2 - Error during parsing: 'targets' needs at least one zone, e.g. 'targets example.net cdn.example.com'"},
		{name: "alias target outside targets", input: "flatten {\n targets example.net\n alias example.org www.example.com\n}",
			wantErr: "alias target 'www.example.com.' of 'example.org.' is outside the zones 'targets' allows (example.net.): add its zone to 'targets'"},
		{name: "ecs without resolver", input: "flatten {\n ecs\n}",
			wantErr: "Testfile:2 - Error during parsing: 'ecs' passes client subnets to the 'resolver' servers: add 'resolver ADDRESS...' to the block"},
		{name: "a property twice", input: "flatten {\n max_chain 5\n ttl 30 600\n max_chain 8\n}",
			wantErr: "Testfile:4 - Error during parsing: 'max_chain' is given twice in this block (line 2 too): keep one"},
		{name: "alias may repeat", input: "flatten {\n alias a.example.org x.example.net\n alias b.example.org y.example.net\n}", wantZones: []string{"example.org."}, wantMax: 10},
		{name: "ecs bad", input: "flatten {\n resolver 127.0.0.1\n ecs all\n}",
			wantErr: "'ecs all': write 'ecs' (pass on a client's subnet) or 'ecs client_address'"},
		{name: "expand_transfer with arguments", input: "flatten {\n expand_transfer yes\n}",
			wantErr: "'expand_transfer' takes no arguments"},
		{name: "probe_ns", input: "flatten {\n probe_ns\n}", wantZones: []string{"example.org."}, wantMax: 10,
			check: func(t *testing.T, c config) {
				t.Helper()
				if !c.probeNS || c.probePort != "" {
					t.Errorf("probe_ns %v on port %q", c.probeNS, c.probePort)
				}
			}},
		{name: "probe_ns with arguments", input: "flatten {\n probe_ns all\n}",
			wantErr: "'probe_ns' takes no arguments"},
		{name: "resolver port out of range", input: "flatten {\n resolver 127.0.0.1:99999\n}",
			wantErr: "Testfile:2 - Error during parsing: resolver address '127.0.0.1:99999' has port '99999': the port must be a number from 1 to 65535, e.g. 127.0.0.1:5301"},
		{name: "resolver port zero", input: "flatten {\n resolver 127.0.0.1:53 [::1]:0\n}",
			wantErr: "resolver address '[::1]:0' has port '0': the port must be a number from 1 to 65535"},
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
			cfg, err := parse(c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual([]string(cfg.zones), tc.wantZones) || cfg.mode != tc.wantMode || cfg.maxChain != tc.wantMax {
				t.Errorf("got zones %v mode %d max %d, want %v %d %d", cfg.zones, cfg.mode, cfg.maxChain, tc.wantZones, tc.wantMode, tc.wantMax)
			}
			for _, n := range tc.wantNames {
				if _, ok := cfg.names[n]; !ok {
					t.Errorf("names %v lack %s", cfg.names, n)
				}
			}
			if len(cfg.names) != len(tc.wantNames) {
				t.Errorf("names = %v, want %v", cfg.names, tc.wantNames)
			}
			if tc.check != nil {
				tc.check(t, cfg)
			}
		})
	}
}

// A root block in apex mode flattens no name, and says so at start-up with its line and a fix; a
// root block that names zones, flattens all or names, or declares an alias, says nothing.
func TestRootApexNote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		input string
		keys  []string
		want  string
	}{
		{"flatten", []string{"."}, "Testfile:1 - flatten for the root in apex mode (the default) flattens no name, as '.' is no zone's apex " +
			"(answers and zones are still validated). To flatten, list the zones whose apex is an alias (flatten example.org " +
			"example.com), or write 'all' or 'names NAME...' in the block"},
		{"\n\nflatten {\n apex\n}", []string{".:1053"}, "Testfile:3 - flatten for the root in apex mode"},
		{"flatten . example.org", []string{"."}, ""}, // example.org's apex
		{"flatten example.org", []string{"."}, ""},
		{"flatten {\n all\n}", []string{"."}, ""},
		{"flatten {\n names www.example.org\n}", []string{"."}, ""},
		{"flatten {\n alias example.org www.example.net\n}", []string{"."}, ""},
		{"flatten", []string{"example.org."}, ""},
	} {
		c := caddy.NewTestController("dns", tc.input)
		c.ServerBlockKeys = tc.keys
		cfg, err := parse(c)
		if err != nil {
			t.Fatalf("%q: %v", tc.input, err)
		}
		got := rootApexNote(cfg)
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%q in %v: note %q, want %q", tc.input, tc.keys, got, tc.want)
		}
	}
}
