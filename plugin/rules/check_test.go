package rules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func zone(t *testing.T, text string) Zone {
	t.Helper()
	z, err := ParseZone(strings.NewReader("$ORIGIN example.org.\n$TTL 3600\n@ IN SOA ns1.example.net. hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1.example.net.\n"+text), "", "z")
	if err != nil || len(z.Problems) > 0 {
		t.Fatalf("%v %v", err, z.Problems)
	}
	return z
}

// texts is each finding as "severity rule owner: message; fix".
func texts(fs []Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s: %s; fix: %s", f.Severity, f.Rule, f.Owner, f.Message, f.Fix))
	}
	return out
}

func TestRuleCases(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		zone     string
		findings []string // with the test oracle
	}{{
		name: "a chain through a DNAME (RFC 6672) is followed",
		zone: "cname IN CNAME a.cnamedname\ncnamedname IN DNAME target\na.target IN A 192.0.2.1\n" +
			"gone IN CNAME b.cnamedname\nout IN CNAME c.toout\ntoout IN DNAME example.net.\n",
		findings: []string{"warning dangling-cname gone.example.org.: dangling CNAME: b.target.example.org. does not exist (NXDOMAIN): gone.example.org. -> b.cnamedname.example.org. -> b.target.example.org.; fix: remove the CNAME, or create b.target.example.org.",
			"warning dangling-cname out.example.org.: dangling CNAME: c.example.net. does not exist (NXDOMAIN): out.example.org. -> c.toout.example.org. -> c.example.net.; fix: remove the CNAME, or create c.example.net."},
	}, {
		name:     "a loop through a DNAME",
		zone:     "x IN CNAME a.d1\nd1 IN DNAME d2.example.org.\na.d2 IN CNAME a.d1\n",
		findings: []string{"error cname-loop a.d2.example.org.: CNAME loop: a.d2.example.org. -> a.d1.example.org. -> a.d2.example.org.; fix: point one CNAME of the loop at a name that holds addresses"},
	}, {
		name:     "MX and NS targets below a DNAME are aliases",
		zone:     "www IN MX 10 mail.d\nd IN DNAME e\nmail.e IN A 192.0.2.1\n",
		findings: []string{"error target-is-alias www.example.org.: MX exchange mail.d.example.org. is below the DNAME at d.example.org., so it is an alias: it must name a host with addresses; fix: point the MX exchange at mail.e.example.org., the name the DNAME maps it to"},
	}, {
		name: "an apex that points at itself: no alias to suggest",
		zone: "@ IN CNAME @\n",
		findings: []string{"error cname-at-apex example.org.: CNAME at the zone apex, which must hold SOA and NS: resolvers that honour the CNAME lose the zone's other records; fix: replace the CNAME with the apex's own addresses: it points at the apex itself, so there is nothing to flatten",
			"error cname-loop example.org.: CNAME loop: example.org. -> example.org.; fix: point one CNAME of the loop at a name that holds addresses"},
	}, {
		name: "an apex in a loop: no alias to suggest",
		zone: "@ IN CNAME a\na IN CNAME @\n",
		findings: []string{"error cname-loop a.example.org.: CNAME loop: a.example.org. -> example.org. -> a.example.org.; fix: point one CNAME of the loop at a name that holds addresses",
			"error cname-at-apex example.org.: CNAME at the zone apex, which must hold SOA and NS: resolvers that honour the CNAME lose the zone's other records; fix: replace the CNAME with the apex's own addresses: its target a.example.org. leads into a CNAME loop, so there is nothing to flatten"},
	}, {
		name: "an apex whose target forks: its CNAMEs first",
		zone: "@ IN CNAME x\nx IN CNAME a.example.net.\nx IN CNAME b.example.net.\n",
		findings: []string{"error cname-at-apex example.org.: CNAME at the zone apex, which must hold SOA and NS: resolvers that honour the CNAME lose the zone's other records; fix: give x.example.org. one CNAME (RFC 2181 10.1), then replace the apex's CNAME with the target's addresses, or declare it to flatten as 'alias example.org. x.example.org.' and remove the CNAME",
			"error multiple-cnames x.example.org.: 2 CNAMEs (a.example.net., b.example.net.): a name has at most one canonical name; fix: keep one CNAME"},
	}, {
		name:     "an apex alias to flatten",
		zone:     "@ IN CNAME www.example.net.\n",
		findings: []string{"error cname-at-apex example.org.: CNAME at the zone apex, which must hold SOA and NS: resolvers that honour the CNAME lose the zone's other records; fix: replace the CNAME with the target's addresses, or declare it to flatten as 'alias example.org. www.example.net.' and remove the CNAME"},
	}, {
		name:     "a wildcard does not reach below an empty non-terminal (RFC 4592)",
		zone:     "* IN A 192.0.2.1\nhost.sub IN A 192.0.2.2\nx IN CNAME other.sub\ny IN CNAME anything\n",
		findings: []string{"warning dangling-cname x.example.org.: dangling CNAME: other.sub.example.org. does not exist (NXDOMAIN): x.example.org. -> other.sub.example.org.; fix: remove the CNAME, or create other.sub.example.org."},
	}, {
		name: "mail, name and service hosts without addresses",
		zone: "@ IN MX 10 mail\nmail IN TXT \"no address\"\nshop IN MX 10 mx6\nmx6 IN AAAA 2001:db8::25\ndept IN NS ns.dept\nlab IN NS ns.other\n" +
			"_sip._tcp IN SRV 0 0 5060 sip\nnomail IN MX 0 .\nwild IN MX 10 x.w\n*.w IN A 192.0.2.9\n",
		findings: []string{"warning target-no-address _sip._tcp.example.org.: SRV target sip.example.org. has no address records (A or AAAA): clients of _sip._tcp.example.org. cannot reach this target; fix: add the A or AAAA records of sip.example.org., or point the SRV target at a host that has them",
			"error target-no-address example.org.: MX exchange mail.example.org. has no address records (A or AAAA): mail for example.org. cannot be delivered to it; fix: add the A or AAAA records of mail.example.org., or point the MX exchange at a host that has them",
			"error target-no-address lab.example.org.: NS name ns.other.example.org. has no address records (A or AAAA): resolvers cannot reach this name server for lab.example.org.; fix: add the A or AAAA records of ns.other.example.org., or point the NS name at a host that has them"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := texts(Check(context.Background(), []Zone{zone(t, tc.zone)}, Config{Oracle: oracle}))
			if !slices.Equal(got, tc.findings) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.findings, "\n  "))
			}
		})
	}
}

