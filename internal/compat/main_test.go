package main

import (
	"strings"
	"testing"
)

// The comparison covers every test either run finished: a test that passes without flatten and
// fails with it is a regression unless a rerun finds it flaky, and a test that never finished
// without flatten is said and fails the gate instead of being left out.
func TestCompare(t *testing.T) {
	tests := []struct {
		name          string
		all           []string
		without, with map[string]string
		flaky         bool
		code          int
		says          string
	}{
		{name: "same", without: map[string]string{"TestA": "pass", "TestB": "fail"}, with: map[string]string{"TestA": "pass", "TestB": "fail"},
			code: 0, says: "without flatten: 1 passed, 1 failed, 0 skipped\n  failed without flatten (CoreDNS's own: not compared): TestB\nwith flatten: every test"},
		{name: "regression", without: map[string]string{"TestA": "pass"}, with: map[string]string{"TestA": "fail"},
			code: 1, says: "REGRESSION: TestA passes without flatten and fail with it (failed again)\n"},
		{name: "flaky", without: map[string]string{"TestA": "pass"}, with: map[string]string{"TestA": "fail"}, flaky: true,
			code: 0, says: "not counted: TestA fail with flatten once, and is failed again\n"},
		{name: "did not run with", without: map[string]string{"TestA": "pass"}, with: map[string]string{},
			code: 1, says: "REGRESSION: TestA passes without flatten and did not run with it"},
		{name: "did not finish without", without: map[string]string{"TestA": "pass"}, with: map[string]string{"TestA": "pass", "TestB/x": "pass"},
			code: 1, says: "NOT COMPARED: TestB/x did not finish without flatten (with flatten: pass)\n"},
		{name: "finished in neither run", all: []string{"TestA", "TestC"}, without: map[string]string{"TestA": "pass"}, with: map[string]string{"TestA": "pass"},
			code: 1, says: "NOT COMPARED: TestC did not finish without flatten (with flatten: did not finish either)\n"},
		{name: "flaky, unfinished", all: []string{"TestA", "TestViewServerBlockOrdering"}, without: map[string]string{"TestA": "pass"}, with: map[string]string{"TestA": "pass"},
			code: 0, says: "not counted: TestViewServerBlockOrdering did not finish without flatten"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			code := compare(&out, tc.all, tc.without, tc.with, func(string) (string, bool) { return "failed again", tc.flaky })
			if code != tc.code || !strings.Contains(out.String(), tc.says) {
				t.Errorf("exit %d, printed:\n%s\nwant exit %d and %q", code, out.String(), tc.code, tc.says)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	got := missing(map[string]string{"TestA": "pass"}, map[string]string{"TestA": "pass", "TestB/one": "pass", "TestB/two": "fail", "TestC.x": "pass"}, []string{"TestA", "TestD"})
	if strings.Join(got, " ") != `TestB TestC\.x TestD` {
		t.Errorf("missing: %q", got)
	}
}
