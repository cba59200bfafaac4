// Command compat runs CoreDNS's own end-to-end suite (the test package of the CoreDNS module this
// build uses, from the module cache) twice: as it is, and with a bare `flatten` added to every
// server block of every Corefile it starts, the plugin registered and placed as cmd/coredns does.
// Every test that passes without flatten must pass with it, or be listed below, and in the
// README's Bugs, with the reason. It exits 1 on any other difference.
//
//	go run ./internal/compat [-run REGEXP] [-timeout 5m]
//
// A run that stops before its end (a test that hangs until the timeout) is completed by running
// the tests it left out again; a test that never finishes without flatten fails the comparison.
//
// The suite is copied to internal/compat/testdata/suite (a folder go's ./... patterns leave out),
// with CoreDNS's TLS test certificates where its tests look for them.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// known are the tests that pass without flatten and fail with it, each with the reason: what a
// bare flatten changes that a user would see, and why that is right. None today.
var known = map[string]string{}

// flaky are the suite's tests that fail now and then without flatten too: their outcome with it
// says nothing of the plugin.
var flaky = map[string]string{
	// Two instances share a port with SO_REUSEPORT while one stops (its comment cites
	// coredns/coredns#7733): a question reaches the stopping one and gets REFUSED, in about one
	// run of five on two cores, with or without flatten.
	"TestViewServerBlockOrdering": "two instances share a port with SO_REUSEPORT while one stops",
}

// skipped are suite files not copied: they read CoreDNS's source tree (its plugins' READMEs and
// code), which the module cache holds but not where they look, so they fail with or without
// flatten and say nothing about it.
var skipped = []string{"presubmit_test.go", "readme_test.go", "metric_naming_test.go"}

const (
	suiteDir = "internal/compat/testdata/suite"
	// injectEnv turns the injection on in the copied suite.
	injectEnv = "COMPAT_FLATTEN"
)

// inject is added to the copied suite: it registers flatten where cmd/coredns places it (in both
// runs: a Corefile without flatten never meets it), and adds a bare flatten to every server block
// of a Corefile when injectEnv is 1.
const inject = `package test

import (
	"encoding/json"
	"os"

	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/dnsflatten/flatten" // Registers the flatten directive.
	"github.com/dnsflatten/flatten/internal/directive"
)

func init() {
	d, err := directive.Place(dnsserver.Directives)
	if err != nil {
		panic(err)
	}
	dnsserver.Directives = d
}

// injectFlatten adds a bare flatten line to every server block of corefile; a Corefile the
// tokenizer cannot read is left as it is (the test expects CoreDNS to refuse it).
func injectFlatten(corefile string) string {
	if os.Getenv("` + injectEnv + `") != "1" {
		return corefile
	}
	j, err := caddyfile.ToJSON([]byte(corefile))
	if err != nil {
		return corefile
	}
	var blocks caddyfile.EncodedCaddyfile
	if err := json.Unmarshal(j, &blocks); err != nil {
		return corefile
	}
	for i := range blocks {
		blocks[i].Body = append(blocks[i].Body, []any{"flatten"})
	}
	b, err := json.Marshal(blocks)
	if err != nil {
		return corefile
	}
	out, err := caddyfile.FromJSON(b)
	if err != nil {
		return corefile
	}
	return string(out)
}
`

func main() {
	run := flag.String("run", "", "run only the suite's tests matching `REGEXP`")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound of each run of the suite (it takes about 30 s)")
	flag.Parse()
	if err := prepare(); err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		os.Exit(2)
	}
	all, err := list(*run)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		os.Exit(2)
	}
	without, err := suite(*run, *timeout, false)
	if err == nil && len(without) == 0 {
		err = errors.New("the suite as it is ran no test")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		os.Exit(2)
	}
	with, err := suite(*run, *timeout, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		os.Exit(2)
	}
	// A run that stopped (a test of CoreDNS's own that hung until the timeout) has no outcome for
	// the test it stopped in nor for those after it: run those again, so that each test is
	// compared, not left out.
	for _, r := range []struct {
		results map[string]string
		flatten bool
	}{{without, false}, {with, true}} {
		other := with
		if r.flatten {
			other = without
		}
		if tops := missing(r.results, other, all); len(tops) > 0 {
			again, err := suite("^("+strings.Join(tops, "|")+")$", *timeout, r.flatten)
			if err != nil {
				fmt.Fprintln(os.Stderr, "compat:", err)
				os.Exit(2)
			}
			maps.Copy(r.results, again)
		}
	}
	os.Exit(compare(os.Stdout, all, without, with, recheck(*timeout)))
}