func TestDNAMESubstitute(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		name, owner, target, want string
	}{
		{name: "a.cnamedname.example.org.", owner: "cnamedname.example.org.", target: "target.example.org.", want: "a.target.example.org."},
		{name: "X.Y.Old.Example.", owner: "old.example.", target: "new.example.", want: "X.Y.new.example."},
		{name: "a.old.example", owner: "old.example.", target: "new.example.", want: "a.new.example."},
		{name: "old.example.", owner: "old.example.", target: "new.example."},                      // the owner itself is not redirected
		{name: "a.other.example.", owner: "old.example.", target: "new.example."},                  // not below it
		{name: "a\\.old.example.", owner: "old.example.", target: "new.example."},                  // one label, a\.old, below example.
		{name: "host.example.", owner: ".", target: "root.test.", want: "host.example.root.test."}, // a DNAME at the root
		{name: "a.old.example.", owner: "old.example.", target: ".", want: "a."},
		{name: long + "." + long + "." + long + ".old.", owner: "old.", target: long + ".", want: ""}, // over 255 octets
		{name: long + "." + long + "." + long + ".old.", owner: "old.", target: "b.", want: long + "." + long + "." + long + ".b."},
	} {
		d := &dns.DNAME{Hdr: dns.RR_Header{Name: tc.owner, Rrtype: dns.TypeDNAME, Class: dns.ClassINET}, Target: tc.target}
		got, ok := DNAMESubstitute(tc.name, d)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s by %s: %q %v, want %q", tc.name, d, got, ok, tc.want)
		}
	}
}

// countingOracle answers as oracle after a pause, counting questions and how many run at once.
type countingOracle struct {
	mu      sync.Mutex
	asked   map[string]int
	now     atomic.Int32
	highest atomic.Int32
}

func (o *countingOracle) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	n := o.now.Add(1)
	defer o.now.Add(-1)
	for {
		h := o.highest.Load()
		if n <= h || o.highest.CompareAndSwap(h, n) {
			break
		}
	}
	o.mu.Lock()
	o.asked[fmt.Sprintf("%s %s", dns.CanonicalName(name), dns.TypeToString[qtype])]++
	o.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	if strings.HasPrefix(name, "gone") {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.Rcode = dns.RcodeNameError
		return m, nil
	}
	return oracle.Lookup(ctx, "www.example.net.", qtype)
}

