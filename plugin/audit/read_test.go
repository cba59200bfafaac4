package audit

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/file"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// exactTransferer serves one zone, and only when asked for exactly that zone, as the file plugin
// does.
type exactTransferer struct {
	origin string
	rrs    []dns.RR
}

func (x exactTransferer) Transfer(zone string, _ uint32) (<-chan []dns.RR, error) {
	if zone != x.origin {
		return nil, transfer.ErrNotAuthoritative
	}
	ch := make(chan []dns.RR, 1)
	ch <- x.rrs
	close(ch)
	return ch, nil
}

// servingTransferer is a plugin of the block that serves one zone and hands it over, as secondary
// does, without being the file plugin.
type servingTransferer struct{ exactTransferer }

func (servingTransferer) Name() string { return "serving" }

func (servingTransferer) ServeDNS(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
	return dns.RcodeRefused, nil
}

// ZONES below a served zone are read from the enclosing zone, keeping only their own names.
func TestTransferBelowZone(t *testing.T) {
	soa := test.SOA("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 7 7200 3600 1209600 300")
	trs := []transfer.Transferer{exactTransferer{origin: "example.org.", rrs: []dns.RR{
		soa,
		test.CNAME("www.example.org. 300 IN CNAME elsewhere.example.net."),
		test.CNAME("a.sub.example.org. 300 IN CNAME b.sub.example.org."),
		test.A("b.sub.example.org. 300 IN A 192.0.2.1"),
	}}}
	z, err := readZone(trs, "sub.example.org.", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if z.serial != 7 || len(z.records) != 2 {
		t.Fatalf("serial %d, records %v; want serial 7 and the two records of sub.example.org.", z.serial, z.records)
	}
	for _, rr := range z.records {
		if !dns.IsSubDomain("sub.example.org.", rr.Header().Name) {
			t.Errorf("record outside sub.example.org.: %s", rr)
		}
	}
	// Nothing serves a zone that encloses this one.
	if _, err := readZone(trs, "example.com.", 0, 0); err != transfer.ErrNotAuthoritative {
		t.Errorf("example.com.: %v, want ErrNotAuthoritative", err)
	}
}

// A file zone is read without its Transfer, and to the same records: the apex, every name (the
// apex's other types, a DNSSEC signature, a delegation and its glue, a wildcard) and nothing more;
// only its SOA when its serial is the one asked with.
func TestFileZoneReadAsTransferred(t *testing.T) {
	const text = `$ORIGIN example.org.
@ 3600 IN SOA ns1 hostmaster 9 7200 3600 1209600 300
@ 3600 IN NS ns1
@ 3600 IN MX 10 mail
@ 3600 IN TXT "v=spf1 -all"
ns1 300 IN A 192.0.2.53
www 300 IN CNAME web
www 300 IN RRSIG CNAME 13 3 300 20300101000000 20200101000000 12345 example.org. c2lnbmF0dXJl
web 300 IN A 192.0.2.1
web 300 IN AAAA 2001:db8::1
sub 300 IN NS ns.sub
ns.sub 300 IN A 192.0.2.54
* 300 IN TXT "wild"
`
	z, err := file.Parse(strings.NewReader(text), "example.org.", "db.example.org", 0)
	if err != nil {
		t.Fatal(err)
	}
	f := file.File{Zones: file.Zones{Z: map[string]*file.Zone{"example.org.": z}, Names: []string{"example.org."}}}
	texts := func(rrs []dns.RR) []string {
		out := make([]string, 0, len(rrs))
		for _, rr := range rrs {
			out = append(out, rr.String())
		}
		slices.Sort(out)
		return out
	}
	var want []dns.RR
	ch, err := f.Transfer("example.org.", 0)
	if err != nil {
		t.Fatal(err)
	}
	for batch := range ch {
		want = append(want, batch...)
	}
	got, err := transferZone(f, "example.org.", "example.org.", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// transferZone drops the closing SOA, as it does of every transfer.
	if g, w := texts(got.records), texts(want[:len(want)-1]); !slices.Equal(g, w) || got.serial != 9 || len(w) < 12 {
		t.Errorf("read\n  %s\nfile's transfer\n  %s", strings.Join(g, "\n  "), strings.Join(w, "\n  "))
	}
	for i := 1; i < len(got.records); i++ {
		if at(got.records[i-1]) >= at(got.records[i]) {
			t.Fatalf("records %d and %d are not in memory order: %s, then %s", i-1, i, got.records[i-1], got.records[i])
		}
	}
	if same, err := transferZone(f, "example.org.", "example.org.", 9, 0); err != nil || same.records != nil || same.serial != 9 {
		t.Errorf("the same serial: %+v, %v; want no records", same, err)
	}
	if _, err := transferZone(f, "example.com.", "example.com.", 0, 0); err != transfer.ErrNotAuthoritative {
		t.Errorf("a zone file does not serve: %v", err)
	}
}

// What the request path needs of a zone: the apex's records when it holds a CNAME beside other
// data, and the CNAME owners that must never be answered NXDOMAIN.
func TestZoneState(t *testing.T) {
	z := newZoneState("example.org.", 3, []dns.RR{
		test.SOA("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 3 7200 3600 1209600 300"),
		test.NS("example.org. 3600 IN NS ns1.example.org."),
		test.CNAME("example.org. 300 IN CNAME www.example.net."),
		test.MX("example.org. 3600 IN MX 10 mx.example.net."),
		test.CNAME("leaf.example.org. 300 IN CNAME gone.example.net."),
		test.CNAME("parent.example.org. 300 IN CNAME gone.example.net."),
		test.A("child.parent.example.org. 300 IN A 192.0.2.1"),
		test.CNAME("txt.example.org. 300 IN CNAME gone.example.net."),
		test.TXT(`txt.example.org. 300 IN TXT "beside"`),
		test.CNAME("signed.example.org. 300 IN CNAME gone.example.net."),
		test.RRSIG("signed.example.org. 300 IN RRSIG CNAME 13 3 300 20300101000000 20200101000000 1 example.org. c2ln"),
	}, true)
	if len(z.apex[dns.TypeMX]) != 1 || len(z.apex[dns.TypeCNAME]) != 1 {
		t.Errorf("apex %v, want its records by type", z.apex)
	}
	for name, want := range map[string]bool{
		"example.org.": true, "parent.example.org.": true, "txt.example.org.": true,
		"leaf.example.org.": false, "signed.example.org.": false, "child.parent.example.org.": false,
	} {
		snap := &snapshot{zones: map[string]*zoneState{"example.org.": z}}
		if got := snap.owns(name); got != want {
			t.Errorf("owns(%s) = %v, want %v", name, got, want)
		}
	}
	if z := newZoneState("example.org.", 1, []dns.RR{test.CNAME("example.org. 300 IN CNAME www.example.net."), test.SOA("example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")}, true); len(z.apex[dns.TypeSOA]) != 1 || len(z.apex[dns.TypeCNAME]) != 1 {
		t.Errorf("an apex with only SOA beside its CNAME: apex %v, want its records by type (its other types are NODATA, not the CNAME)", z.apex)
	}
	if z := newZoneState("example.org.", 1, []dns.RR{test.MX("example.org. 3600 IN MX 10 mx.example.net."), test.SOA("example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 300")}, true); z.apex != nil {
		t.Errorf("an apex without a CNAME needs no answers of its own: %v", z.apex)
	}
}

// A plugin zone that no plugin serves is audited as the zones the block's file plugin loads
// below it, read by their own spelling; names outside those zones are then the world's. A zone
// that another kind of plugin serves (secondary, kubernetes) is read from it, with a file zone
// below it left alone.
func TestZonesBelowAnUnservedZone(t *testing.T) {
	fileOf := func(names ...string) file.File {
		f := file.File{Zones: file.Zones{Z: map[string]*file.Zone{}, Names: names}}
		for _, name := range names {
			z, err := file.Parse(strings.NewReader("@ 300 IN SOA ns.example.net. h.example.net. 3 7200 3600 1209600 300\n@ 300 IN NS ns.example.net.\nwww 300 IN CNAME www.example.net.\n"), name, "db", 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Z[name] = z
		}
		return f
	}
	read := func(zones chain.Zones, handlers ...plugin.Handler) (*Auditor, []string) {
		t.Helper()
		a := New(Config{Zones: zones, Handlers: handlers, MaxChain: 10})
		a.pass(true)
		job := <-a.jobs
		got := make([]string, 0, len(job.zones))
		for origin := range job.zones {
			got = append(got, origin)
		}
		slices.Sort(got)
		return a, got
	}

	a, got := read(chain.Zones{"."}, fileOf("Example.ORG.", "example.net."))
	if !slices.Equal(got, []string{"Example.ORG.", "example.net."}) {
		t.Errorf("'.' over file's zones: read %v, want Example.ORG. and example.net.", got)
	}
	for name, want := range map[string]bool{"www.example.org.": true, "example.net.": true, "host.example.com.": false, ".": false} {
		if a.holds(name) != want {
			t.Errorf("'.' over file's zones: holds(%s) = %v, want %v", name, !want, want)
		}
	}

	other := exactTransferer{origin: "example.org.", rrs: []dns.RR{
		test.SOA("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 7 7200 3600 1209600 300"),
		test.CNAME("www.example.org. 300 IN CNAME elsewhere.example.net."),
	}}
	a, got = read(chain.Zones{"example.org."}, servingTransferer{other}, fileOf("sub.example.org."))
	if !slices.Equal(got, []string{"example.org."}) || a.read["example.org."].serial != 7 {
		t.Errorf("example.org. served by another plugin: read %v (serial %d), want example.org. from it, serial 7", got, a.read["example.org."].serial)
	}

	if _, got = read(chain.Zones{"."}); len(got) != 0 {
		t.Errorf("'.' with nothing below it: read %v, want nothing", got)
	}
}

// inMemoryOrder puts any order of a zone's records in memory order, and loses none.
func TestInMemoryOrder(t *testing.T) {
	z, err := readZone([]transfer.Transferer{fileOf(t, 10_000)}, "example.org.", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range []string{"shuffled", "reversed", "sorted"} {
		rrs := slices.Clone(z.records)
		switch order {
		case "shuffled":
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(rrs), func(i, j int) { rrs[i], rrs[j] = rrs[j], rrs[i] })
		case "reversed":
			slices.Reverse(rrs)
		}
		inMemoryOrder(rrs)
		for i := 1; i < len(rrs); i++ {
			if at(rrs[i-1]) >= at(rrs[i]) {
				t.Fatalf("%s: records %d and %d are not in memory order", order, i-1, i)
			}
		}
		byAt := func(x, y dns.RR) int { return cmp.Compare(at(x), at(y)) }
		want := slices.SortedFunc(slices.Values(z.records), byAt)
		if !slices.Equal(rrs, want) {
			t.Errorf("%s: %d records after the sort, not the %d given", order, len(rrs), len(z.records))
		}
	}
}

// The fingerprint of a zone does not depend on the order its records come in (file gives a
// name's types in its map's order), and changes with what the rules read.
func TestFingerprintIgnoresOrder(t *testing.T) {
	rrs := []dns.RR{
		test.SOA("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300"),
		test.A("www.example.org. 300 IN A 192.0.2.1"),
		test.TXT(`www.example.org. 300 IN TXT "v=spf1 -all"`),
		test.CNAME("shop.example.org. 300 IN CNAME www.example.org."),
	}
	want := fingerprint(rrs)
	reversed := slices.Clone(rrs)
	slices.Reverse(reversed)
	if got := fingerprint(reversed); got != want {
		t.Errorf("reversed: %x, want %x", got, want)
	}
	changed := slices.Clone(rrs)
	changed[3] = test.CNAME("shop.example.org. 300 IN CNAME web.example.org.")
	if fingerprint(changed) == want {
		t.Error("a CNAME's target changed, and the fingerprint did not")
	}
	if fingerprint(rrs[:3]) == want {
		t.Error("a CNAME removed, and the fingerprint did not change")
	}
	again := slices.Clone(rrs)
	again[1] = test.A("www.example.org. 300 IN A 192.0.2.99")
	if fingerprint(again) != want {
		t.Error("an address changed the fingerprint")
	}
}
