package rules

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The corpus: zones in every shape the reader must take as BIND does (testdata/corpus). Each is
// read whole, its bad records reported with their lines, and checked.
func TestCorpus(t *testing.T) {
	t.Parallel()
	for file, want := range expectedFindings(t, "testdata/corpus/expected.txt") {
		t.Run(file, func(t *testing.T) {
			z, err := ParseZoneFile("testdata/corpus/"+file, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range Check(context.Background(), []Zone{z}, Config{Oracle: oracle}) {
				s := fmt.Sprintf("%s %s %s", f.Severity, f.Rule, f.Owner)
				if f.Rule == RuleUnparsable {
					if f.File != "testdata/corpus/"+file {
						t.Errorf("%s: in file %s", f.Located(), f.File)
					}
					s += " line " + strconv.Itoa(f.Line)
				}
				got = append(got, s)
			}
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}
