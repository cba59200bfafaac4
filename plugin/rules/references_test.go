package rules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func refTexts(rs []Reference) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Owner+" "+r.Kind+": "+strings.Join(r.Path, " -> "))
	}
	return out
}

func TestReferences(t *testing.T) {
	t.Parallel()
	z := zone(t, "@ IN HTTPS 0 www\nwww IN CNAME web\nweb IN CNAME cdn.example.net.\n@ IN MX 10 mx.example.net.\n"+
		"_sip._tcp IN SRV 0 0 5060 sip\nsip IN CNAME cdn.example.net.\nsub IN NS ns1.example.net.\nold IN DNAME example.net.\n"+
		"s1._domainkey IN CNAME s1.dkim.example.net.\nloop1 IN CNAME loop2\nloop2 IN CNAME loop1\nnull IN MX 0 .\nsvc IN HTTPS 1 cdn.example.net.\n")
	refs := References([]Zone{z}, map[string]string{"App.example.org": "www.example.org."})
	for _, tc := range []struct {
		target string
		want   []string
	}{{
		target: "cdn.example.net.",
		want: []string{
			"_sip._tcp.example.org. srv: _sip._tcp.example.org. -> sip.example.org. -> cdn.example.net.",
			"app.example.org. alias: app.example.org. -> www.example.org. -> web.example.org. -> cdn.example.net.",
			"example.org. alias-mode: example.org. -> www.example.org. -> web.example.org. -> cdn.example.net.",
			"sip.example.org. cname: sip.example.org. -> cdn.example.net.",
			"web.example.org. cname: web.example.org. -> cdn.example.net.",
		},
	}, {
		target: "web.example.org.",
		want: []string{
			"app.example.org. alias: app.example.org. -> www.example.org. -> web.example.org.",
			"example.org. alias-mode: example.org. -> www.example.org. -> web.example.org.",
			"www.example.org. cname: www.example.org. -> web.example.org.",
		},
	}, {
		target: "example.net.",
		want:   []string{"old.example.org. dname: old.example.org. -> example.net."},
	}, {
		target: "ns1.example.net.",
		want:   []string{"example.org. ns: example.org. -> ns1.example.net.", "sub.example.org. ns: sub.example.org. -> ns1.example.net."},
	}, {
		target: "mx.example.net.",
		want:   []string{"example.org. mx: example.org. -> mx.example.net."},
	}, {
		target: "s1.dkim.example.net.",
		want:   []string{"s1._domainkey.example.org. cname: s1._domainkey.example.org. -> s1.dkim.example.net."},
	}, {
		target: "loop1.example.org.",
		want:   []string{"loop2.example.org. cname: loop2.example.org. -> loop1.example.org."},
	}, {
		target: ".",
	}} {
		if got := refTexts(refs[tc.target]); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n  %s\nwant:\n  %s", tc.target, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
		}
	}
}

// One head and a 50,000-hop chain: one reference a record and one a name on the head's chain,
// the head's paths sharing one array.
func TestReferencesLinear(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 50_000 {
		fmt.Fprintf(&b, "c%d IN CNAME c%d\n", i, i+1)
	}
	refs := References([]Zone{zone(t, b.String())}, nil)
	total := 0
	for _, rs := range refs {
		total += len(rs)
	}
	if total != 50_000+49_999+1 { // the CNAMEs, the head's further names, and the NS of the apex
		t.Errorf("%d references", total)
	}
	end := refs["c50000.example.org."]
	if len(end) != 2 || len(end[0].Path) != 50_001 || &end[0].Path[0] != &refs["c2.example.org."][0].Path[0] {
		t.Errorf("the head's paths: %d references, the first %d long", len(end), len(end[0].Path))
	}
}

// Run counts the references to names outside the zones on its own index, as References gives
// them: the server's target_references gauge.
func TestOutsideReferences(t *testing.T) {
	t.Parallel()
	z := zone(t, "@ IN HTTPS 0 www\nwww IN CNAME web\nweb IN CNAME cdn.example.net.\n@ IN MX 10 mx.example.net.\n"+
		"_sip._tcp IN SRV 0 0 5060 sip\nsip IN CNAME cdn.example.net.\nsub IN NS ns1.example.net.\nold IN DNAME example.net.\n"+
		"loop1 IN CNAME loop2\nloop2 IN CNAME loop1\nin IN CNAME www\n")
	aliases := map[string]string{"app.example.org.": "www.example.org.", "ext.example.org.": "api.example.com."}
	want := map[string]int{}
	for target, refs := range References([]Zone{z}, aliases) {
		if !strings.HasSuffix(target, ".example.org.") && target != "example.org." {
			want[target] = len(refs)
		}
	}
	got := totals(t, Run(t.Context(), []Zone{z}, Config{Outside: aliases}).Outside, z.Origin)
	if len(want) < 4 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outside references %v, want %v", got, want)
	}
	if want["cdn.example.net."] != 6 {
		t.Errorf("cdn.example.net. has %d references, want 6 (web, sip, the SRV, the chains of the apex, in and app)", want["cdn.example.net."])
	}
}

// The counts Run takes from the chains it walked are References' own, on random zones (loops,
// chains into other names, MX, SRV and NS targets, wildcards).
func TestOutsideReferencesRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		text := randomZone(rng, i%2 == 0)
		z, err := ParseZone(strings.NewReader(text), "", "random")
		if err != nil {
			t.Fatal(err)
		}
		aliases := map[string]string{"alias.example.org.": []string{"www.example.org.", "out.example.net.", "b3.example.org."}[i%3]}
		want := map[string]int{}
		for target, refs := range References([]Zone{z}, aliases) {
			if !dns.IsSubDomain(z.Origin, target) {
				want[target] = len(refs)
			}
		}
		got := totals(t, Run(t.Context(), []Zone{z}, Config{Outside: aliases}).Outside, z.Origin)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("zone %d:\n%s\noutside references %v, want %v", i, text, got, want)
		}
	}
}

// totals are the counts of outside, which must all come from zone.
func totals(t *testing.T, outside map[string]map[string]int, zone string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for target, byZone := range outside {
		for z, n := range byZone {
			if z != zone {
				t.Errorf("%d references to %s from zone %q, want all from %s", n, target, z, zone)
			}
			out[target] += n
		}
	}
	return out
}

// Each zone's references are its own: two zones that reach one target are counted apart, so that
// server blocks that audit them add them up and blocks that audit the same zone count it once.
func TestOutsideReferencesByZone(t *testing.T) {
	t.Parallel()
	a := zone(t, "@ IN MX 10 mx.example.net.\nwww IN CNAME cdn.example.net.\n")
	b, err := ParseZone(strings.NewReader("$ORIGIN example.com.\n@ IN SOA ns1.example.net. h.example.com. 1 7200 3600 1209600 300\n@ IN NS ns1.example.net.\nwww IN CNAME cdn.example.net.\nshop IN CNAME www\n"), "", "b")
	if err != nil {
		t.Fatal(err)
	}
	got := Run(t.Context(), []Zone{a, b}, Config{Outside: map[string]string{"app.example.org.": "cdn.example.net."}}).Outside
	want := map[string]map[string]int{
		"cdn.example.net.": {"example.org.": 2, "example.com.": 2},
		"mx.example.net.":  {"example.org.": 1},
		"ns1.example.net.": {"example.org.": 1, "example.com.": 1},
	}
	if a.Origin != "example.org." || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: outside references %v, want %v", a.Origin, got, want)
	}
}