// Outside names are asked about once per name and type, Parallel at a time, and the findings do
// not depend on which answer comes first.
func TestOracleOncePerQuestion(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 400 {
		fmt.Fprintf(&b, "a%d IN CNAME host%d.example.net.\n", i, i%40)
		fmt.Fprintf(&b, "g%d IN CNAME gone%d.example.net.\n", i, i%20)
		fmt.Fprintf(&b, "m%d IN MX 10 host%d.example.net.\n", i, i%40)
	}
	b.WriteString("s1._domainkey IN CNAME host1.example.net.\nmta-sts IN CNAME host2.example.net.\n")
	z := zone(t, b.String())
	var want []Finding
	for _, parallel := range []int{1, 8, 0} {
		o := &countingOracle{asked: map[string]int{}}
		res := Run(context.Background(), []Zone{z}, Config{Oracle: o, Parallel: parallel})
		for q, n := range o.asked {
			if n != 1 {
				t.Errorf("parallel %d: %s asked %d times", parallel, q, n)
			}
		}
		// A for the 40+20 chain ends, CNAME for the 40 MX targets and ns1.example.net. (NS, SOA),
		// TXT for the DKIM key, A (asked already) and AAAA for the MTA-STS host, and SOA for
		// example.net., the registrable domain of the 20 missing chain ends (asked once).
		if len(o.asked) != 104 || res.Lookups != 104 {
			t.Errorf("parallel %d: %d questions (%d counted), want 104", parallel, len(o.asked), res.Lookups)
		}
		limit := parallel
		if parallel == 0 {
			limit = 8
		}
		if h := int(o.highest.Load()); h > limit || limit > 1 && h < 2 {
			t.Errorf("parallel %d: %d questions at once", parallel, h)
		}
		if len(res.Findings) != 401 { // 400 dangling, and the DKIM delegation
			t.Errorf("parallel %d: %d findings", parallel, len(res.Findings))
		}
		if want == nil {
			want = res.Findings
		} else if !slices.EqualFunc(res.Findings, want, func(a, b Finding) bool { return a == b }) {
			t.Errorf("parallel %d: findings in another order", parallel)
		}
		if res.Unchecked != nil {
			t.Errorf("parallel %d: unchecked %v with an oracle", parallel, res.Unchecked)
		}
	}
}

