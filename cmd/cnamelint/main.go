// Command cnamelint checks zone files for CNAME mistakes with the same rules the flatten plugin
// applies to the zones it serves: sibling data, apex CNAMEs, multiple CNAMEs, loops and long
// chains (DNAMEs followed), dangling targets and subdomain-takeover risks, relative-name
// mistakes, MX/NS/SRV/SOA targets that are aliases or have no addresses, email delegations, and
// records that cannot be read.
//
// Usage:
//
//	cnamelint [-json] [-fail-on SEVERITY] [-resolver ADDRESS [-probe-ns]] [-max-chain N] [-parallel N] [-targets ZONE[,ZONE...]] [-corefile COREFILE] FILE[:ORIGIN]...
//	cnamelint -points-at NAME [-json] [-corefile COREFILE] [FILE[:ORIGIN]...]
//
// The second form is the deprovisioning guard: it lists every name that reaches NAME, and exits 1
// when one does.
//
// It exits 0 when no finding is at or above -fail-on (default warning), 1 when one is, and 2 on a
// usage error or a zone it cannot read at all. See README.md.
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

	"github.com/dnsflatten/flatten/plugin/probe"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// probePortEnv names the environment variable that moves the probes of -probe-ns off port 53,
// for tests that run name servers on loopback ports.
const probePortEnv = "CNAMELINT_PROBE_PORT"

// fileFinding is a finding with the file whose zone holds its owner.
type fileFinding struct {
	File string `json:"file"`
	rules.Finding
}

const usage = "usage: cnamelint [-json] [-fail-on SEVERITY] [-resolver ADDRESS [-probe-ns]] [-max-chain N] [-parallel N] [-targets ZONE[,ZONE...]] [-corefile COREFILE] FILE[:ORIGIN]...\n" +
	"       cnamelint -points-at NAME [-json] [-corefile COREFILE] [FILE[:ORIGIN]...]"

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cnamelint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print findings as JSON")
	failOn := fs.String("fail-on", "warning", "exit 1 when a finding at or above this severity exists: info, warning, error or critical")
	resolverAddr := fs.String("resolver", "", "resolve names outside the zones through this DNS server (IP[:port]), for dangling-target, alias and email checks")
	maxChain := fs.Int("max-chain", 10, "CNAME hops allowed on a chain")
	parallel := fs.Int("parallel", 8, "questions to the resolver at a time")
	var targets []string
	fs.Func("targets", "the `ZONE[,ZONE...]` outside the files that chains (CNAME, AliasMode, DNAME) may lead into; a chain that leaves them is a target-not-allowed finding (\"\" allows none)", func(s string) error {
		targets = []string{}
		for z := range strings.SplitSeq(s, ",") {
			if z = strings.TrimSpace(z); z != "" {
				if _, ok := dns.IsDomainName(z); !ok {
					return fmt.Errorf("bad zone name %q", z)
				}
				targets = append(targets, z)
			}
		}
		return nil
	})
	probeNS := fs.Bool("probe-ns", false, "ask the name servers of each delegation and apex directly whether they serve the zone (lame-delegation); needs -resolver")
	pointsAtName := fs.String("points-at", "", "list every name that reaches `NAME` (CNAME, AliasMode, DNAME, declared alias, MX, SRV, NS) instead of checking the rules; exit 1 when one does")
	corefile := fs.String("corefile", "", "also read the zone files of the file plugin and the aliases of the flatten plugin in this CoreDNS `COREFILE`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
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
	if fs.NArg() == 0 && *corefile == "" || *maxChain < 1 || *parallel < 1 || *probeNS && *resolverAddr == "" {
		fs.Usage()
		return 2
	}
	if _, ok := dns.IsDomainName(*pointsAtName); *pointsAtName != "" && !ok {
		fmt.Fprintf(stderr, "cnamelint: -points-at %q is not a domain name\n", *pointsAtName)
		return 2
	}
	cfg := rules.Config{MaxChain: *maxChain, Parallel: *parallel, Targets: targets}
	var outside *resolver
	if *resolverAddr != "" {
		addr := *resolverAddr
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(strings.Trim(addr, "[]"), "53")
		}
		outside = newResolver(addr)
		cfg.Oracle = outside
	}

	var (
		zones   []rules.Zone
		files   []string
		aliases map[string]string
		read    []corefileZone
	)
	for _, arg := range fs.Args() {
		path, origin := arg, ""
		if i := strings.LastIndexByte(arg, ':'); i > 0 {
			path, origin = arg[:i], arg[i+1:]
		}
		read = append(read, corefileZone{path: path, origin: origin})
	}
	if *corefile != "" {
		fromCorefile, declared, err := readCorefile(*corefile)
		if err != nil {
			fmt.Fprintln(stderr, "cnamelint:", err)
			return 2
		}
		read, aliases = append(read, fromCorefile...), declared
	}
	for _, r := range read {
		z, err := rules.ParseZoneFile(r.path, r.origin)
		if err != nil {
			fmt.Fprintln(stderr, "cnamelint:", err)
			return 2
		}
		zones, files = append(zones, z), append(files, r.path)
	}
	if *pointsAtName != "" {
		return pointsAt(*pointsAtName, zones, files, aliases, *asJSON, stdout, stderr)
	}
	if *probeNS && outside != nil {
		cfg.Prober = probe.New(newZoneAddrs(zones, outside), os.Getenv(probePortEnv))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res := rules.Run(ctx, zones, cfg)
	out := make([]fileFinding, 0, len(res.Findings))
	worst := rules.Severity(-1)
	for _, f := range res.Findings {
		out = append(out, fileFinding{File: fileOf(f.Owner, zones, files), Finding: f})
		worst = max(worst, f.Severity)
	}
	unchecked := ""
	if n := len(res.Unchecked); n > 0 {
		unchecked = fmt.Sprintf("%d outside target(s) not checked: give -resolver to check them", n)
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, "cnamelint:", err)
			return 2
		}
		if unchecked != "" {
			fmt.Fprintln(stderr, "cnamelint:", unchecked)
		}
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
		if unchecked != "" {
			fmt.Fprintln(stdout, unchecked)
		}
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
