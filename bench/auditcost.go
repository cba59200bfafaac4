package main

// What the zone audit costs, against what serving the zone costs and what the linter costs: for
// generated zones (bench/zonegen) of each size, the CPU and peak RSS of the custom CoreDNS with
// file alone and with file and flatten (the start-up audit), the CPU of each when a few records of
// the zone change (file's reload, and the audit of the new serial), and cnamelint's CPU and peak RSS
// on the same file.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dnsflatten/flatten/bench/zonegen"

	"github.com/miekg/dns"
)

// cost is what one server or command used.
type cost struct {
	cpu    time.Duration // user + system, the whole process
	loaded time.Duration // of cpu, what the server used once it answered (with flatten: the audit's part)
	peak   int64         // peak RSS, bytes
	change time.Duration // the CPU a change of a few records cost
}

// auditCost is the measurements at one size.
type auditCost struct {
	records          int
	file, with, lint cost
}

// auditCosts measures each size.
func (b *bench) auditCosts(coredns string, sizes []int) ([]auditCost, error) {
	lint := filepath.Join(b.dir, "cnamelint")
	if out, err := exec.Command("go", "build", "-o", lint, "./cmd/cnamelint").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build cnamelint: %v: %s", err, out)
	}
	var out []auditCost
	for _, n := range sizes {
		zone := filepath.Join(b.dir, fmt.Sprintf("db.cost.%d", n))
		c := auditCost{records: n}
		// Each server's CPU varies by a tenth or more from run to run on a shared machine: each
		// figure is the median of three runs, taken in turns.
		var lints, files, withs []cost
		for range costRounds {
			if err := writeCostZone(zone, n, 1, false); err != nil {
				return nil, err
			}
			l, err := lintCost(lint, zone)
			if err != nil {
				return nil, err
			}
			f, err := b.serveCost(coredns, zone, n, false)
			if err != nil {
				return nil, err
			}
			if err := writeCostZone(zone, n, 1, false); err != nil {
				return nil, err
			}
			w, err := b.serveCost(coredns, zone, n, true)
			if err != nil {
				return nil, err
			}
			lints, files, withs = append(lints, l), append(files, f), append(withs, w)
		}
		c.lint, c.file, c.with = medianCost(lints), medianCost(files), medianCost(withs)
		for i := range lints {
			fmt.Printf("audit cost %d records, run %d: file %.2f s (%.2f s once up), with flatten %.2f s (%.2f s once up), cnamelint %.2f s\n",
				n, i+1, files[i].cpu.Seconds(), files[i].loaded.Seconds(), withs[i].cpu.Seconds(), withs[i].loaded.Seconds(), lints[i].cpu.Seconds())
		}
		fmt.Printf("audit cost %d records: file %.2f s %.0f MiB (change %.2f s), with flatten %.2f s %.0f MiB (change %.2f s), the audit %.2f s (totals' difference %.2f s), cnamelint %.2f s %.0f MiB\n",
			n, c.file.cpu.Seconds(), mib(c.file.peak), c.file.change.Seconds(), c.with.cpu.Seconds(), mib(c.with.peak), c.with.change.Seconds(),
			c.auditCPU(), c.totalsCPU(), c.lint.cpu.Seconds(), mib(c.lint.peak))
		out = append(out, c)
	}
	return out, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// costRounds is how many times each server and the linter run at each size.
const costRounds = 3

// medianCost is the median of each measurement of cs, taken apart.
func medianCost(cs []cost) cost {
	pick := func(f func(cost) float64) float64 {
		v := make([]float64, 0, len(cs))
		for _, c := range cs {
			v = append(v, f(c))
		}
		return medianOf(v)
	}
	return cost{
		cpu:    time.Duration(pick(func(c cost) float64 { return float64(c.cpu) })),
		loaded: time.Duration(pick(func(c cost) float64 { return float64(c.loaded) })),
		peak:   int64(pick(func(c cost) float64 { return float64(c.peak) })),
		change: time.Duration(pick(func(c cost) float64 { return float64(c.change) })),
	}
}