// list returns the suite's top-level tests that run matches (all of them without it), as go test
// -list gives them.
func list(run string) ([]string, error) {
	if run == "" {
		run = "."
	}
	out, err := exec.Command("go", "test", "-mod=mod", "-modfile="+suiteDir+"/compat.mod", "-list", run, "./"+suiteDir+"/test").Output() // #nosec G204 -- the go command, on the -run pattern given to this command
	if err != nil {
		return nil, fmt.Errorf("go test -list %s: %w", run, err)
	}
	var tests []string
	for line := range strings.Lines(string(out)) {
		if name := strings.TrimSpace(line); strings.HasPrefix(name, "Test") {
			tests = append(tests, name)
		}
	}
	if len(tests) == 0 {
		return nil, fmt.Errorf("go test -list %s: no test", run)
	}
	return tests, nil
}

// missing returns, quoted for -run, the top-level tests of all that have no outcome in results, and
// those of the tests that have an outcome in other and none in results (a subtest).
func missing(results, other map[string]string, all []string) []string {
	var tops []string
	add := func(top string) {
		if q := regexp.QuoteMeta(top); !slices.Contains(tops, q) {
			tops = append(tops, q)
		}
	}
	for _, top := range all {
		if _, ok := results[top]; !ok {
			add(top)
		}
	}
	for name := range other {
		if _, ok := results[name]; !ok {
			top, _, _ := strings.Cut(name, "/")
			add(top)
		}
	}
	slices.Sort(tops)
	return tops
}

// recheck returns a function that runs a test again, alone, some times in each mode, and says
// whether it is flaky in CoreDNS itself: it fails without flatten too, or passes with flatten
// every time alone. CoreDNS's suite has such tests (servers sharing a port with SO_REUSEPORT).
func recheck(timeout time.Duration) func(name string) (string, bool) {
	return func(name string) (string, bool) {
		top, _, _ := strings.Cut(name, "/")
		pattern := "^" + regexp.QuoteMeta(top) + "$"
		without, err := runs(pattern, timeout, false, 10)
		if err != nil {
			return err.Error(), false
		}
		if without[name] < 10 {
			return fmt.Sprintf("flaky in CoreDNS itself: passed %d of 10 runs without flatten", without[name]), true
		}
		with, err := runs(pattern, timeout, true, 10)
		if err != nil {
			return err.Error(), false
		}
		if with[name] == 10 {
			return "flaky: passed 10 of 10 runs with flatten alone", true
		}
		return fmt.Sprintf("passed %d of 10 runs with flatten alone, 10 of 10 without", with[name]), false
	}
}

// runs runs the tests matching pattern n times and counts each test's passes: a run that does not
// build, panics or times out passes nothing.
func runs(pattern string, timeout time.Duration, flatten bool, n int) (map[string]int, error) {
	cmd := exec.Command("go", "test", "-mod=mod", "-modfile="+suiteDir+"/compat.mod", fmt.Sprintf("-count=%d", n), "-json",
		"-timeout", timeout.String(), "-run", pattern, "./"+suiteDir+"/test") // #nosec G204 -- the go command, on a test name of the suite
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", injectEnv, map[bool]int{false: 0, true: 1}[flatten]))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	passes := map[string]int{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Test != "" && e.Action == "pass" {
			passes[e.Test]++
		}
	}
	_ = cmd.Wait() // what failed passed nothing, counted above
	return passes, nil
}

// prepare copies CoreDNS's suite into suiteDir and adds the injection.
func prepare() error {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/coredns/coredns").Output()
	if err != nil {
		return fmt.Errorf("go list -m github.com/coredns/coredns: %w", err)
	}
	src, version, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	fmt.Printf("CoreDNS %s's test suite, from %s\n", version, src)
	if err := os.RemoveAll(suiteDir); err != nil {
		return err
	}
	test := filepath.Join(suiteDir, "test")
	if err := os.MkdirAll(test, 0o750); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(src, "test", "*.go"))
	if err != nil {
		return err
	}
	patched := false
	for _, f := range files {
		if slices.Contains(skipped, filepath.Base(f)) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if filepath.Base(f) == "server.go" {
			// Every Corefile the suite starts passes through NewInput.
			old := "return &Input{corefile: []byte(corefile)}"
			if !bytes.Contains(b, []byte(old)) {
				return fmt.Errorf("%s: no %q to patch: this CoreDNS's suite starts servers another way", f, old)
			}
			b = bytes.Replace(b, []byte(old), []byte("return &Input{corefile: []byte(injectFlatten(corefile))}"), 1)
			patched = true
		}
		if err := os.WriteFile(filepath.Join(test, filepath.Base(f)), b, 0o600); err != nil { // #nosec G703 -- a file of the module cache, into the suite's folder
			return err
		}
	}
	if !patched {
		return fmt.Errorf("%s/test has no server.go", src)
	}
	if err := os.WriteFile(filepath.Join(test, "inject_flatten.go"), []byte(inject), 0o600); err != nil {
		return err
	}
	for from, to := range map[string]string{"go.mod": "compat.mod", "go.sum": "compat.sum"} {
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(suiteDir, to), b, 0o600); err != nil { // #nosec G703 -- fixed names
			return err
		}
	}
	// The suite's TLS tests read ../plugin/tls/test_*.pem.
	pems, err := filepath.Glob(filepath.Join(src, "plugin", "tls", "test_*.pem"))
	if err != nil || len(pems) == 0 {
		return fmt.Errorf("no TLS test certificates in %s/plugin/tls", src)
	}
	tls := filepath.Join(suiteDir, "plugin", "tls")
	if err := os.MkdirAll(tls, 0o750); err != nil {
		return err
	}
	for _, p := range pems {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tls, filepath.Base(p)), b, 0o600); err != nil { // #nosec G703 -- a file of the module cache, into the suite's folder
			return err
		}
	}
	return nil
}

