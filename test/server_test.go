// Package test holds the end-to-end tests: they build the custom CoreDNS from this repository
// once, start it on 127.0.0.1 with Corefiles of their own, and query it over UDP and TCP.
package test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dnsflatten/flatten/internal/loopback"
	"github.com/dnsflatten/flatten/internal/syncbuf"

	"github.com/miekg/dns"
)

// binary is the custom CoreDNS under test; scratch is the package's folder for what its tests
// build once (removed when they end).
var binary, scratch string

// TestMain builds cmd/coredns once for the whole package, with the race detector when the tests
// have it (`go test -race`, as the README and CI run them), unless FLATTEN_COREDNS names a binary
// built already.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// Most of these tests wait: on TTLs, timeouts and servers starting, not on the CPU. The long
	// ones are marked parallel and run four at a time unless -parallel says otherwise (its default,
	// GOMAXPROCS, is 2 on a 2-core machine).
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "4")
	}
	dir, err := os.MkdirTemp("", "flatten-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	scratch = dir
	if b := os.Getenv("FLATTEN_COREDNS"); b != "" {
		binary = b
		return m.Run()
	}
	binary = filepath.Join(dir, "coredns")
	args := []string{"build", "-o", binary}
	if raced {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "github.com/dnsflatten/flatten/cmd/coredns")...) // #nosec G204 -- the go command on this module's own package
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the custom CoreDNS:", err)
		return 1
	}
	return m.Run()
}

// server is one running custom CoreDNS: a process, or a server in the test's own process.
type server struct {
	addr string // 127.0.0.1:PORT
	port int
	// tcp is the TCP address when it differs from addr: a server started in-process on port 0
	// gets a port of its own for each.
	tcp  string
	name string    // what runs it, for messages
	cmd  *exec.Cmd // the process, or nil in-process
	halt func()    // stops the server in-process
	out  *syncbuf.Buffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// freePort returns a port free for both UDP and TCP on 127.0.0.1 (see launch for the race).
func freePort(tb testing.TB) int {
	tb.Helper()
	port, err := loopback.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// expand replaces {{PORT}} and {{DIR}} (this package's testdata folder) in a Corefile.
func expand(tb testing.TB, corefile string, port int) string {
	tb.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		tb.Fatal(err)
	}
	r := strings.NewReplacer("{{PORT}}", fmt.Sprint(port), "{{DIR}}", dir)
	return r.Replace(corefile)
}

// start runs the custom CoreDNS on corefile ({{PORT}} and {{DIR}} expanded) and waits until it
// answers. The server is stopped when the test ends.
func start(tb testing.TB, corefile string, args ...string) *server {
	tb.Helper()
	return startIn(tb, "", corefile, args...)
}

// startIn is start with the server's working directory set to dir. A port is free when chosen but
// another process may bind it first: a server that exits because its port is taken is started
// again on another.
func startIn(tb testing.TB, dir, corefile string, args ...string) *server {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		s := startNoWaitIn(tb, dir, corefile, args...)
		err := s.ready()
		if err == nil {
			err = s.listening()
		}
		if err == nil {
			return s
		}
		if attempt < 3 && s.exited() && strings.Contains(s.out.String(), "address already in use") {
			continue
		}
		tb.Fatal(err)
	}
}

