package rules

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

const soa = "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"

// records is each record of z in presentation format, but the SOA.
func records(z Zone) []string {
	var out []string
	for _, rr := range z.Records {
		if rr.Header().Rrtype != dns.TypeSOA {
			out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
		}
	}
	return out
}

// problems is each unparsable-record finding of z as "owner: message".
func problems(z Zone) []string {
	var out []string
	for _, f := range z.Problems {
		if f.Rule != RuleUnparsable || f.Severity != Error || f.RFC == "" || f.Fix == "" {
			out = append(out, "incomplete finding: "+f.String())
		}
		out = append(out, f.Owner+" "+f.File+":"+strconv.Itoa(f.Line)+": "+f.Message)
	}
	return out
}

// The zone file reader reads what BIND reads, where miekg/dns alone refuses it, and a record it
// cannot read becomes a finding instead of hiding the rest of the zone.
func TestParseZone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		zone     string // read as the file "z" with origin example.org
		records  []string
		problems []string
	}{{
		name:    "owner, TTL and class as BIND reads them",
		zone:    "$TTL 3600\n" + soa + "  IN MX 10 mail\nx 300 IN A 192.0.2.1\nx IN 300 A 192.0.2.2\nx 1h30m A 192.0.2.3\n  CH TXT \"chaos\"\n",
		records: []string{"example.org. 3600 IN MX 10 mail.example.org.", "x.example.org. 300 IN A 192.0.2.1", "x.example.org. 300 IN A 192.0.2.2", "x.example.org. 5400 IN A 192.0.2.3", "x.example.org. 3600 CH TXT \"chaos\""},
	}, {
		name:     "one bad record does not hide the next",
		zone:     "$TTL 3600\n" + soa + "bad A 999.1.1.1\nafter A 192.0.2.4\ntypo CNAM www\nwww CNAME\nlast A 192.0.2.5\n",
		records:  []string{"after.example.org. 3600 IN A 192.0.2.4", "last.example.org. 3600 IN A 192.0.2.5"},
		problems: []string{`bad.example.org. z:3: bad A A: "999.1.1.1"; the record is left out of the checks`, "typo.example.org. z:5: unknown RR type 'CNAM'; the record is left out of the checks", "www.example.org. z:6: no data after the type CNAME (unexpected end of input); the record is left out of the checks"},
	}, {
		name:    "no $TTL: the SOA's minimum, as BIND",
		zone:    soa + "x A 192.0.2.1\ny 60 A 192.0.2.2\nz A 192.0.2.3\n",
		records: []string{"x.example.org. 300 IN A 192.0.2.1", "y.example.org. 60 IN A 192.0.2.2", "z.example.org. 300 IN A 192.0.2.3"},
	}, {
		name:    "no $TTL and an SOA with a TTL: the last TTL given (RFC 1035)",
		zone:    "@ 100 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\nx A 192.0.2.1\ny 60 A 192.0.2.2\nz A 192.0.2.3\n",
		records: []string{"x.example.org. 100 IN A 192.0.2.1", "y.example.org. 60 IN A 192.0.2.2", "z.example.org. 60 IN A 192.0.2.3"},
	}, {
		name:     "no TTL to be had",
		zone:     "x A 192.0.2.1\n" + soa,
		records:  []string{"x.example.org. 0 IN A 192.0.2.1"},
		problems: []string{"x.example.org. z:1: no TTL, and neither a $TTL nor an earlier TTL or SOA record to take one from (BIND refuses the zone: no TTL specified)"},
	}, {
		name: "RFC 3597 generic form, also for types miekg/dns does not know",
		zone: "$TTL 3600\n" + soa + "g1 TYPE65534 \\# 2 abcd\ng2 NSAP \\# 2 abcd\ng3 A \\# 4 c0000201\ng4 TYPE1 \\# 4 c0000201\ng5 type65534 \\# 4 ab cd ef 01\ng6 TYPE65534 \\# 0\n",
		records: []string{"g1.example.org. 3600 CLASS1 TYPE65534 \\# 2 abcd", "g2.example.org. 3600 CLASS1 TYPE22 \\# 2 abcd", "g3.example.org. 3600 IN A 192.0.2.1",
			"g4.example.org. 3600 IN A 192.0.2.1", "g5.example.org. 3600 CLASS1 TYPE65534 \\# 4 abcdef01", "g6.example.org. 3600 CLASS1 TYPE65534 \\# 0 "},
	}, {
		name: "types BIND knows by name and miekg/dns does not: kept as opaque records",
		zone: "$TTL 3600\n" + soa + "a WKS 192.0.2.1 TCP smtp http\nb NSAP 0x47.0005.80.005a00.0000.0001.e133.ffffff000162.00\nc A6 0 2001:db8::1\nd SINK 1 0 AAAA\ne DOA 0 1 2 \"\" aHR0cHM6Ly93d3cuaXNjLm9yZy8=\nf DSYNC CDS NOTIFY 5359 ns1.example.org.\ng HHIT AAAA\nh WALLET \"BTC\" \"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh\"\ni ATMA +16505551234\nj BRID AAAA\n",
		records: []string{"a.example.org. 3600 CLASS1 TYPE11 \\# 0 ", "b.example.org. 3600 CLASS1 TYPE22 \\# 0 ", "c.example.org. 3600 CLASS1 TYPE38 \\# 0 ", "d.example.org. 3600 CLASS1 TYPE40 \\# 0 ",
			"e.example.org. 3600 CLASS1 TYPE259 \\# 0 ", "f.example.org. 3600 CLASS1 TYPE66 \\# 0 ", "g.example.org. 3600 CLASS1 TYPE67 \\# 0 ", "h.example.org. 3600 CLASS1 TYPE262 \\# 0 ",
			"i.example.org. 3600 CLASS1 TYPE34 \\# 0 ", "j.example.org. 3600 CLASS1 TYPE68 \\# 0 "},
	}, {
		name: "valid data miekg/dns v1.1.73 refuses",
		zone: "$TTL 3600\n" + soa + "gpos GPOS \"-22.6882\" \"116.8652\" \"250.0\"\nloc LOC 52 22 N 4 53 E 2m\nloc2 LOC 52 22 N 4 53 32 E 2m\napl APL\nnid NID 10 14:4fff:ff20:ee64\nl64 L64 10 2001:db8:1140:1000\nt1 TXT \\# text\nt2 TXT \\#\nt3 TXT \\# 3 026162\nx25 X25 \"311061700956\"\n",
		records: []string{"gpos.example.org. 3600 IN GPOS -22.6882 116.8652 250.0", "loc.example.org. 3600 IN LOC 52 22 0.000 N 04 53 0.000 E 2m 1m 10000m 10m",
			"loc2.example.org. 3600 IN LOC 52 22 0.000 N 04 53 32.000 E 2m 1m 10000m 10m", "apl.example.org. 3600 IN APL ",
			"nid.example.org. 3600 IN NID 10 0014:4fff:ff20:ee64", "l64.example.org. 3600 IN L64 10 2001:0DB8:1140:1000",
			`t1.example.org. 3600 IN TXT "#" "text"`, `t2.example.org. 3600 IN TXT "#"`, `t3.example.org. 3600 IN TXT "ab"`, "x25.example.org. 3600 IN X25 311061700956"},
	}, {
		name:     "an IPSECKEY does not take the next line",
		zone:     "$TTL 3600\n" + soa + "ipsec IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==\nnext A 192.0.2.5\nipsec2 IPSECKEY 10 1 2\nnext2 A 192.0.2.6\n",
		records:  []string{"ipsec.example.org. 3600 IN IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==", "next.example.org. 3600 IN A 192.0.2.5", "next2.example.org. 3600 IN A 192.0.2.6"},
		problems: []string{"ipsec2.example.org. z:5: cannot read the IPSECKEY data, short of a field; the record is left out of the checks"},
	}, {
		name:     "meta types are not zone data",
		zone:     "$TTL 3600\n" + soa + "x AXFR\n",
		problems: []string{"x.example.org. z:3: AXFR is a meta type, which exists only in messages, never in a zone (RFC 6895 3.1); the record is left out of the checks"},
	}, {
		name:     "the line of the field that is wrong",
		zone:     "$TTL 3600\nsoa2 SOA ns1 hostmaster (\n   notanumber ; serial\n   7200 3600 1209600 300 )\nafter A 192.0.2.1\n",
		records:  []string{"after.example.org. 3600 IN A 192.0.2.1"},
		problems: []string{`soa2.example.org. z:3: bad SOA zone parameter: "notanumber"; the record is left out of the checks`},
	}, {
		name:    "parentheses and quotes that do not close stay in their record",
		zone:    "$TTL 3600\n" + soa + "paren TXT ( \"a\"\n  \"b\"\nlater A 192.0.2.6\nquote TXT \"unterminated\nafterquote A 192.0.2.7\nclose TXT \"a\" )\nafterclose A 192.0.2.8\n",
		records: []string{"later.example.org. 3600 IN A 192.0.2.6", "afterquote.example.org. 3600 IN A 192.0.2.7", "afterclose.example.org. 3600 IN A 192.0.2.8"},
		problems: []string{"paren.example.org. z:3: unbalanced parentheses: '(' without ')'; the record is left out of the checks",
			"quote.example.org. z:6: unterminated quoted string; the record is left out of the checks",
			"close.example.org. z:8: unbalanced parentheses: ')' without '('; the record is left out of the checks"},
	}, {
		name: "$GENERATE as BIND expands it",
		zone: "$TTL 3600\n" + soa + "$GENERATE 1-2 host${0,3,n} A 10.0.0.$\n$GENERATE 255-256 r${0,3,N} PTR h$\n$GENERATE 1-2 t$ TXT \"hello $\"\n$GENERATE 1-10/4 s$$${-1,2,x} 60 A 10.0.1.$\n$GENERATE 8-9 o${0,3,o} CNAME \\$\n",
		records: []string{"host1.0.example.org. 3600 IN A 10.0.0.1", "host2.0.example.org. 3600 IN A 10.0.0.2", "rF.F.example.org. 3600 IN PTR h255.example.org.", "r0.0.1.example.org. 3600 IN PTR h256.example.org.",
			`t1.example.org. 3600 IN TXT "hello" "1"`, `t2.example.org. 3600 IN TXT "hello" "2"`,
			"s\\$00.example.org. 60 IN A 10.0.1.1", "s\\$04.example.org. 60 IN A 10.0.1.5", "s\\$08.example.org. 60 IN A 10.0.1.9",
			"o010.example.org. 3600 IN CNAME \\$.example.org.", "o011.example.org. 3600 IN CNAME \\$.example.org."},
	}, {
		name: "bad $GENERATE lines and directives",
		zone: "$TTL 3600\n" + soa + "$GENERATE 5-1 bad A 10.0.0.$\n$GENERATE 1-2 bad2$ MX 10 mail$\n$GENERATE 1-2 b${0,1,z} A 10.0.0.$\n$GENERATE 0-2000000 big$ A 10.0.0.1\n$FOO bar\n$TTL forever\n$ORIGIN a..b\n",
		problems: []string{"example.org. z:3: bad $GENERATE range 5-1 (START-STOP or START-STOP/STEP)",
			"example.org. z:4: $GENERATE takes the record's data as one token (BIND reads no more): quote it",
			`example.org. z:5: $GENERATE: bad base "z" in ${0,1,z}: use d, o, x, X, n or N`,
			"example.org. z:6: $GENERATE range 0-2000000 makes more than 1048576 records",
			"example.org. z:7: unknown directive $FOO", "example.org. z:8: bad $TTL forever", "example.org. z:9: bad $ORIGIN name a..b"},
	}, {
		name:    "$ORIGIN relative to the one before, and @",
		zone:    "$TTL 3600\n" + soa + "$ORIGIN sub\nrel A 192.0.2.9\n@ A 192.0.2.10\n$ORIGIN example.net.\nout A 192.0.2.11\n",
		records: []string{"rel.sub.example.org. 3600 IN A 192.0.2.9", "sub.example.org. 3600 IN A 192.0.2.10", "out.example.net. 3600 IN A 192.0.2.11"},
	}, {
		name:     "a first record without an owner",
		zone:     "$TTL 3600\n  A 192.0.2.1\n" + soa,
		problems: []string{"example.org. z:2: no owner name: the first record starts with a blank; the record is left out of the checks"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			z, err := ParseZone(strings.NewReader(tc.zone), "example.org", "z")
			if err != nil {
				t.Fatal(err)
			}
			if got := records(z); !slices.Equal(got, tc.records) {
				t.Errorf("records:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.records, "\n  "))
			}
			if got := problems(z); !slices.Equal(got, tc.problems) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.problems, "\n  "))
			}
		})
	}
}