// event is one line of go test -json.
type event struct {
	Action, Test, Output string
}

// suite runs the copied suite once and returns each test's outcome (pass, fail or skip).
func suite(run string, timeout time.Duration, flatten bool) (map[string]string, error) {
	// The suite imports packages of CoreDNS's own tests that this module does not: its own copy
	// of go.mod (-modfile) takes their requirements, and this module's stays as it is.
	args := []string{"test", "-mod=mod", "-modfile=" + suiteDir + "/compat.mod", "-count=1", "-json", "-timeout", timeout.String(), "./" + suiteDir + "/test"}
	if run != "" {
		args = append(args, "-run", run)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", injectEnv, map[bool]int{false: 0, true: 1}[flatten]))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	results, output := read(out)
	err = cmd.Wait()
	what := map[bool]string{false: "as it is", true: "with flatten in every server block"}[flatten]
	fmt.Printf("the suite %s: %d tests in %s\n", what, len(results), time.Since(start).Round(time.Second))
	if i := panicked.FindStringIndex(output); i != nil {
		// Go prints a timeout as a panic naming the tests still running: show it, whichever
		// test's output it came in.
		fmt.Printf("the suite %s stopped (%v):\n%s\n", what, err, firstLines(output[i[0]:], 20))
	}
	return results, nil
}

var panicked = regexp.MustCompile(`(?m)^panic: `)

// read collects the outcome of every test (subtests included) and all the run's output.
func read(r io.Reader) (map[string]string, string) {
	results := map[string]string{}
	var output strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		switch {
		case e.Action == "output":
			output.WriteString(e.Output)
		case e.Test != "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			results[e.Test] = e.Action
		}
	}
	return results, output.String()
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// compare reports the tests that pass without flatten and not with it, and returns the exit code:
// 1 when one of them is neither known nor found flaky by recheck.
func compare(w io.Writer, all []string, without, with map[string]string, recheck func(string) (string, bool)) int {
	names := make([]string, 0, len(without))
	for name := range without {
		names = append(names, name)
	}
	// Every test either run finished, and every top-level test of the suite: a test no run
	// finished is compared too (and found not compared).
	others := slices.Collect(maps.Keys(with))
	others = append(others, all...)
	for _, name := range others {
		if _, ok := without[name]; !ok && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	counts := map[string]int{}
	code := 0
	for _, name := range names {
		a, b := without[name], with[name]
		counts[a]++
		top, _, _ := strings.Cut(name, "/")
		if a == "" {
			if b == "" {
				b = "did not finish either"
			}
			if why, ok := flaky[top]; ok {
				fmt.Fprintf(w, "not counted: %s did not finish without flatten (with flatten: %s), and is flaky in CoreDNS itself: %s\n", name, b, why)
				continue
			}
			// Run twice without flatten and never finished: nothing to compare it with.
			fmt.Fprintf(w, "NOT COMPARED: %s did not finish without flatten (with flatten: %s)\n", name, b)
			code = 1
			continue
		}
		if a != "pass" || b == "pass" {
			continue
		}
		if b == "" {
			b = "did not run"
		}
		if why, ok := known[name]; ok {
			fmt.Fprintf(w, "known: %s %s with flatten: %s\n", name, b, why)
			continue
		}
		if why, ok := flaky[top]; ok {
			fmt.Fprintf(w, "not counted: %s %s with flatten, and is flaky in CoreDNS itself: %s\n", name, b, why)
			continue
		}
		why, flaky := recheck(name)
		if flaky {
			fmt.Fprintf(w, "not counted: %s %s with flatten once, and is %s\n", name, b, why)
			continue
		}
		fmt.Fprintf(w, "REGRESSION: %s passes without flatten and %s with it (%s)\n", name, b, why)
		code = 1
	}
	fmt.Fprintf(w, "without flatten: %d passed, %d failed, %d skipped\n", counts["pass"], counts["fail"], counts["skip"])
	for _, name := range names {
		if without[name] == "fail" {
			fmt.Fprintf(w, "  failed without flatten (CoreDNS's own: not compared): %s\n", name)
		}
	}
	if code != 0 {
		fmt.Fprintln(w, "compat: a test of CoreDNS's suite breaks with flatten in the block, or could not be compared")
		return code
	}
	fmt.Fprintln(w, "with flatten: every test that passed without it passes, but for the known ones above")
	return code
}
