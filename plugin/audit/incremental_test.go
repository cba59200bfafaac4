package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/file"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/rules"
)

// A change of a zone that the rules cannot see (an address, the serial) is not checked again, and
// the audit stands by the findings a full check of the new zone gives; any other change is
// checked. Over a sequence of edits, what the audit reports is a full check's every time.
func TestIncrementalAuditEqualsFullCheck(t *testing.T) {
	base := `$ORIGIN example.org.
@ 3600 IN SOA ns1 hostmaster %d 7200 3600 1209600 300
@ 3600 IN NS ns1
ns1 300 IN CNAME host
host 300 IN A 192.0.2.1
www 300 IN A %s
loop-a 300 IN CNAME loop-b
loop-b 300 IN CNAME loop-a
`
	f := &file.File{Zones: file.Zones{Z: map[string]*file.Zone{}, Names: []string{"example.org."}}}
	a := New(Config{Zones: chain.Zones{"example.org."}, Handlers: []plugin.Handler{f}, MaxChain: 10})
	serial := 0
	load := func(text string) []rules.Zone {
		t.Helper()
		serial++
		z, err := file.Parse(strings.NewReader(text), "example.org.", "db.example.org", 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Z["example.org."] = z
		rz, err := rules.ParseZone(strings.NewReader(text), "example.org.", "db.example.org")
		if err != nil {
			t.Fatal(err)
		}
		return []rules.Zone{rz}
	}
	for i, step := range []struct {
		name    string
		extra   string
		addr    string
		checked bool // the change is one the rules see
	}{
		{name: "start", addr: "192.0.2.10", checked: true},
		{name: "an address changed", addr: "192.0.2.11"},
		{name: "the serial alone", addr: "192.0.2.11"},
		{name: "a TXT added", addr: "192.0.2.11", extra: "www 300 IN TXT \"v=spf1 -all\"\n", checked: true},
		{name: "the serial alone, www owning an A and a TXT", addr: "192.0.2.11", extra: "www 300 IN TXT \"v=spf1 -all\"\n"},
		{name: "a loop added", addr: "192.0.2.11", extra: "www 300 IN TXT \"v=spf1 -all\"\nx 300 IN CNAME y\ny 300 IN CNAME x\n", checked: true},
		{name: "the loop removed, an address changed", addr: "192.0.2.12", extra: "www 300 IN TXT \"v=spf1 -all\"\n", checked: true},
		{name: "a CNAME's TTL changed", addr: "192.0.2.12", extra: "www 300 IN TXT \"v=spf1 -all\"\n", checked: true},
	} {
		text := fmt.Sprintf(base, serial+1, step.addr) + step.extra
		if step.name == "a CNAME's TTL changed" {
			text = strings.Replace(text, "ns1 300 IN CNAME host", "ns1 600 IN CNAME host", 1)
		}
		zones := load(text)
		a.pass(i == 0)
		select {
		case job := <-a.jobs:
			if !step.checked {
				t.Errorf("%s: checked again, though the rules see no change", step.name)
			}
			a.check(job)
		default:
			if step.checked {
				t.Errorf("%s: not checked again", step.name)
			}
		}
		want := rules.Check(context.Background(), zones, rules.Config{MaxChain: 10})
		for i := range want { // zones read from a plugin have no lines
			want[i].File, want[i].Line = "", 0
		}
		got := a.Findings()
		if len(want) < 2 || !slices.Equal(got, want) {
			t.Errorf("%s: the audit stands by\n%v\nwant a full check's\n%v", step.name, got, want)
		}
	}
}