// Where miekg/dns reads a zone, the reader reads the same records (the test zones, and random
// ones).
func TestParseSameAsMiekg(t *testing.T) {
	t.Parallel()
	zones := map[string]string{}
	paths, _ := filepath.Glob("testdata/*.example.org")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		zones[p] = string(b)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		zones["random"+string(rune('a'+i%26))+strings.Repeat("x", i/26)] = randomZone(rng, i%2 == 0)
	}
	zones["escapes and multi-line"] = "$ORIGIN example.org.\n$TTL 60\n@ SOA ns1 h ( 1 2 3\n 4 5 ) ; comment\na\\.b A 192.0.2.1\nc TXT \"a;b\" \"x\\\"y\" ; c\nd ( MX 10\n mail ) ; m\n*.w CNAME a\\.b\n"
	for name, text := range zones {
		ours, err := ParseZone(strings.NewReader(text), "", name)
		if err != nil || len(ours.Problems) > 0 {
			t.Fatalf("%s: %v %v", name, err, ours.Problems)
		}
		var theirs []string
		zp := dns.NewZoneParser(strings.NewReader(text), "", name)
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			theirs = append(theirs, rr.String())
		}
		if err := zp.Err(); err != nil {
			t.Fatalf("%s: miekg/dns: %v", name, err)
		}
		var got []string
		for _, rr := range ours.Records {
			got = append(got, rr.String())
		}
		if !slices.Equal(got, theirs) {
			t.Errorf("%s: records\n  %s\nmiekg/dns:\n  %s", name, strings.Join(got, "\n  "), strings.Join(theirs, "\n  "))
		}
	}
}

