// Command bench measures the custom CoreDNS with and without flatten, and PowerDNS ALIAS, on
// loopback with dnsperf, and writes BENCHMARKS.md and bench/qps.svg. Run it from the repository's
// root (it needs nsd, dnsperf, pdns-server and pdns-backend-bind from Debian):
//
//	go run ./bench [-duration 10s] [-rounds 5] [-clients 8]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dnsflatten/flatten/internal/delayproxy"
	"github.com/dnsflatten/flatten/internal/loopback"
	"github.com/dnsflatten/flatten/internal/syncbuf"

	"github.com/miekg/dns"
)

var (
	duration = flag.Duration("duration", 10*time.Second, "length of one dnsperf run")
	rounds   = flag.Int("rounds", 5, "interleaved rounds; the table gives medians")
	clients  = flag.Int("clients", 8, "dnsperf clients")
	flood    = flag.Int("flood", 1_000_000, "distinct alias names for the memory bound")
	write    = flag.Bool("write", true, "write BENCHMARKS.md and bench/qps.svg")
	audits   = flag.String("audit-sizes", "10000,100000,1000000", "zone sizes, in records, of the audit-cost scenario")
	side     = flag.Int("side", 0, "side-by-side runs of each pair of targets 1-4 and of the controls; 0: twice the rounds")
	only     = flag.String("only", "", "run only this part: 'audit' (the audit-cost scenario, printed, nothing written)")
)

