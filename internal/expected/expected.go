// Package expected reads plugin/rules/testdata/expected-findings.txt, the findings every test zone
// must produce, for the rules test, the linter's and the audit's end-to-end tests alike.
package expected

import (
	"os"
	"strings"
)

// Findings reads an expected-findings file: per test zone file, its findings as "severity rule
// owner", in order. A line "FILE:" with nothing after it marks a clean zone (a nil slice); lines
// starting with # are comments.
func Findings(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	want := map[string][]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if file, finding, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			if finding = strings.TrimSpace(finding); finding != "" {
				want[file] = append(want[file], finding)
			} else {
				want[file] = nil
			}
		}
	}
	return want, nil
}