// Without an oracle, Run names the outside names it did not ask about.
func TestUnchecked(t *testing.T) {
	t.Parallel()
	for file, want := range map[string][]string{
		"dangling.example.org": {"abandoned.azurewebsites.net.", "gone.cloudfront.net.", "ns1.example.net.", "www.example.net."},
		"email.example.org":    {"bimi.example.net.", "nohost.example.net.", "ns1.example.net.", "s1.dkim.example.net.", "s2.dkim.example.net."},
		"loop.example.org":     {"ns1.example.net."}, // the NS and SOA MNAME, which might be aliases
	} {
		z, err := ParseZoneFile("testdata/"+file, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := Run(context.Background(), []Zone{z}, Config{}).Unchecked; !slices.Equal(got, want) {
			t.Errorf("%s: unchecked %v, want %v", file, got, want)
		}
	}
}

// Chains are walked once however long and shared they are: a 50,000-hop chain with 1,000 aliases
// pointing into it, and a 50,000-name loop.
func TestLongChains(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 50_000 {
		fmt.Fprintf(&b, "c%d IN CNAME c%d\nl%d IN CNAME l%d\n", i, i+1, i, (i+1)%50_000)
	}
	b.WriteString("c50000 IN A 192.0.2.1\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "h%d IN CNAME c%d\n", i, 49_995) // 6 hops: short enough
	}
	fs := Check(context.Background(), []Zone{zone(t, b.String())}, Config{})
	got := make([]string, 0, len(fs))
	for _, f := range fs {
		got = append(got, f.Rule+" "+f.Owner)
	}
	if !slices.Equal(got, []string{"chain-too-long c0.example.org.", "cname-loop l0.example.org."}) {
		t.Errorf("%d findings, from %v", len(got), got[:min(len(got), 3)])
	}
}

// flakyOracle fails the first n questions for each name with err (or answers SERVFAIL when err is
// nil), then answers NXDOMAIN.
type flakyOracle struct {
	mu    sync.Mutex
	n     int
	err   error
	asked map[string]int
}

func (o *flakyOracle) Lookup(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
	o.mu.Lock()
	o.asked[name]++
	k := o.asked[name]
	o.mu.Unlock()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Response = true
	switch {
	case k > o.n:
		m.Rcode = dns.RcodeNameError
	case o.err != nil:
		return nil, o.err
	default:
		m.Rcode = dns.RcodeServerFailure
	}
	return m, nil
}

// A question the Oracle fails is asked once more; a name whose check it fails twice is not taken
// for checked: it is named with what failed, and with the record that needed it.
func TestFailedOutsideNames(t *testing.T) {
	t.Parallel()
	z, err := ParseZone(strings.NewReader("$ORIGIN example.org.\n@ 3600 IN SOA ns1.example.net. h 1 7200 3600 1209600 300\nwww 300 IN CNAME gone.example.net.\n"), "", "db.example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		o       *flakyOracle
		failed  string // "" for none
		finding bool   // a finding from the answer that came
	}{
		{name: "lost once", o: &flakyOracle{n: 1, err: errors.New("i/o timeout")}, finding: true},
		{name: "lost twice", o: &flakyOracle{n: 2, err: errors.New("i/o timeout")}, failed: "gone.example.net. A: i/o timeout (www.example.org. at db.example.org:3)"},
		{name: "SERVFAIL twice", o: &flakyOracle{n: 2}, failed: "gone.example.net. A: answered SERVFAIL (www.example.org. at db.example.org:3)"},
	} {
		tc.o.asked = map[string]int{}
		res := Run(context.Background(), []Zone{z}, Config{Oracle: tc.o})
		var failed []string
		for _, f := range res.Failed {
			if f.Name == "gone.example.net." {
				failed = append(failed, fmt.Sprintf("%s %s: %s (%s at %s:%d)", f.Name, f.Type, f.Error, f.Owner, f.File, f.Line))
			}
		}
		switch {
		case tc.failed == "" && len(failed) > 0:
			t.Errorf("%s: failed %v, want none", tc.name, failed)
		case tc.failed != "" && (len(failed) != 1 || failed[0] != tc.failed):
			t.Errorf("%s: failed %v, want %q", tc.name, failed, tc.failed)
		}
		// The answer that came (NXDOMAIN, the registrable domain's too) makes a finding.
		found := slices.ContainsFunc(res.Findings, func(f Finding) bool { return f.Owner == "www.example.org." })
		if found != tc.finding {
			t.Errorf("%s: a finding at www.example.org. %v, want %v: %v", tc.name, found, tc.finding, res.Findings)
		}
		if n := tc.o.asked["gone.example.net."]; n != min(tc.o.n+1, 2) {
			t.Errorf("%s: gone.example.net. asked %d times, want %d", tc.name, n, min(tc.o.n+1, 2))
		}
	}

	// The registrable domain of a target that does not exist is asked whether it exists: no
	// record names it, and its failure is the record's whose target is below it.
	res := Run(context.Background(), []Zone{z}, Config{Oracle: soaFails{}})
	failed := make([]string, 0, len(res.Failed))
	for _, f := range res.Failed {
		failed = append(failed, fmt.Sprintf("%s %s: %s (%s at %s:%d)", f.Name, f.Type, f.Error, f.Owner, f.File, f.Line))
	}
	if want := []string{"example.net. SOA: answered SERVFAIL (www.example.org. at db.example.org:3)"}; !slices.Equal(failed, want) {
		t.Errorf("failed %v, want %v", failed, want)
	}

	// An Oracle with no way to ask (ErrNotAsked) leaves the names unchecked, as no Oracle does,
	// asked once: nothing failed.
	o := &flakyOracle{n: 9, err: fmt.Errorf("%w: offline", ErrNotAsked), asked: map[string]int{}}
	res = Run(context.Background(), []Zone{z}, Config{Oracle: o})
	if len(res.Failed) != 0 || !slices.Contains(res.Unchecked, "gone.example.net.") || o.asked["gone.example.net."] != 1 {
		t.Errorf("not asked: failed %v, unchecked %v, asked %v", res.Failed, res.Unchecked, o.asked)
	}
}

// soaFails answers NXDOMAIN, and SERVFAIL for an SOA.
type soaFails struct{}

func (soaFails) Lookup(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Response, m.Rcode = true, dns.RcodeNameError
	if qtype == dns.TypeSOA {
		m.Rcode = dns.RcodeServerFailure
	}
	return m, nil
}