func main() {
	flag.Parse()
	b := &bench{}
	defer b.stopAll()
	if err := b.run(); err != nil {
		b.stopAll()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type proc struct {
	name string
	cmd  *exec.Cmd
	out  syncbuf.Buffer
}

type bench struct {
	dir   string
	procs []*proc
	mu    sync.Mutex
}

// scenario is one server answering one question under load.
type scenario struct {
	key, title string
	port       int
	proc       *proc
	qname      string
	qtype      uint16 // A when 0
	want       string // the address the answer must hold (for HTTPS, text its record holds)
	runs       []result
	// upstream, when set, is the Unbound the scenario forwards to; tcp counts the questions it got
	// over TCP during the scenario's runs.
	upstream *unbound
	tcp      int
	peak     int64 // the server's peak RSS once timed
}

type result struct {
	qps, mean, p99 float64 // queries/s, seconds
	lost           int
	cpu            float64 // the server's CPU (user + system) an answer, seconds
}

func (b *bench) run() error {
	var err error
	if b.dir, err = os.MkdirTemp("", "flatten-bench"); err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	coredns := filepath.Join(b.dir, "coredns")
	fmt.Println("building the custom CoreDNS...")
	if out, err := exec.Command("go", "build", "-o", coredns, "./cmd/coredns").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v: %s", err, out)
	}

	var sizes []int
	for f := range strings.SplitSeq(*audits, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 64 {
			return fmt.Errorf("bad -audit-sizes %q", *audits)
		}
		sizes = append(sizes, n)
	}
	if *only == "audit" {
		if _, err := b.auditCosts(coredns, sizes); err != nil {
			return err
		}
		_, err := auditGrowth()
		return err
	}

	// The target zone, on NSD, directly and behind a 5 ms delay.
	nsdPort := freePort()
	b.file("example.net.zone", "$ORIGIN example.net.\n$TTL 300\n@ IN SOA ns1 h 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A 192.0.2.10\nwww IN HTTPS 1 . alpn=\"h2,h3\" ipv4hint=192.0.2.10\nplain IN A 192.0.2.1\nalias IN CNAME www\n")
	b.file("nsd.conf", loopback.NSDConfig(b.dir, nsdPort, []loopback.NSDZone{{Name: "example.net", File: "example.net.zone"}}))
	if _, err := b.start("nsd", "nsd", "-d", "-c", filepath.Join(b.dir, "nsd.conf")); err != nil {
		return err
	}
	nsd := fmt.Sprintf("127.0.0.1:%d", nsdPort)
	slow, err := delayproxy.New(nsd)
	if err != nil {
		return err
	}
	defer slow.Close()
	slow.SetDelay(5 * time.Millisecond)

	// example.org for CoreDNS: a plain name, an apex alias, a 4-hop chain, a wildcard alias.
	b.file("db.example.org", `$ORIGIN example.org.
$TTL 300
@ IN SOA ns1.example.net. h.example.org. 1 7200 3600 1209600 300
@ IN NS ns1.example.net.
@ IN CNAME www.example.net.
plain IN A 192.0.2.1
h0 IN CNAME h1
h1 IN CNAME h2
h2 IN CNAME h3
h3 IN CNAME www.example.net.
*.flood IN CNAME www.example.net.
`)
	zone := filepath.Join(b.dir, "db.example.org")
	core := func(key, title, flatten, qname string, qtype uint16, want string) (*scenario, error) {
		s := &scenario{key: key, title: title, port: freePort(), qname: qname, qtype: qtype, want: want}
		backend := "file " + zone
		if flatten == "whoami" {
			flatten, backend = "", "whoami"
		}
		conf := fmt.Sprintf("example.org:%d {\n    bind 127.0.0.1\n    %s\n    %s\n}\n", s.port, flatten, backend)
		b.file("Corefile."+key, conf)
		var err error
		s.proc, err = b.start("coredns "+key, coredns, "-conf", filepath.Join(b.dir, "Corefile."+key))
		return s, err
	}
	var scenarios []*scenario
	for _, c := range []struct {
		key, title, flatten, qname string
		qtype                      uint16
		want                       string
	}{
		{"w", "CoreDNS whoami (the least a plugin can do)", "whoami", "example.org.", dns.TypeA, "127.0.0.1"},
		{"a", "CoreDNS without flatten, plain A", "", "plain.example.org.", dns.TypeA, "192.0.2.1"},
		{"z", "CoreDNS with any instead of flatten, plain A (one plugin that passes the question on)", "any", "plain.example.org.", dns.TypeA, "192.0.2.1"},
		{"b", "flatten all, plain A (pass-through)", "flatten {\n        all\n    }", "plain.example.org.", dns.TypeA, "192.0.2.1"},
		{"ac", "CoreDNS without flatten, with cache, plain A", "cache", "plain.example.org.", dns.TypeA, "192.0.2.1"},
		{"bc", "flatten all before cache, plain A (pass-through)", "cache\n    flatten {\n        all\n    }", "plain.example.org.", dns.TypeA, "192.0.2.1"},
		{"c", "flatten, apex alias (warm)", "flatten {\n        resolver " + nsd + "\n    }", "example.org.", dns.TypeA, "192.0.2.10"},
		{"h", "flatten, apex alias, HTTPS (warm)", "flatten {\n        resolver " + nsd + "\n    }", "example.org.", dns.TypeHTTPS, `alpn="h2,h3"`},
		{"d", "flatten all, 4-hop chain", "flatten {\n        all\n        resolver " + nsd + "\n    }", "h0.example.org.", dns.TypeA, "192.0.2.10"},
		{"c5", "flatten, apex alias, target 5 ms away", fmt.Sprintf("flatten {\n        resolver 127.0.0.1:%d\n    }", slow.Addr().Port), "example.org.", dns.TypeA, "192.0.2.10"},
	} {
		s, err := core(c.key, c.title, c.flatten, c.qname, c.qtype, c.want)
		if err != nil {
			return err
		}
		scenarios = append(scenarios, s)
	}
	for _, e := range []struct{ key, title, resolver string }{
		{"e", "PowerDNS ALIAS", nsd},
		{"e5", "PowerDNS ALIAS, target 5 ms away", fmt.Sprintf("127.0.0.1:%d", slow.Addr().Port)},
	} {
		s, err := b.pdns(e.key, e.title, e.resolver)
		if err != nil {
			return err
		}
		scenarios = append(scenarios, s)
	}

	// forward to Unbound, with flatten's all and names modes and without.
	u, err := b.unbound(nsd)
	if err != nil {
		return err
	}
	fwd, err := b.forwardScenarios(coredns, u)
	if err != nil {
		return err
	}
	scenarios = append(scenarios, fwd...)

	// The side-by-side control: a second server identical to (a). It runs only side by side, not
	// in the rounds, and is not in the table.
	a2, err := core("a2", "a second server identical to (a)", "", "plain.example.org.", dns.TypeA, "192.0.2.1")
	if err != nil {
		return err
	}

	// Every answer is checked before anything is timed; the first answer of each flatten server is
	// its cold answer.
	cold := map[string]time.Duration{}
	for _, s := range append(scenarios, a2) {
		took, err := check(s)
		if err != nil {
			return err
		}
		cold[s.key] = took
	}

	for r := 1; r <= *rounds; r++ {
		// Every other round runs the scenarios in reverse order (a, b, ... then ..., b, a): a
		// drift in the machine's speed during a round then favours neither of two neighbours.
		order := slices.Clone(scenarios)
		if r%2 == 0 {
			slices.Reverse(order)
		}
		for _, s := range order {
			var before int
			if s.upstream != nil {
				if before, err = s.upstream.tcpQueries(); err != nil {
					return err
				}
			}
			res, err := b.dnsperf(s)
			if err != nil {
				return err
			}
			if s.upstream != nil {
				after, err := s.upstream.tcpQueries()
				if err != nil {
					return err
				}
				s.tcp += after - before
			}
			s.runs = append(s.runs, res)
			fmt.Printf("round %d %-3s %8.0f q/s  mean %.3f ms  p99 %.3f ms  lost %d  server CPU %.1f µs an answer\n", r, s.key, res.qps, res.mean*1e3, res.p99*1e3, res.lost, res.cpu*1e6)
		}
	}

	// (a2) has answered one question; (a), with the rest, has served the rounds. One run of load,
	// untimed, brings it to the same state (a heap and stacks of full size) before it is compared.
	if _, err := b.dnsperf(a2); err != nil {
		return err
	}
	by := map[string]*scenario{"a2": a2}
	for _, s := range scenarios {
		by[s.key] = s
	}
	side, err := b.sideBySideRounds(by)
	if err != nil {
		return err
	}
	for _, s := range scenarios {
		s.peak = peakRSS(s.proc)
	}
	one, err := b.oneLookup(coredns, zone)
	if err != nil {
		return err
	}
	floodRSS, floodLost, err := b.flood(coredns, zone, nsd)
	if err != nil {
		return err
	}
	allocs, err := goAllocs()
	if err != nil {
		return err
	}
	b.stopAll() // the audit cost is measured on a quiet machine
	costs, err := b.auditCosts(coredns, sizes)
	if err != nil {
		return err
	}
	g, err := auditGrowth()
	if err != nil {
		return err
	}
	report := b.report(scenarios, side, cold, one, floodRSS, floodLost, allocs, costs, g)
	fmt.Print(report)
	if *write {
		if err := os.WriteFile("BENCHMARKS.md", []byte(report), 0o600); err != nil {
			return err
		}
		return os.WriteFile("bench/qps.svg", []byte(chart(scenarios)), 0o600)
	}
	return nil
}

func (b *bench) file(name, content string) {
	if err := os.WriteFile(filepath.Join(b.dir, name), []byte(content), 0o600); err != nil { // #nosec G703 -- names of this benchmark's own files, in its own folder
		panic(err)
	}
}

func (b *bench) start(name, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, cmd: exec.Command(bin, args...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	b.mu.Lock()
	b.procs = append(b.procs, p)
	b.mu.Unlock()
	return p, nil
}

func (b *bench) stopAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.procs {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { p.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				p.cmd.Process.Kill()
				<-done
			}
		}
	}
	b.procs = nil
}

