package main

import (
	"strings"
	"testing"
)

// -probe-ns needs -resolver: the name servers' addresses come from it.
func TestProbeNeedsResolver(t *testing.T) {
	t.Parallel()
	if _, stderr, code := runLint("-probe-ns", testdata+"siblings.example.org"); code != 2 || !strings.Contains(stderr, "-probe-ns needs -resolver") {
		t.Errorf("-probe-ns alone: exit %d, %s", code, stderr)
	}
}
