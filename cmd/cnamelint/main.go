// Command cnamelint checks zones for CNAME mistakes with the same rules the flatten plugin applies
// to the zones it serves: sibling data, apex CNAMEs, multiple CNAMEs, loops and long chains
// (DNAMEs followed), dangling targets and subdomain-takeover risks, relative-name mistakes,
// MX/NS/SRV/SOA targets that are aliases or have no addresses, email delegations, and records
// that cannot be read. It reads zone files, a Corefile's zones, or zones by transfer.
//
// Usage:
//
//	cnamelint [-format text|json|sarif] [-fail-on SEVERITY] [-resolver ADDRESS [-probe-ns] [-incomplete-ok]] [-max-chain N] [-parallel N] [-targets ZONE[,ZONE...]] [-corefile COREFILE] FILE[:ORIGIN]...
//	cnamelint [flags] -axfr SERVER [-tsig NAME:ALGORITHM:SECRET] ZONE...
//	cnamelint -points-at NAME [-json] [-corefile COREFILE] [FILE[:ORIGIN]...]
//
// The last form is the deprovisioning guard: it lists every name that reaches NAME, and exits 1
// when one does.
//
// It exits 0 when every check was made and no finding is at or above -fail-on (default warning);
// 1 when a finding is; 2 on a usage error, an input that could not be read (the others are still
// checked) or a resolver that answers nothing; 3 when names the resolver did not answer about were
// left unchecked (-incomplete-ok makes that 0). See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dnsflatten/flatten/plugin/probe"
	"github.com/dnsflatten/flatten/plugin/rules"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// probePortEnv names the environment variable that moves the probes of -probe-ns off port 53,
// for tests that run name servers on loopback ports.
const probePortEnv = "CNAMELINT_PROBE_PORT"

// runTimeout bounds a whole run: the questions to the resolver and the name servers.
const runTimeout = 10 * time.Minute

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stdout)
	if err == errHelp {
		return exitClean
	}
	if err != nil {
		rep := &report{inputs: []inputError{{err: err}}}
		switch formatOf(args) {
		case formatJSON:
			_ = rep.writeJSON(stdout, stderr)
		case formatSARIF:
			_ = rep.writeSARIF(stdout)
		}
		fmt.Fprintf(stderr, "cnamelint: %v\n%s\n", err, usage)
		return exitInput
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	rep := &report{threshold: o.failOn, incompOK: o.incompleteOK, resolver: o.resolver}
	cfg := rules.Config{MaxChain: o.maxChain, Parallel: o.parallel, Targets: o.targets}
	var outside *resolver
	if o.resolver != "" && o.pointsAt == "" { // -points-at asks nothing
		outside = newResolver(o.resolver)
		cfg.Oracle = outside
		if err := outside.answers(ctx); err != nil {
			// Said before any zone is read; the zones are still checked, and every name that
			// needed the resolver is listed as not checked, without a timeout for each.
			cfg.Oracle, outside = down{err: err}, nil
			err = fmt.Errorf("resolver %s does not answer (asked for the root's NS twice: %v): check the address, or leave -resolver out to check offline", o.resolver, err)
			fmt.Fprintln(stderr, "cnamelint:", err)
			rep.inputs = append(rep.inputs, inputError{err: err})
		}
	}

	l := load(o)
	rep.zones, rep.transfers = len(l.zones), l.transfers
	rep.inputs = append(rep.inputs, l.errs...)
	for _, e := range l.errs { // in every format: a CI log shows them whatever it keeps
		fmt.Fprintln(stderr, "cnamelint:", e.err)
	}
	if o.pointsAt != "" {
		code := pointsAt(o.pointsAt, l.zones, l.names, l.aliases, o.format == formatJSON, stdout, stderr)
		if len(rep.inputs) > 0 {
			return exitInput
		}
		return code
	}
	if o.probeNS && outside != nil {
		cfg.Prober = probe.New(newZoneAddrs(l.zones, outside), os.Getenv(probePortEnv))
	}
	rep.outcome = check(ctx, l.zones, l.names, cfg)

	switch o.format {
	case formatJSON:
		err = rep.writeJSON(stdout, stderr)
	case formatSARIF:
		err = rep.writeSARIF(stdout)
	default:
		rep.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "cnamelint:", err)
		return exitInput
	}
	return rep.exitCode()
}
