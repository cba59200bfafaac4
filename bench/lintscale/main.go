// Command lintscale measures cnamelint against BIND's named-checkzone on generated zones of
// growing size (bench/zonegen: 60% A, 30% CNAMEs, 10% two-hop chains, with a loop, a 12-hop
// chain, a CNAME beside a TXT and a relative-name mistake planted) and on the corpus of zone
// shapes in plugin/rules/testdata/corpus, and prints a table: wall time and peak RSS of each,
// their ratios, and whether cnamelint reported exactly the planted findings. Run it from the
// repository's root (it needs named-checkzone, from Debian's bind9-utils):
//
//	go run ./bench/lintscale [-sizes 10000,100000,1000000] [-rounds 3] [-write]
//
// The two tools run one after the other, alternating, in each round; the table gives medians.
// A last run has cnamelint resolve thousands of outside targets through a resolver that takes
// -delay to answer each question.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dnsflatten/flatten/bench/zonegen"
)

var (
	sizes   = flag.String("sizes", "10000,100000,1000000", "zone sizes in records, comma-separated")
	rounds  = flag.Int("rounds", 3, "runs of each tool per zone; the table gives medians")
	corpus  = flag.String("corpus", "plugin/rules/testdata/corpus", "directory of the zone corpus (expected.txt lists its files)")
	write   = flag.Bool("write", false, "write the table to bench/lintscale/RESULTS.md")
	parents = flag.Int("parents", 97, "parent names the generated names spread under")
	outside = flag.Int("outside", 5000, "aliases to names outside the zone for the resolver run (0: none)")
	delay   = flag.Duration("delay", 10*time.Millisecond, "the resolver's time to answer each question")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lintscale:", err)
		os.Exit(1)
	}
}

// sample is one run of one tool.
type sample struct {
	wall time.Duration
	rss  int64 // peak resident set, bytes
	out  []byte
	code int
}

// measure runs a command and returns its wall time and peak RSS (from wait4's rusage).
func measure(dir string, name string, args ...string) (sample, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	s := sample{wall: time.Since(start), out: out.Bytes()}
	if ee, ok := err.(*exec.ExitError); ok {
		s.code = ee.ExitCode()
	} else if err != nil {
		return s, err
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.rss = ru.Maxrss * 1024
	}
	return s, nil
}

type row struct {
	label       string
	records     int
	lint, bind  sample // medians
	findingsOK  bool
	findingNote string
}

func run() error {
	checkzone, err := exec.LookPath("named-checkzone")
	if err != nil {
		return fmt.Errorf("named-checkzone not found (apt-get install bind9-utils): %v", err)
	}
	dir, err := os.MkdirTemp("", "lintscale")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	linter := filepath.Join(dir, "cnamelint")
	fmt.Println("building cnamelint...")
	if out, err := exec.Command("go", "build", "-o", linter, "./cmd/cnamelint").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v: %s", err, out)
	}

	var rows []row
	for f := range strings.SplitSeq(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 64 {
			return fmt.Errorf("bad size %q", f)
		}
		zone := filepath.Join(dir, fmt.Sprintf("db.%d.example.org", n))
		w, err := os.Create(zone)
		if err != nil {
			return err
		}
		if err := zonegen.Write(w, zonegen.Options{Records: n, Parents: *parents}); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		r, err := compare(linter, checkzone, dir, n, []string{zone + ":example.org"}, [][]string{{"example.org", zone}})
		if err != nil {
			return err
		}
		r.label = fmt.Sprintf("generated, %d records", n)
		if *parents != 97 {
			r.label += fmt.Sprintf(" under %d parents", *parents)
		}
		r.findingsOK, r.findingNote = planted(r.lint.out)
		rows = append(rows, r)
		os.Remove(zone)
	}

	// The corpus: every file once per round, each tool; the times add up.
	files, err := corpusFiles(*corpus)
	if err != nil {
		return err
	}
	var lintArgs []string
	var bindArgs [][]string
	for _, f := range files {
		lintArgs = append(lintArgs, f+":example.org")
		bindArgs = append(bindArgs, []string{"example.org", f})
	}
	r, err := compare(linter, checkzone, "", 0, lintArgs, bindArgs)
	if err != nil {
		return err
	}
	r.label = fmt.Sprintf("corpus, %d zone files", len(files))
	r.findingsOK, r.findingNote = r.lint.code != 2, "every file read"
	if !r.findingsOK {
		r.findingNote = "a file was not read: " + strings.TrimSpace(string(r.lint.out))
	}
	rows = append(rows, r)

	report := table(rows)
	if *outside > 0 {
		line, err := resolving(linter, dir)
		if err != nil {
			return err
		}
		report += "\n" + line + "\n"
	}
	fmt.Print(report)
	if *write {
		return os.WriteFile("bench/lintscale/RESULTS.md", []byte(report), 0o600)
	}
	return nil
}

