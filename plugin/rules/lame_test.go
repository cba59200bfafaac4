package rules

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// fakeProber answers for each server the zones it serves; a server it does not know does not
// answer; every probe is recorded as "server name TYPE".
type fakeProber struct {
	serves map[string][]string // server -> zones; the zone "REFUSED" or "SERVFAIL" makes it answer so for all
	mu     sync.Mutex
	probes []string
}

func (p *fakeProber) Probe(_ context.Context, server, name string, qtype uint16) (*dns.Msg, error) {
	p.mu.Lock()
	p.probes = append(p.probes, server+" "+name+" "+dns.TypeToString[qtype])
	p.mu.Unlock()
	zones, ok := p.serves[server]
	if !ok {
		return nil, errors.New("timeout")
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Response = true
	switch {
	case slices.Contains(zones, "REFUSED"):
		m.Rcode = dns.RcodeRefused
	case slices.Contains(zones, "SERVFAIL"):
		m.Rcode = dns.RcodeServerFailure
	case slices.Contains(zones, name):
		m.Authoritative = true
		soa, _ := dns.NewRR(name + " 60 IN SOA ns. h. 1 2 3 4 5")
		m.Answer = []dns.RR{soa}
	case slices.Contains(zones, "NXDOMAIN"):
		m.Rcode = dns.RcodeNameError
	}
	return m, nil
}

func TestLameDelegation(t *testing.T) {
	t.Parallel()
	p := &fakeProber{serves: map[string][]string{
		"ns1.example.net.":      {"example.org.", "good.example.org."},
		"ns2.example.net.":      {"good.example.org."},
		"ns1.digitalocean.com.": {"REFUSED"},
		"ns2.digitalocean.com.": {"other.example."},
		"ns1-01.azure-dns.com.": {"SERVFAIL"},
		"ns-1.awsdns-01.com.":   {"REFUSED"},
		"ns.lost.example.net.":  {"NXDOMAIN"},
		// ns.silent.example.net. does not answer at all
	}}
	z := zone(t, "good IN NS ns1.example.net.\ngood IN NS ns2.example.net.\n"+
		"do IN NS ns1.digitalocean.com.\ndo IN NS ns2.digitalocean.com.\ndo IN NS ns1.example.net.\n"+
		"az IN NS ns1-01.azure-dns.com.\naws IN NS ns-1.awsdns-01.com.\nlost IN NS ns.lost.example.net.\n"+
		"silent IN NS ns.silent.example.net.\ndeeper.good IN NS ns1.digitalocean.com.\n")
	got := texts(Check(context.Background(), []Zone{z}, Config{Oracle: oracle, Prober: p}))
	want := []string{
		"warning lame-delegation aws.example.org.: lame delegation of aws.example.org.: the zone is not served by ns-1.awsdns-01.com. (ns-1.awsdns-01.com. answers REFUSED) (ns-*.awsdns-*. does not let others create it: AWS Route 53; dnsReaper still checks it: its validation may or may not prevent a takeover); " +
			"fix: create the zone aws.example.org. on ns-1.awsdns-01.com. again, or remove those NS records",
		"critical lame-delegation az.example.org.: lame delegation of az.example.org.: the zone is not served by ns1-01.azure-dns.com. (ns1-01.azure-dns.com. answers SERVFAIL): others may create the zone at Azure DNS under conditions and answer for az.example.org. (a DNS takeover); " +
			"fix: create the zone az.example.org. at Azure DNS now, or remove those NS records",
		"critical lame-delegation do.example.org.: lame delegation of do.example.org.: the zone is not served by ns1.digitalocean.com., ns2.digitalocean.com., ns1.example.net. (ns1.digitalocean.com. answers REFUSED; ns2.digitalocean.com. answers with no SOA; ns1.example.net. answers with no SOA): anyone with an account at DigitalOcean can create the zone there and answer for do.example.org. (a DNS takeover); " +
			"fix: create the zone do.example.org. at DigitalOcean now, or remove those NS records",
		"warning lame-delegation lost.example.org.: lame delegation of lost.example.org.: the zone is not served by ns.lost.example.net. (ns.lost.example.net. answers NXDOMAIN); " +
			"fix: create the zone lost.example.org. on ns.lost.example.net. again, or remove those NS records",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	probes := slices.Sorted(slices.Values(p.probes))
	wantProbes := []string{"ns-1.awsdns-01.com. aws.example.org. SOA", "ns.lost.example.net. lost.example.org. SOA", "ns.silent.example.net. silent.example.org. SOA",
		"ns1-01.azure-dns.com. az.example.org. SOA", "ns1.digitalocean.com. do.example.org. SOA", "ns1.example.net. do.example.org. SOA", "ns1.example.net. example.org. SOA",
		"ns1.example.net. good.example.org. SOA", "ns2.digitalocean.com. do.example.org. SOA", "ns2.example.net. good.example.org. SOA"}
	if !slices.Equal(probes, wantProbes) {
		t.Errorf("probes:\n  %s\nwant:\n  %s", strings.Join(probes, "\n  "), strings.Join(wantProbes, "\n  "))
	}
	// Without a Prober nothing is probed, and nothing is said.
	if got := texts(Check(context.Background(), []Zone{z}, Config{Oracle: oracle})); len(got) != 0 {
		t.Errorf("without a prober: %v", got)
	}
}
