package test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const root = ".."

func readme(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(root + "/README.md")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// The README follows CoreDNS's plugin format: these sections, in this order.
func TestReadmeSections(t *testing.T) {
	want := []string{"Name", "Description", "Syntax", "Examples", "Metrics", "Ready", "Bugs", "See Also"}
	var got []string
	for line := range strings.SplitSeq(readme(t), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok && slices.Contains(want, h) {
			got = append(got, h)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("README sections %v, want %v in that order", got, want)
	}
	if !strings.HasPrefix(readme(t), "# flatten\n\n## Name\n\n*flatten* - ") {
		t.Error("README must start with '# flatten', '## Name' and '*flatten* - ...'")
	}
}

var exampleBlock = regexp.MustCompile("(?s)~~~ corefile\n(.*?)~~~\n\n~~~ txt\n\\$ dig @127\\.0\\.0\\.1 (.*?)\n(.*?)~~~")

// Every corefile example in the README starts the custom CoreDNS, run from the repository's root so
// that the zone files it names are found, and answers the dig transcript that follows it exactly
// (TTLs included). Each server block is bound to 127.0.0.1; the recursive resolver the examples
// name (127.0.0.1:5301) is a real server on loopback serving example.net.
func TestReadmeExamples(t *testing.T) {
	examples := exampleBlock.FindAllStringSubmatch(readme(t), -1)
	if n := strings.Count(readme(t), "~~~ corefile"); len(examples) != n || n < 4 {
		t.Fatalf("%d corefile examples, %d of them followed by a dig transcript; want every one, and at least 4", n, len(examples))
	}
	resolver := start(t, "example.net:{{PORT}} {\n    bind 127.0.0.1\n    file "+root+"/zones/db.example.net\n}\n")
	dig := lookPath(t, "dig")
	for i, ex := range examples {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var conf strings.Builder
			for _, line := range strings.SplitAfter(ex[1], "\n") {
				conf.WriteString(strings.ReplaceAll(line, "127.0.0.1:5301", resolver.addr))
				if strings.HasSuffix(line, "{\n") && !strings.HasPrefix(line, " ") {
					conf.WriteString("    bind 127.0.0.1\n")
				}
			}
			s := startIn(t, root, conf.String())
			args := append([]string{"@127.0.0.1", "-p", fmt.Sprint(s.port)}, strings.Fields(ex[2])...)
			out, err := exec.Command(dig, args...).Output()
			if err != nil {
				t.Fatalf("dig %s: %v", strings.Join(args, " "), err)
			}
			if got, want := fields(string(out)), fields(ex[3]); got != want {
				t.Errorf("dig %s answered\n%s\nthe README shows\n%s", ex[2], out, ex[3])
			}
		})
	}
}

// messageID is the ID in dig's header line, which differs at every question.
var messageID = regexp.MustCompile(`, id: [0-9]+$`)

// fields is text with its runs of white space made single spaces, lines kept, and dig's message
// ID left out.
func fields(text string) string {
	var lines []string
	for l := range strings.SplitSeq(strings.TrimSpace(text), "\n") {
		l = messageID.ReplaceAllString(l, "")
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

// The quick start: Corefile.example as committed, on its own ports rewritten to free ones, asked
// with dig exactly as the README shows; its metrics appear on the prometheus endpoint. (The file
// plugin chases the apex CNAME into example.net itself, so this answer needs no lookup of ours.)
func TestCorefileExample(t *testing.T) {
	dig := lookPath(t, "dig")
	b, err := os.ReadFile(root + "/Corefile.example")
	if err != nil {
		t.Fatal(err)
	}
	metricsPort := freePort(t)
	conf := strings.ReplaceAll(string(b), ":1053", ":{{PORT}}")
	conf = strings.ReplaceAll(conf, "127.0.0.1:9153", fmt.Sprintf("127.0.0.1:%d", metricsPort))
	if conf == string(b) {
		t.Fatal("Corefile.example no longer listens on :1053; update this test and the README")
	}
	s := startIn(t, root, conf)

	out, err := exec.Command(dig, "@127.0.0.1", "-p", fmt.Sprint(s.port), "example.org", "A", "+noall", "+answer").Output()
	if err != nil {
		t.Fatalf("dig: %v", err)
	}
	want := regexp.MustCompile(`(?m)^example\.org\.\s+300\s+IN\s+A\s+192\.0\.2\.10\nexample\.org\.\s+300\s+IN\s+A\s+192\.0\.2\.11\n$`)
	if !want.Match(out) {
		t.Errorf("dig answered:\n%s", out)
	}
	if !strings.Contains(readme(t), "dig @127.0.0.1 -p 1053 example.org A +noall +answer\nexample.org.\t\t300\tIN\tA\t192.0.2.10\nexample.org.\t\t300\tIN\tA\t192.0.2.11\n") {
		t.Error("README's dig example differs from what the server answers")
	}

	// A second question is answered from the cache.
	if _, err := exec.Command(dig, "@127.0.0.1", "-p", fmt.Sprint(s.port), "example.org", "A").Output(); err != nil {
		t.Fatalf("dig: %v", err)
	}
	body := get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	for _, m := range []string{
		fmt.Sprintf(`coredns_flatten_flattened_total{server="dns://127.0.0.1:%d",type="A"} 2`, s.port),
		fmt.Sprintf(`coredns_flatten_cache_hits_total{server="dns://127.0.0.1:%d"} 1`, s.port),
	} {
		if !strings.Contains(body, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

func get(tb testing.TB, url string) string {
	tb.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// lookPath finds a tool the tests need (see missing).
func lookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(tb, name+" is not installed (apt-get install the package .ci/run names)")
	}
	return p
}

// missing ends a test whose tool is absent: outside CI it skips the test; under CI it fails it,
// since .ci/run provides every tool.
func missing(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(why + ": .ci/run must provide it")
	}
	tb.Skip(why)
}
