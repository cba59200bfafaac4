// Command cnamelint checks zone files for CNAME mistakes with the same rules the flatten plugin
// applies to the zones it serves: sibling data, apex CNAMEs, multiple CNAMEs, loops and long
// chains, dangling targets and subdomain-takeover risks, relative-name mistakes, MX/NS/SRV/SOA
// pointing at aliases, and email delegations.
//
// Usage:
//
//	cnamelint [-json] [-fail-on SEVERITY] [-resolver ADDRESS] [-max-chain N] FILE[:ORIGIN]...
//
// It exits 0 when no finding is at or above -fail-on (default warning), 1 when one is, and 2 on a
// usage or parse error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// fileFinding is a finding with the file whose zone holds its owner.
type fileFinding struct {
	File string `json:"file"`
	rules.Finding
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cnamelint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print findings as JSON")
	failOn := fs.String("fail-on", "warning", "exit 1 when a finding at or above this severity exists: info, warning, error or critical")
	resolverAddr := fs.String("resolver", "", "resolve names outside the zones through this DNS server (IP[:port]), for dangling-target, alias and email checks")
	maxChain := fs.Int("max-chain", 10, "CNAME hops allowed on a chain")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cnamelint [-json] [-fail-on SEVERITY] [-resolver ADDRESS] [-max-chain N] FILE[:ORIGIN]...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	threshold, err := rules.ParseSeverity(*failOn)
	if err != nil {
		fmt.Fprintln(stderr, "cnamelint:", err)
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cfg := rules.Config{MaxChain: *maxChain}
	if *resolverAddr != "" {
		addr := *resolverAddr
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(strings.Trim(addr, "[]"), "53")
		}
		cfg.Oracle = oracle{addr}
	}

	var (
		zones []rules.Zone
		files []string
	)
	for _, arg := range fs.Args() {
		path, origin := arg, ""
		if i := strings.LastIndexByte(arg, ':'); i > 0 {
			path, origin = arg[:i], arg[i+1:]
		}
		z, err := rules.ParseZoneFile(path, origin)
		if err != nil {
			fmt.Fprintln(stderr, "cnamelint:", err)
			return 2
		}
		zones, files = append(zones, z), append(files, path)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out []fileFinding
	worst := rules.Severity(-1)
	for _, f := range rules.Check(ctx, zones, cfg) {
		out = append(out, fileFinding{File: fileOf(f.Owner, zones, files), Finding: f})
		worst = max(worst, f.Severity)
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if out == nil {
			out = []fileFinding{}
		}
		enc.Encode(out)
	} else {
		counts := map[rules.Severity]int{}
		for _, f := range out {
			fmt.Fprintf(stdout, "%s: %s\n", f.File, f.Finding)
			counts[f.Severity]++
		}
		var parts []string
		for s := rules.Critical; s >= rules.Info; s-- {
			if counts[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			}
		}
		if len(parts) == 0 {
			parts = []string{"none"}
		}
		fmt.Fprintf(stdout, "%d zone(s), %d finding(s): %s\n", len(zones), len(out), strings.Join(parts, ", "))
	}
	if worst >= threshold {
		return 1
	}
	return 0
}

// fileOf returns the file of the zone that holds owner.
func fileOf(owner string, zones []rules.Zone, files []string) string {
	best, file := "", ""
	for i, z := range zones {
		if dns.IsSubDomain(z.Origin, owner) && len(z.Origin) > len(best) {
			best, file = z.Origin, files[i]
		}
	}
	return file
}

// oracle asks the resolver at addr: UDP, TCP when the reply is truncated.
type oracle struct{ addr string }

func (o oracle) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.SetEdns0(1232, false)
	c := &dns.Client{Net: "udp", UDPSize: 1232, Timeout: 2 * time.Second}
	m, _, err := c.ExchangeContext(ctx, q, o.addr)
	if err == nil && m.Truncated {
		c.Net = "tcp"
		m, _, err = c.ExchangeContext(ctx, q, o.addr)
	}
	return m, err
}
