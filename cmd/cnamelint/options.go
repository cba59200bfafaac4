package main

// The command line: flags read, their values checked, and each bad one named with what it accepts.

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

const usage = "usage: cnamelint [-format text|json|sarif] [-fail-on SEVERITY] [-resolver ADDRESS [-probe-ns] [-incomplete-ok]] [-max-chain N] [-parallel N] [-targets ZONE[,ZONE...]] [-corefile COREFILE] FILE[:ORIGIN]...\n" +
	"       cnamelint [flags] -axfr SERVER [-tsig NAME:ALGORITHM:SECRET] ZONE...\n" +
	"       cnamelint -points-at NAME [-json] [-corefile COREFILE] [FILE[:ORIGIN]...]"

// Output formats.
const (
	formatText  = "text"
	formatJSON  = "json"
	formatSARIF = "sarif"
)

// options are the command line's, checked.
type options struct {
	format       string
	failOn       rules.Severity
	resolver     string // host:port; "" checks offline
	probeNS      bool
	incompleteOK bool
	maxChain     int
	parallel     int
	targets      []string // nil: no limit
	pointsAt     string
	corefile     string
	axfr         string // host:port of the server to transfer the zones from
	tsig         *tsigKey
	args         []string // files, or the zones to transfer
}

// tsigKey signs a transfer (RFC 8945).
type tsigKey struct {
	name, algorithm, secret string
}

// errHelp is -h: the usage is printed, and the command exits 0.
var errHelp = errors.New("help requested")

// parseOptions reads the command line. A bad flag value is an error that names the flag and what
// it accepts; -h is errHelp, with the flags printed to help.
func parseOptions(args []string, help io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("cnamelint", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.format, "format", formatText, "write the findings as `text`, json or sarif (SARIF 2.1.0, for code scanning)")
	asJSON := fs.Bool("json", false, "the same as -format json")
	failOn := fs.String("fail-on", "warning", "exit 1 when a finding at or above this `severity` exists: info, warning, error or critical")
	fs.StringVar(&o.resolver, "resolver", "", "resolve names outside the zones through this DNS server (`IP[:port]`), for dangling-target, alias and email checks")
	fs.BoolVar(&o.probeNS, "probe-ns", false, "ask the name servers of each delegation and apex directly whether they serve the zone (lame-delegation); needs -resolver")
	fs.BoolVar(&o.incompleteOK, "incomplete-ok", false, "exit 0 rather than 3 when names the resolver did not answer about were left unchecked (they are still listed)")
	fs.IntVar(&o.maxChain, "max-chain", 10, "CNAME hops allowed on a chain, 1 to 32")
	fs.IntVar(&o.parallel, "parallel", 8, "questions to the resolver at a time, 1 to 1000")
	fs.Func("targets", "the `ZONE[,ZONE...]` outside the files that chains (CNAME, AliasMode, DNAME) may lead into; a chain that leaves them is a target-not-allowed finding (\"\" allows none)", func(s string) error {
		o.targets = []string{}
		for z := range strings.SplitSeq(s, ",") {
			if z = strings.TrimSpace(z); z != "" {
				if _, ok := dns.IsDomainName(z); !ok {
					return fmt.Errorf("%q is not a zone name", z)
				}
				o.targets = append(o.targets, z)
			}
		}
		return nil
	})
	fs.StringVar(&o.pointsAt, "points-at", "", "list every name that reaches `NAME` (CNAME, AliasMode, DNAME, declared alias, MX, SRV, NS) instead of checking the rules; exit 1 when one does")
	fs.StringVar(&o.corefile, "corefile", "", "also read the zone files of the file plugin and the aliases of the flatten plugin in this CoreDNS `COREFILE`")
	fs.StringVar(&o.axfr, "axfr", "", "read the zones named as arguments by zone transfer (AXFR) from this `SERVER` (IP[:port]) instead of from files")
	tsig := fs.String("tsig", "", "sign the transfers of -axfr with this key, `NAME:ALGORITHM:SECRET` (e.g. xfr-key:hmac-sha256:BASE64)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(help, usage)
			fs.SetOutput(help)
			fs.PrintDefaults()
			return nil, errHelp
		}
		return nil, err
	}
	o.args = fs.Args()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var err error
	if o.failOn, err = rules.ParseSeverity(*failOn); err != nil {
		return nil, fmt.Errorf("-fail-on: %w", err)
	}
	switch {
	case o.format != formatText && o.format != formatJSON && o.format != formatSARIF:
		return nil, fmt.Errorf("-format %q: use text, json or sarif", o.format)
	case *asJSON && set["format"] && o.format != formatJSON:
		return nil, fmt.Errorf("-json conflicts with -format %s: -json is -format json", o.format)
	case *asJSON:
		o.format = formatJSON
	}
	if o.maxChain < 1 || o.maxChain > chain.MaxHops {
		return nil, fmt.Errorf("-max-chain %d: give the CNAME hops allowed on a chain, from 1 to %d", o.maxChain, chain.MaxHops)
	}
	if o.parallel < 1 || o.parallel > 1000 {
		return nil, fmt.Errorf("-parallel %d: give the questions to ask at a time, from 1 to 1000", o.parallel)
	}
	if set["resolver"] {
		if o.resolver, err = hostPort(o.resolver); err != nil {
			return nil, fmt.Errorf("-resolver: %w", err)
		}
	}
	if o.probeNS && o.resolver == "" {
		return nil, errors.New("-probe-ns needs -resolver: the name servers' addresses come from it")
	}
	if o.incompleteOK && o.resolver == "" {
		return nil, errors.New("-incomplete-ok needs -resolver: without one, nothing is asked and every outside name is left out (offline mode)")
	}
	if _, ok := dns.IsDomainName(o.pointsAt); o.pointsAt != "" && !ok {
		return nil, fmt.Errorf("-points-at %q is not a domain name", o.pointsAt)
	}
	if o.pointsAt != "" && o.format == formatSARIF {
		return nil, errors.New("-points-at lists names, it finds nothing: use -format text or json")
	}
	if set["axfr"] {
		if o.axfr, err = hostPort(o.axfr); err != nil {
			return nil, fmt.Errorf("-axfr: %w", err)
		}
		if len(o.args) == 0 {
			return nil, errors.New("-axfr needs the zones to transfer, as in: cnamelint -axfr 192.0.2.53 example.org example.net")
		}
		for _, z := range o.args {
			if _, ok := dns.IsDomainName(z); !ok || strings.ContainsAny(z, "/:") {
				return nil, fmt.Errorf("-axfr: %q is not a zone name: give the zones to transfer, not files", z)
			}
		}
	}
	if set["tsig"] {
		if o.axfr == "" {
			return nil, errors.New("-tsig needs -axfr: it signs zone transfers")
		}
		if o.tsig, err = parseTSIG(*tsig); err != nil {
			return nil, err
		}
	}
	if len(o.args) == 0 && o.corefile == "" {
		return nil, errors.New("no zone to check: give zone files (FILE or FILE:ORIGIN), -corefile COREFILE, or -axfr SERVER and the zones")
	}
	return o, nil
}