// compare runs cnamelint on each of lintArgs (one zone at a time) and named-checkzone on each of
// bindArgs, alternating which goes first, for the rounds, and returns the medians of the totals.
func compare(linter, checkzone, dir string, records int, lintArgs []string, bindArgs [][]string) (row, error) {
	var lints, binds []sample
	for round := range *rounds {
		var lint, bind sample
		runLint := func() error {
			for _, a := range lintArgs {
				s, err := measure(dir, linter, "-json", a)
				if err != nil {
					return err
				}
				lint.wall += s.wall
				lint.rss = max(lint.rss, s.rss)
				lint.out = append(lint.out, s.out...)
				lint.code = max(lint.code, s.code)
			}
			return nil
		}
		runBind := func() error {
			for _, a := range bindArgs {
				s, err := measure(filepath.Dir(a[1]), checkzone, a[0], filepath.Base(a[1]))
				if err != nil {
					return err
				}
				bind.wall += s.wall
				bind.rss = max(bind.rss, s.rss)
			}
			return nil
		}
		first, second := runLint, runBind
		if round%2 == 1 {
			first, second = runBind, runLint
		}
		if err := first(); err != nil {
			return row{}, err
		}
		if err := second(); err != nil {
			return row{}, err
		}
		fmt.Printf("  %d records, round %d: cnamelint %v %s, named-checkzone %v %s\n", records, round+1,
			lint.wall.Round(time.Millisecond), mib(lint.rss), bind.wall.Round(time.Millisecond), mib(bind.rss))
		lints, binds = append(lints, lint), append(binds, bind)
	}
	return row{records: records, lint: median(lints), bind: median(binds)}, nil
}

// median takes the median wall time and the median peak RSS (the output of the first run).
func median(s []sample) sample {
	walls := make([]time.Duration, len(s))
	rss := make([]int64, len(s))
	for i, x := range s {
		walls[i], rss[i] = x.wall, x.rss
	}
	slices.Sort(walls)
	slices.Sort(rss)
	return sample{wall: walls[len(s)/2], rss: rss[len(s)/2], out: s[0].out, code: s[0].code}
}

// planted reports whether cnamelint's JSON output holds exactly the planted findings.
func planted(out []byte) (bool, string) {
	var fs []struct{ Severity, Rule, Owner string }
	if err := json.Unmarshal(out, &fs); err != nil {
		return false, "output is not JSON: " + err.Error()
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Severity+" "+f.Rule+" "+f.Owner)
	}
	want := zonegen.Planted("")
	if !slices.Equal(got, want) {
		return false, fmt.Sprintf("findings %v, want %v", got, want)
	}
	return true, fmt.Sprintf("all %d planted", len(want))
}

// corpusFiles lists the corpus's zone files, from its expected.txt.
func corpusFiles(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "expected.txt"))
	if err != nil {
		return nil, err
	}
	var files []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if f, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			if p := filepath.Join(dir, f); !slices.Contains(files, p) {
				files = append(files, p)
			}
		}
	}
	return files, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func table(rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# cnamelint and named-checkzone\n\nThe latest run of `go run ./bench/lintscale` (%d rounds, medians).\n\n", *rounds)
	host, _ := os.Hostname()
	ver, _ := exec.Command("named-checkzone", "-v").Output()
	fmt.Fprintf(&b, "Machine: %d cores (%s), %s/%s, %s, named-checkzone %s; %s.\n\n", runtime.NumCPU(), host, runtime.GOOS, runtime.GOARCH,
		runtime.Version(), strings.TrimSpace(string(ver)), time.Now().Format("2006-01-02"))
	b.WriteString("| zone | cnamelint | cnamelint RSS | named-checkzone | named-checkzone RSS | time ratio | RSS ratio | findings |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rows {
		verdict := "ok: " + r.findingNote
		if !r.findingsOK {
			verdict = "WRONG: " + r.findingNote
		}
		fmt.Fprintf(&b, "| %s | %.2f s | %s | %.2f s | %s | %.2f | %.2f | %s |\n", r.label, r.lint.wall.Seconds(), mib(r.lint.rss),
			r.bind.wall.Seconds(), mib(r.bind.rss), r.lint.wall.Seconds()/r.bind.wall.Seconds(), float64(r.lint.rss)/float64(r.bind.rss), verdict)
	}
	b.WriteString("\nTargets: at 1,000,000 records cnamelint takes at most twice named-checkzone's time and memory, and reports every planted finding at every size.\n")
	return b.String()
}