// $INCLUDE reads files relative to the including file, keeps the origin and owner of the file
// that includes, keeps a $TTL (as BIND), and refuses files outside the zone file's directory.
func TestInclude(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	dir := filepath.Join(top, "zones")
	for name, text := range map[string]string{
		"zones/db.example.org": "$ORIGIN example.org.\n$TTL 3600\n" + soa + "$INCLUDE sub/part.inc\nafter A 192.0.2.9\n" +
			"$INCLUDE sub/part2.inc other\nz A 192.0.2.10\n$INCLUDE ../outside.inc\n$INCLUDE link.inc\n$INCLUDE missing.inc\n$INCLUDE loop.inc\n",
		"zones/sub/part.inc":   "$TTL 60\ninc1 A 192.0.2.2\n$INCLUDE deeper.inc\n",
		"zones/sub/deeper.inc": "deep A 192.0.2.3\n",
		"zones/sub/part2.inc":  "inc2 A 192.0.2.4\n$ORIGIN example.net.\n",
		"zones/loop.inc":       "$INCLUDE loop.inc\n",
		"outside.inc":          "secret A 192.0.2.66\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(top, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(top, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../outside.inc", filepath.Join(dir, "link.inc")); err != nil {
		t.Fatal(err)
	}
	z, err := ParseZoneFile(filepath.Join(dir, "db.example.org"), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300", "inc1.example.org. 60 IN A 192.0.2.2", "deep.example.org. 60 IN A 192.0.2.3",
		"after.example.org. 60 IN A 192.0.2.9", "inc2.other.example.org. 60 IN A 192.0.2.4", "z.example.org. 60 IN A 192.0.2.10"}
	var got []string
	for _, rr := range z.Records {
		got = append(got, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	if !slices.Equal(got, want) {
		t.Errorf("records:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	zf := filepath.Join(dir, "db.example.org")
	wantProblems := []string{
		"example.org. " + zf + ":8: $INCLUDE ../outside.inc: outside " + dir + ", the zone file's directory: refused",
		"example.org. " + zf + ":9: $INCLUDE link.inc: path escapes from parent",
		"example.org. " + zf + ":10: $INCLUDE missing.inc: no such file or directory",
		"example.org. " + filepath.Join(dir, "loop.inc") + ":1: $INCLUDE nested more than 8 deep",
	}
	if got := problems(z); !slices.Equal(got, wantProblems) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantProblems, "\n  "))
	}

	z, err = ParseZone(strings.NewReader("$ORIGIN example.org.\n$TTL 60\n"+soa+"$INCLUDE part.inc\n"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := problems(z); !slices.Equal(got, []string{"example.org. :4: $INCLUDE part.inc: the zone was not read from a file, so there is no directory to read it from"}) {
		t.Errorf("include without a file: %v", got)
	}
}

func TestOriginFromFileName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, want string
	}{
		{path: "zones/db.example.org", want: "example.org."},
		{path: "example.org.zone", want: "example.org."},
		{path: "example.org.db", want: "example.org."},
		{path: "/etc/bind/named.example.org", want: "example.org."},
		{path: "example.org", want: "example.org."},
		{path: "db.example.org.signed", want: "example.org."},
		{path: "Example.CO.UK.zone", want: "example.co.uk."},
		{path: "db.192.168.1", want: "1.168.192.in-addr.arpa."},
		{path: "1.168.192.in-addr.arpa.zone", want: "1.168.192.in-addr.arpa."},
		{path: "db.xn--bcher-kva.example", want: "xn--bcher-kva.example."},
		{path: "zone.txt"},
		{path: "db.local"},
		{path: "zonefile"},
		{path: "backup.2024"},
	} {
		got, ok := OriginFromFileName(tc.path)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: %q %v, want %q", tc.path, got, ok, tc.want)
		}
	}
}

