package test

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// No Docker engine runs here. The Dockerfile is read instruction by instruction as Docker reads
// it, its build stage's steps are run as Docker runs them (sh, in the source folder, with the
// build arguments set), and the binary they build is checked as the image would carry it.

// instruction is one Dockerfile instruction: its keyword, upper-case, and its arguments, with
// continuation lines joined.
type instruction struct {
	cmd, args string
}

// stage is one build stage: its FROM line's arguments and its instructions.
type stage struct {
	from string
	ins  []instruction
}

// parseDockerfile reads a Dockerfile as Docker does: comments and blank lines dropped, a backslash
// at the end of a line joining it to the next, instructions grouped by FROM. Instructions before
// the first FROM (global ARGs) make up stage 0, whose from is "".
func parseDockerfile(tb testing.TB) []stage {
	tb.Helper()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		tb.Fatal(err)
	}
	stages := []stage{{}}
	var cur strings.Builder
	for line := range strings.SplitSeq(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		joined, more := strings.CutSuffix(line, "\\")
		cur.WriteString(joined)
		if more {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		cur.Reset()
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, stage{from: in.args})
			continue
		}
		last := &stages[len(stages)-1]
		last.ins = append(last.ins, in)
	}
	return stages
}

// find returns the arguments of a stage's instructions with keyword cmd.
func (s stage) find(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// argDefaults returns the default values of the ARG instructions of a stage.
func (s stage) argDefaults() map[string]string {
	out := map[string]string{}
	for _, a := range s.find("ARG") {
		for f := range strings.FieldsSeq(a) {
			if k, v, ok := strings.Cut(f, "="); ok {
				out[k] = v
			}
		}
	}
	return out
}

// The image recipe: a build stage on the pinned Go image with the toolchain of .ci/run, and a
// final distroless stage, pinned by digest, that carries only the binary and runs it as the
// numeric non-root user, with OCI labels naming the version, commit and base.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) != 3 || stages[1].from != "--platform=$BUILDPLATFORM ${GO_IMAGE} AS build" || stages[2].from != "${BASE_NAME}@${BASE_DIGEST}" {
		t.Fatalf("stages FROM %q: want a build stage FROM ${GO_IMAGE} AS build and a final stage FROM ${BASE_NAME}@${BASE_DIGEST}", []string{stages[1].from, stages[len(stages)-1].from})
	}
	global, build, final := stages[0].argDefaults(), stages[1], stages[2]
	digest := regexp.MustCompile(`^(.+@)?sha256:[0-9a-f]{64}$`)
	if !regexp.MustCompile(`^golang:[0-9.]+-bookworm@`).MatchString(global["GO_IMAGE"]) || !digest.MatchString(global["GO_IMAGE"]) {
		t.Errorf("GO_IMAGE=%q: want golang:VERSION-bookworm pinned by digest", global["GO_IMAGE"])
	}
	if global["BASE_NAME"] != "gcr.io/distroless/static-debian12:nonroot" || !digest.MatchString(global["BASE_DIGEST"]) {
		t.Errorf("BASE_NAME=%q BASE_DIGEST=%q: want distroless static, nonroot, pinned by digest", global["BASE_NAME"], global["BASE_DIGEST"])
	}

	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	toolchain := regexp.MustCompile(`(?m)^export GOTOOLCHAIN=(go\S+)$`).FindSubmatch(ci)
	if toolchain == nil || !contains(build.find("ENV"), "GOTOOLCHAIN="+string(toolchain[1])) {
		t.Errorf("the build stage's ENV %q does not set the toolchain of .ci/run (%s)", build.find("ENV"), toolchain)
	}

	// The final stage: the binary alone, as 65532 (distroless's nonroot, by number so that
	// runAsNonRoot can verify it), started directly (exec form, no shell in distroless).
	if got := final.find("COPY"); len(got) != 1 || got[0] != "--from=build /coredns /coredns" {
		t.Errorf("final stage COPY %q: want the binary alone, --from=build /coredns /coredns", got)
	}
	if got := final.find("USER"); len(got) != 1 || got[0] != "65532:65532" {
		t.Errorf("final stage USER %q: want 65532:65532", got)
	}
	var entry []string
	if got := final.find("ENTRYPOINT"); len(got) != 1 || json.Unmarshal([]byte(got[0]), &entry) != nil || len(entry) != 1 || entry[0] != "/coredns" {
		t.Errorf("final stage ENTRYPOINT %q: want the exec form [\"/coredns\"]", got)
	}
	if got := final.find("RUN"); len(got) != 0 {
		t.Errorf("final stage RUN %q: distroless has no shell", got)
	}
	labels := map[string]string{}
	for _, l := range final.find("LABEL") {
		for _, kv := range regexp.MustCompile(`(\S+)="([^"]*)"`).FindAllStringSubmatch(l, -1) {
			labels[kv[1]] = kv[2]
		}
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":     "$VERSION",
		"org.opencontainers.image.revision":    "$GIT_COMMIT",
		"org.opencontainers.image.base.name":   "$BASE_NAME",
		"org.opencontainers.image.base.digest": "$BASE_DIGEST",
	} {
		if labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, labels[k], v)
		}
	}
	if labels["org.opencontainers.image.source"] == "" {
		t.Error("no org.opencontainers.image.source label")
	}

	// The build context must hold what the build needs.
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(ignore), "\n") {
		if p := strings.Trim(strings.TrimSpace(line), "/"); p == "go.mod" || p == "go.sum" || p == "cmd" || p == "*.go" {
			t.Errorf(".dockerignore leaves %s out of the build", p)
		}
	}
}

