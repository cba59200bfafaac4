package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const sarifSchemaFile = "testdata/sarif/sarif-schema-2.1.0.json"

// sarifValidator compiles the official SARIF 2.1.0 schema, checked to be the unmodified copy.
func sarifValidator(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	b, err := os.ReadFile(sarifSchemaFile)
	if err != nil {
		tb.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e" {
		tb.Fatal("the SARIF schema is not the copy NOTICE names")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		tb.Fatal(err)
	}
	sch, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		tb.Fatal(err)
	}
	return sch
}

func validSARIF(tb testing.TB, sch *jsonschema.Schema, out string) map[string]any {
	tb.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		tb.Fatalf("not JSON: %v\n%s", err, out)
	}
	if err := sch.Validate(inst); err != nil {
		tb.Errorf("not valid SARIF 2.1.0: %v", err)
	}
	var log map[string]any
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		tb.Fatal(err)
	}
	return log
}

// -format sarif writes a log the official schema accepts, in every case: findings with their
// lines, a name not checked, an input not read, a usage error; and the schema does reject a log
// that breaks it, so that the test can fail.
func TestSARIFPassesTheSchema(t *testing.T) {
	t.Parallel()
	sch := sarifValidator(t)
	dir := t.TempDir()
	spaced := filepath.Join(dir, "a zone:with colon")
	writeZone(t, spaced, "$ORIGIN example.com.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\nloop CNAME loop\n")
	down := testServer(t, func(r *dns.Msg, _ bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name != "." {
			m.Rcode = dns.RcodeServerFailure
		}
		return m
	})
	for _, args := range [][]string{
		{testdata + "corpus/include/db.example.org:example.org", testdata + "loop.example.org"},
		{"-resolver", down, testdata + "dangling.example.org"},
		{testdata + "siblings.example.org", filepath.Join(dir, "missing"), spaced},
		{"-max-chain", "0", testdata + "loop.example.org"},
	} {
		stdout, _, code := runLint(append([]string{"-format", "sarif"}, args...)...)
		log := validSARIF(t, sch, stdout)
		run := log["runs"].([]any)[0].(map[string]any)
		inv := run["invocations"].([]any)[0].(map[string]any)
		if int(inv["exitCode"].(float64)) != code {
			t.Errorf("%v: the log says exit %v, the command exits %d", args, inv["exitCode"], code)
		}
	}

	stdout, _, _ := runLint("-format", "sarif", testdata+"corpus/include/db.example.org:example.org")
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID, HelpURI string }
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
				Properties map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	got := make([]string, 0, len(run.Results))
	for _, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		got = append(got, r.RuleID+" "+r.Level+" "+loc.ArtifactLocation.URI+":"+strconv.Itoa(loc.Region.StartLine)+" "+run.Tool.Driver.Rules[r.RuleIndex].ID+" fix="+r.Properties["fix"])
	}
	want := []string{
		"dangling-cname warning ../../plugin/rules/testdata/corpus/include/db.example.org:8 dangling-cname fix=remove the CNAME, or create api.example.org.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	// The schema rejects what breaks it: a level SARIF does not have.
	broken := strings.Replace(stdout, `"level": "warning"`, `"level": "critical"`, 1)
	inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(broken))
	if broken == stdout || sch.Validate(inst) == nil {
		t.Error("the schema accepts a result with level critical")
	}
}