// Without an origin given, a zone whose SOA is at @ and has no $ORIGIN takes its origin from its
// file's name, or says what to give.
func TestOriginInferred(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := "$TTL 3600\n" + soa + "@ IN NS ns1\nns1 IN A 192.0.2.53\nwww IN CNAME ns1\n"
	for _, name := range []string{"db.example.org", "zone.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	z, err := ParseZoneFile(filepath.Join(dir, "db.example.org"), "")
	if err != nil || z.Origin != "example.org." || len(z.Records) != 4 || z.Records[3].(*dns.CNAME).Target != "ns1.example.org." {
		t.Errorf("db.example.org: origin %q, %d records, %v", z.Origin, len(z.Records), err)
	}
	path := filepath.Join(dir, "zone.txt")
	_, err = ParseZoneFile(path, "")
	if want := path + ": no $ORIGIN before the first relative name and no zone name in the file name: name it as FILE:ORIGIN, e.g. " + path + ":example.org"; err == nil || err.Error() != want {
		t.Errorf("zone.txt: error %v, want %s", err, want)
	}
	if z, err := ParseZoneFile(path, "example.com"); err != nil || z.Origin != "example.com." {
		t.Errorf("zone.txt:example.com: origin %q, %v", z.Origin, err)
	}
	// An absolute SOA owner gives the origin, whatever the file's name.
	z, err = ParseZone(strings.NewReader("example.net. 60 IN SOA ns1 h 1 2 3 4 5\nwww 60 IN A 192.0.2.1\n"), "", "db.example.org")
	if err != nil || z.Origin != "example.net." || z.Records[1].Header().Name != "www.example.net." {
		t.Errorf("absolute SOA: origin %q, %v", z.Origin, err)
	}
}

// Every finding says the file and line of the record it is about, the included file's own for a
// record an $INCLUDE brought in.
func TestFindingsLocated(t *testing.T) {
	t.Parallel()
	z, err := ParseZoneFile("testdata/corpus/include/db.example.org", "")
	if err != nil {
		t.Fatal(err)
	}
	fs := Check(context.Background(), []Zone{z}, Config{Oracle: oracle})
	got := make([]string, 0, len(fs))
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s:%d %s %s", f.File, f.Line, f.Rule, f.Owner))
	}
	want := []string{
		"testdata/corpus/include/db.example.org:8 dangling-cname app.example.org.",
		"testdata/corpus/include/keys/dkim.inc:2 dkim-target s2._domainkey.example.org.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings at\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
