package main

// The measurements: a dnsperf run against a scenario's server (queries/s, latencies and losses
// from its report), the upstream questions 1,000 cold questions cost, the peak RSS under a flood
// of distinct names, and the allocations of the Go benchmarks.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dnsflatten/flatten/internal/delayproxy"
	"github.com/dnsflatten/flatten/internal/loopback"

	"github.com/miekg/dns"
)

var (
	qpsLine  = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	lostLine = regexp.MustCompile(`Queries lost:\s+([0-9]+)`)
	meanLine = regexp.MustCompile(`Average Latency \(s\):\s+([0-9.]+)`)
	doneLine = regexp.MustCompile(`Queries completed:\s+([0-9]+)`)
)

// dnsperf runs one dnsperf against s; -v gives every query's latency, for the 99th percentile.
// The server's CPU an answer is its CPU time over the run (from /proc) over the answers dnsperf
// got: what an answer costs it, whatever share of the cores dnsperf gets. On a shared machine it
// moves with the machine's speed, as queries/s do.
func (b *bench) dnsperf(s *scenario) (result, error) { return b.dnsperfWith(s, *clients) }

// dnsperfWith is dnsperf with n clients.
func (b *bench) dnsperfWith(s *scenario, n int) (result, error) {
	qfile := filepath.Join(b.dir, "q."+s.key)
	if err := os.WriteFile(qfile, []byte(s.qname+" "+dns.TypeToString[s.askType()]+"\n"), 0o600); err != nil {
		return result{}, err
	}
	before, err := cpuTime(s.proc.cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	out, err := exec.Command("dnsperf", "-s", "127.0.0.1", "-p", strconv.Itoa(s.port), "-d", qfile, // #nosec G204 -- the load tool, with this benchmark's own arguments
		"-c", strconv.Itoa(n), "-l", strconv.Itoa(int(duration.Seconds())), "-v").Output()
	if err != nil {
		return result{}, fmt.Errorf("dnsperf %s: %v", s.key, err)
	}
	after, err := cpuTime(s.proc.cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	var r result
	var lat []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "> ") {
			f := strings.Fields(line)
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				lat = append(lat, v)
			}
			continue
		}
		if m := qpsLine.FindStringSubmatch(line); m != nil {
			r.qps, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := lostLine.FindStringSubmatch(line); m != nil {
			r.lost, _ = strconv.Atoi(m[1])
		}
		if m := meanLine.FindStringSubmatch(line); m != nil {
			r.mean, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := doneLine.FindStringSubmatch(line); m != nil {
			if done, _ := strconv.Atoi(m[1]); done > 0 {
				r.cpu = (after - before).Seconds() / float64(done)
			}
		}
	}
	if r.qps == 0 {
		return r, fmt.Errorf("dnsperf %s: no result in its output:\n%s", s.key, tail(out))
	}
	if len(lat) > 0 {
		sort.Float64s(lat)
		r.p99 = lat[len(lat)*99/100]
	}
	return r, nil
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// oneLookup asks a fresh flatten server 1,000 concurrent questions for a cold apex alias whose
// target server sits behind a counting proxy, and returns the questions that reached it.
func (b *bench) oneLookup(coredns, zone string) (int64, error) {
	nsd := ""
	for _, p := range b.procs {
		if p.name == "nsd" {
			nsd = p.cmd.Args[len(p.cmd.Args)-1]
		}
	}
	conf, _ := os.ReadFile(nsd)
	port := regexp.MustCompile(`ip-address: 127.0.0.1@(\d+)`).FindSubmatch(conf)
	counter, err := delayproxy.New("127.0.0.1:" + string(port[1]))
	if err != nil {
		return 0, err
	}
	defer counter.Close()
	s := &scenario{key: "one", title: "cold alias", port: freePort(), qname: "example.org.", want: "192.0.2.10"}
	b.file("Corefile.one", fmt.Sprintf("example.org:%d {\n    bind 127.0.0.1\n    flatten {\n        resolver 127.0.0.1:%d\n    }\n    file %s\n}\n", s.port, counter.Addr().Port, zone))
	if s.proc, err = b.start("coredns one", coredns, "-conf", filepath.Join(b.dir, "Corefile.one")); err != nil {
		return 0, err
	}
	probe := &scenario{title: "cold alias server", port: s.port, qname: "plain.example.org.", want: "192.0.2.1", proc: s.proc}
	if _, err := check(probe); err != nil {
		return 0, err
	}
	// The start-up audit asks the resolver too (is the SOA MNAME an alias? does the chain's end
	// exist?): count from when it is done.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.proc.out.String(), "audit of example.org."); {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the cold-alias server did not finish its audit: %s", s.proc.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := counter.Count()
	var wg sync.WaitGroup
	var bad sync.Map
	for i := range 1000 {
		wg.Go(func() {
			m := new(dns.Msg)
			m.SetQuestion("example.org.", dns.TypeA)
			c := &dns.Client{Timeout: 3 * time.Second}
			r, _, err := c.Exchange(m, fmt.Sprintf("127.0.0.1:%d", s.port))
			if err != nil {
				r, _, err = c.Exchange(m, fmt.Sprintf("127.0.0.1:%d", s.port)) // one retry for a dropped datagram, as a stub resolver does
			}
			if err != nil || len(r.Answer) != 1 {
				bad.Store(i, true)
			}
		})
	}
	wg.Wait()
	n := 0
	bad.Range(func(any, any) bool { n++; return true })
	if n > 0 {
		return 0, fmt.Errorf("%d of 1000 concurrent questions got no answer", n)
	}
	return counter.Count() - before, nil
}

// flood asks a flatten server with 'all' each of *flood distinct alias names once and returns its
// peak RSS in bytes, and the questions dnsperf lost.
func (b *bench) flood(coredns, zone, nsd string) (int64, int, error) {
	port := freePort()
	b.file("Corefile.flood", fmt.Sprintf("example.org:%d {\n    bind 127.0.0.1\n    flatten {\n        all\n        resolver %s\n    }\n    file %s\n}\n", port, nsd, zone))
	p, err := b.start("coredns flood", coredns, "-conf", filepath.Join(b.dir, "Corefile.flood"))
	if err != nil {
		return 0, 0, err
	}
	if _, err := check(&scenario{title: "flood server", port: port, qname: "x.flood.example.org.", want: "192.0.2.10", proc: p}); err != nil {
		return 0, 0, err
	}
	var q strings.Builder
	for i := range *flood {
		fmt.Fprintf(&q, "n%d.flood.example.org A\n", i)
	}
	qfile := filepath.Join(b.dir, "q.flood")
	if err := os.WriteFile(qfile, []byte(q.String()), 0o600); err != nil {
		return 0, 0, err
	}
	fmt.Printf("flood: %d distinct alias names...\n", *flood)
	out, err := exec.Command("dnsperf", "-s", "127.0.0.1", "-p", strconv.Itoa(port), "-d", qfile, "-c", strconv.Itoa(*clients), "-n", "1").Output() // #nosec G204 -- the load tool, with this benchmark's own arguments
	if err != nil {
		return 0, 0, fmt.Errorf("dnsperf flood: %v", err)
	}
	lost := 0
	if m := lostLine.FindSubmatch(out); m != nil {
		lost, _ = strconv.Atoi(string(m[1]))
	}
	return peakRSS(p), lost, nil
}

// peakRSS reads a process's high-water resident set size in bytes.
func peakRSS(p *proc) int64 { return loopback.PeakRSS(p.cmd.Process.Pid) }

var allocsLine = regexp.MustCompile(`^(Benchmark\w+)-\d+\s+\d+\s+[0-9.]+ ns/op\s+\d+ B/op\s+(\d+) allocs/op`)

// goAllocs runs the pass-through Go benchmarks and returns allocs/op by benchmark.
func goAllocs() (map[string]int, error) {
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "BareNext|PassThrough|WarmFlattened", "-benchmem", "-benchtime", "20000x", ".").Output()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %v\n%s", err, out)
	}
	allocs := map[string]int{}
	for line := range strings.SplitSeq(string(out), "\n") {
		if m := allocsLine.FindStringSubmatch(line); m != nil {
			allocs[m[1]], _ = strconv.Atoi(m[2])
		}
	}
	return allocs, nil
}