func contains(list []string, s string) bool {
	return slices.Contains(list, s)
}

// buildStep returns the build stage's RUN step that starts with prefix, as sh would run it.
func buildStep(tb testing.TB, prefix string) string {
	tb.Helper()
	for _, run := range parseDockerfile(tb)[1].find("RUN") {
		if strings.HasPrefix(run, prefix) {
			return run
		}
	}
	tb.Fatalf("the build stage has no RUN step starting %q", prefix)
	return ""
}

// The Dockerfile's check of its build arguments, run as the build runs it (sh, in the source
// folder): it refuses a build without a commit, or with a VERSION that names another CoreDNS than
// go.mod's, and takes COREDNS-flatten.N.
func TestDockerfileBuildArgs(t *testing.T) {
	script := buildStep(t, "coredns=$(go list -m")
	coredns := strings.TrimPrefix(goModVersion(t, "github.com/coredns/coredns"), "v")
	for _, c := range []struct {
		version, commit string
		ok              bool
	}{
		{version: coredns + "-flatten.1", commit: "0123abc", ok: true},
		{version: coredns + "-flatten.12", commit: "0123abc", ok: true},
		{version: coredns + "-flatten.1", commit: ""},
		{version: "", commit: "0123abc"},
		{version: "v0.1.0", commit: "0123abc"},
		{version: coredns, commit: "0123abc"},
		{version: coredns + "-flatten.", commit: "0123abc"},
		{version: coredns + "-flatten.1a", commit: "0123abc"},
		{version: "1.14.6-flatten.1", commit: "0123abc"},
	} {
		cmd := exec.Command("sh", "-ec", script)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "VERSION="+c.version, "GIT_COMMIT="+c.commit)
		out, err := cmd.CombinedOutput()
		if (err == nil) != c.ok {
			t.Errorf("VERSION=%q GIT_COMMIT=%q: %v (want ok %v)\n%s", c.version, c.commit, err, c.ok, out)
		}
	}
}

// The build stage's compile step, run as the build runs it (its output path moved into a
// temporary folder): the binary is static (distroless has no C library), may bind port 53 without
// root, reports the commit it was built from, lists flatten, and answers a question.
func TestDockerfileBuild(t *testing.T) {
	script := buildStep(t, "CGO_ENABLED=0")
	if _, err := exec.LookPath("setcap"); err != nil {
		missing(t, "setcap is not installed (apt-get install libcap2-bin)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "coredns")
	script = strings.ReplaceAll(script, " /coredns", " "+bin)
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH, "GIT_COMMIT=0123abc")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the build step failed: %v\n%s", err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%s): it cannot run on distroless static", p.Type)
		}
	}
	f.Close()
	if out, err := exec.Command("getcap", bin).CombinedOutput(); err != nil || !strings.Contains(string(out), "cap_net_bind_service=ep") {
		t.Errorf("getcap: %s %v; want cap_net_bind_service=ep", out, err)
	}
	if out, err := exec.Command(bin, "-version").CombinedOutput(); err != nil || !strings.Contains(string(out), "0123abc") {
		t.Errorf("coredns -version: %s %v; want the commit 0123abc", out, err)
	}
	if out, err := exec.Command(bin, "-plugins").CombinedOutput(); err != nil || !strings.Contains("\n"+string(out), "\nflatten\n") {
		t.Errorf("coredns -plugins does not list flatten: %s %v", out, err)
	}

	port := freePort(t)
	conf := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(conf, []byte(expand(t, fmt.Sprintf(twoZones, "flatten"), port)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := runServer(t, "", port, bin, "-conf", conf)
	s.waitReady(t)
	check(t, s.query(t, "udp", "example.org.", dns.TypeA),
		test.Case{Qname: "example.org.", Qtype: dns.TypeA, Answer: wwwA("example.org.", 300)}, "")
}