// pdns starts PowerDNS Authoritative serving example.org with an ALIAS at the apex.
func (b *bench) pdns(key, title, resolver string) (*scenario, error) {
	s := &scenario{key: key, title: title, port: freePort(), qname: "example.org.", want: "192.0.2.10"}
	dir := filepath.Join(b.dir, "pdns-"+key)
	os.MkdirAll(dir, 0o755)
	b.file("pdns-"+key+"/example.org.zone", "$ORIGIN example.org.\n$TTL 300\n@ IN SOA ns1.example.net. h.example.org. 1 7200 3600 1209600 300\n@ IN NS ns1.example.net.\n@ IN ALIAS www.example.net.\n")
	b.file("pdns-"+key+"/named.conf", fmt.Sprintf("zone \"example.org\" { type master; file \"%s/example.org.zone\"; };\n", dir))
	b.file("pdns-"+key+"/pdns.conf", fmt.Sprintf(`launch=bind
bind-config=%[1]s/named.conf
local-address=127.0.0.1:%[2]d
guardian=no
daemon=no
webserver=no
api=no
socket-dir=%[1]s
security-poll-suffix=
expand-alias=yes
resolver=%[3]s
loglevel=3
`, dir, s.port, resolver))
	var err error
	s.proc, err = b.start("pdns "+key, "pdns_server", "--config-dir="+dir)
	return s, err
}

func freePort() int {
	port, err := loopback.FreePort()
	if err != nil {
		panic(err)
	}
	return port
}