// listening waits until the CoreDNS process has printed that it serves on its own port, or exits:
// a probe answered on the port may have come from another test's server that bound it first (the
// port was free when chosen), which then stops and leaves the port to no one.
func (s *server) listening() error {
	banner := regexp.MustCompile(fmt.Sprintf(`(?m)^\S*:%d( on |$)`, s.port))
	deadline := time.Now().Add(20 * time.Second)
	for !banner.MatchString(s.out.String()) {
		if s.exited() || time.Now().After(deadline) {
			return fmt.Errorf("%s answered on %s but has not said it serves there; its output:\n%s", s.name, s.addr, s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// waitReady waits until the server answers a question.
func (s *server) waitReady(tb testing.TB) {
	tb.Helper()
	if err := s.ready(); err != nil {
		tb.Fatal(err)
	}
}

// ready waits until the server answers a question, or exits, or 20 s pass.
func (s *server) ready() error {
	deadline := time.Now().Add(20 * time.Second)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	probe := new(dns.Msg)
	probe.SetQuestion("probe.invalid.", dns.TypeA)
	for {
		if _, _, err := c.Exchange(probe, s.addr); err == nil {
			return nil
		}
		if s.exited() || time.Now().After(deadline) {
			return fmt.Errorf("%s did not start answering on %s; its output:\n%s", s.name, s.addr, s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startNoWait runs the custom CoreDNS without waiting for it to answer.
func startNoWait(tb testing.TB, corefile string, args ...string) *server {
	tb.Helper()
	return startNoWaitIn(tb, "", corefile, args...)
}

func startNoWaitIn(tb testing.TB, dir, corefile string, args ...string) *server {
	tb.Helper()
	return launch(tb, dir, freePort(tb), corefile, args...)
}

// startOn runs the custom CoreDNS on a given port (to restart a server where its clients expect it)
// and waits until it answers.
func startOn(tb testing.TB, port int, corefile string) *server {
	tb.Helper()
	s := launch(tb, "", port, corefile)
	s.waitReady(tb)
	return s
}

func launch(tb testing.TB, dir string, port int, corefile string, args ...string) *server {
	tb.Helper()
	conf := filepath.Join(tb.TempDir(), "Corefile")
	if err := os.WriteFile(conf, []byte(expand(tb, corefile, port)), 0o644); err != nil {
		tb.Fatal(err)
	}
	return runServer(tb, dir, port, binary, append([]string{"-conf", conf, "-dns.port", fmt.Sprint(port)}, args...)...)
}

// runServer starts a server process (the custom CoreDNS, or a peer such as Unbound) listening on port,
// collecting its output, and stops it when the test ends; a data race it reports fails the test.
// A binary built with -race would wait a second at exit for reports still to come (the race
// runtime's atexit_sleep_ms): every report is written when the race is seen, so it exits at once.
func runServer(tb testing.TB, dir string, port int, bin string, args ...string) *server {
	tb.Helper()
	s := &server{addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, name: filepath.Base(bin), out: &syncbuf.Buffer{}}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.Dir = dir
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	tb.Cleanup(func() {
		s.stop()
		// A server built with -race reports data races on its output.
		if strings.Contains(s.out.String(), "WARNING: DATA RACE") {
			tb.Errorf("%s reported a data race", filepath.Base(bin))
		}
		if tb.Failed() {
			tb.Logf("%s output:\n%s", filepath.Base(bin), s.out)
		}
	})
	return s
}

// stop ends the server (a process: SIGTERM, then SIGKILL after 10 s) and waits for it.
func (s *server) stop() {
	if s.cmd == nil {
		s.halt()
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// exited reports whether the process has ended.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end by itself and returns its exit status.
func (s *server) wait(tb testing.TB) error {
	tb.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(20 * time.Second):
		tb.Fatal("CoreDNS did not exit")
		return nil
	}
}

// metric returns the sum of every sample of the named metric on the server's prometheus endpoint
// at addr (host:port), whose labels contain all of labels.
func metric(tb testing.TB, addr, name string, labels ...string) float64 {
	tb.Helper()
	sum := 0.0
	for line := range strings.SplitSeq(get(tb, "http://"+addr+"/metrics"), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

// waitLog waits until the server's output holds substr.
func (s *server) waitLog(tb testing.TB, substr string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.out.String(), substr) {
		if time.Now().After(deadline) {
			tb.Fatalf("log line %q not seen; output:\n%s", substr, s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// query asks the server one question over network ("udp" or "tcp"), with EDNS (and so room for an
// extended error) unless noEDNS.
func (s *server) query(tb testing.TB, network, name string, qtype uint16, noEDNS ...bool) *dns.Msg {
	tb.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if len(noEDNS) == 0 || !noEDNS[0] {
		m.SetEdns0(1232, false)
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, s.at(network))
	if err != nil {
		tb.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

// at returns the server's address for network ("udp" or "tcp").
func (s *server) at(network string) string {
	if network == "tcp" && s.tcp != "" {
		return s.tcp
	}
	return s.addr
}