// writeCostZone writes a generated zone of n records with serial; changed adds a CNAME, removes
// nothing and edits nothing else: the change a serial bump brings.
func writeCostZone(path string, n, serial int, changed bool) error {
	var z bytes.Buffer
	if err := zonegen.Write(&z, zonegen.Options{Records: n, Seed: 1}); err != nil {
		return err
	}
	out := bytes.Replace(z.Bytes(), []byte(" IN SOA ns1 hostmaster 1 "), []byte(fmt.Sprintf(" IN SOA ns1 hostmaster %d ", serial)), 1)
	if changed {
		out = append(out, "added IN CNAME n0.p0\nn1.p1 IN TXT \"edited\"\n"...)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lintCost runs cnamelint on zone and returns its CPU and peak RSS.
func lintCost(lint, zone string) (cost, error) {
	cmd := exec.Command(lint, "-fail-on", "critical", zone) // #nosec G204 -- the linter this benchmark built
	if out, err := cmd.CombinedOutput(); err != nil {
		return cost{}, fmt.Errorf("cnamelint: %v: %s", err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return cost{cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), peak: ru.Maxrss << 10}, nil
}

// serveCost starts a server for zone (with flatten, or file alone), waits until it has loaded it
// (and audited it), and returns its CPU and peak RSS, and the part of that CPU it used from its
// first answer on; then changes a few records and returns the CPU the reload (and its audit) cost.
//
// The audit starts when the server listens (caddy's start-up event), after file has parsed the
// zone: the CPU from the first answer on is the audit's, and what file alone spends after its
// load (the collection of the parse's garbage), which the server without flatten measures. That
// difference leaves out the parse, whose CPU varies by more than the audit costs at 100,000
// records from one start to the next; the difference of the two totals is reported too.
func (b *bench) serveCost(coredns, zone string, n int, flatten bool) (cost, error) {
	port := freePort()
	block := ""
	if flatten {
		block = "flatten {\n        audit 1s\n    }"
	}
	key := fmt.Sprintf("cost%d%v", n, flatten)
	b.file("Corefile."+key, fmt.Sprintf("example.org:%d {\n    bind 127.0.0.1\n    %s\n    file %s {\n        reload 1s\n    }\n}\n", port, block, zone))
	p, err := b.start("coredns "+key, coredns, "-conf", filepath.Join(b.dir, "Corefile."+key))
	if err != nil {
		return cost{}, err
	}
	defer b.stop(p)
	loaded := func(serial int) error {
		if flatten {
			return waitFor(p, fmt.Sprintf("audit of example.org. (serial %d,", serial), 10*time.Minute)
		}
		return waitAnswer(port, serial, 100*time.Millisecond, 10*time.Minute)
	}
	if err := waitAnswer(port, 1, 5*time.Millisecond, 10*time.Minute); err != nil {
		return cost{}, err
	}
	up, err := cpuTime(p.cmd.Process.Pid)
	if err != nil {
		return cost{}, err
	}
	if err := loaded(1); err != nil {
		return cost{}, err
	}
	before, err := settle(p)
	if err != nil {
		return cost{}, err
	}
	c := cost{cpu: before, loaded: before - up, peak: peakRSS(p)}
	if err := writeCostZone(zone, n, 2, true); err != nil {
		return cost{}, err
	}
	if err := loaded(2); err != nil {
		return cost{}, err
	}
	after, err := settle(p)
	if err != nil {
		return cost{}, err
	}
	c.change = after - before
	return c, nil
}

// waitFor waits until p has logged text.
func waitFor(p *proc, text string, limit time.Duration) error {
	for deadline := time.Now().Add(limit); !strings.Contains(p.out.String(), text); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) || p.cmd.ProcessState != nil {
			return fmt.Errorf("%s did not log %q: %s", p.name, text, tail([]byte(p.out.String())))
		}
	}
	return nil
}

// waitAnswer waits until the server on port serves example.org's SOA with serial, asking every
// poll (5 ms for the first answer, which marks the end of the zone's load in serveCost; at a
// reload, slower, so that the questions add little to the reload's CPU).
func waitAnswer(port, serial int, poll, limit time.Duration) error {
	m := new(dns.Msg)
	m.SetQuestion("example.org.", dns.TypeSOA)
	c := &dns.Client{Timeout: time.Second}
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(poll) {
		r, _, err := c.Exchange(m, fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil && len(r.Answer) == 1 && r.Answer[0].(*dns.SOA).Serial == uint32(serial) { // #nosec G115 -- a small serial
			return nil
		}
	}
	return fmt.Errorf("the server on port %d did not serve serial %d", port, serial)
}

// settle waits until p's CPU time stops growing (1 s without a tick) and returns it.
func settle(p *proc) (time.Duration, error) {
	last, err := cpuTime(p.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	for still := 0; still < 5; {
		time.Sleep(200 * time.Millisecond)
		now, err := cpuTime(p.cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		if now-last < 20*time.Millisecond {
			still++
		} else {
			still = 0
		}
		last = now
	}
	return last, nil
}

var statFields = regexp.MustCompile(`\) \S+(?: \S+){10} (\d+) (\d+)`)

// cpuTime returns the user and system time of a process, from /proc (in clock ticks of 10 ms).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	m := statFields.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no times in /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseInt(string(m[1]), 10, 64)
	s, _ := strconv.ParseInt(string(m[2]), 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

// stop stops one process.
func (b *bench) stop(p *proc) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}