// hostPort reads IP, IP:port, [IPv6]:port or a host name, port 53 by default.
func hostPort(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.Trim(s, "[]"), "53"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("%q: the port must be a number from 1 to 65535", s)
	}
	if host == "" || strings.ContainsAny(host, " /") {
		return "", fmt.Errorf("%q: give an IP address or a host name, with :port if not 53", s)
	}
	return net.JoinHostPort(host, port), nil
}

// parseTSIG reads NAME:ALGORITHM:SECRET; the algorithm as BIND's key files write it
// (hmac-sha256) or as a domain name (hmac-sha256.).
func parseTSIG(s string) (*tsigKey, error) {
	const form = "give NAME:ALGORITHM:SECRET, e.g. xfr-key:hmac-sha256:c2VjcmV0IGtleQ=="
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return nil, fmt.Errorf("-tsig: %s", form)
	}
	alg := dns.CanonicalName(parts[1])
	switch alg {
	case dns.HmacSHA1, dns.HmacSHA224, dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512:
	default:
		return nil, fmt.Errorf("-tsig: algorithm %q: use hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512", parts[1])
	}
	if _, err := base64.StdEncoding.DecodeString(parts[2]); err != nil {
		return nil, fmt.Errorf("-tsig: the secret is not base64 (%v): %s", err, form)
	}
	if _, ok := dns.IsDomainName(parts[0]); !ok {
		return nil, fmt.Errorf("-tsig: key name %q is not a domain name: %s", parts[0], form)
	}
	return &tsigKey{name: dns.CanonicalName(parts[0]), algorithm: alg, secret: parts[2]}, nil
}

// formatOf finds the output format in a command line that did not parse, so that even a usage
// error is reported in the format asked for.
func formatOf(args []string) string {
	asJSON, format := false, ""
	for i, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		switch {
		case a == "json" || a == "json=true":
			asJSON = true
		case strings.HasPrefix(a, "format="):
			format = strings.TrimPrefix(a, "format=")
		case a == "format" && i+1 < len(args):
			format = args[i+1]
		}
	}
	switch {
	case format == formatJSON || format == formatSARIF:
		return format
	case asJSON:
		return formatJSON
	}
	return formatText
}
