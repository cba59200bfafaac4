package main

import (
	"os"
	"regexp"
	"testing"

	"sigs.k8s.io/yaml"
)

// The repository's .pre-commit-hooks.yaml makes `repo: <this repository>` work: one hook,
// cnamelint, that pre-commit builds with Go (go install ./... puts cnamelint on its PATH), run
// once with every file (so that zones are checked together), on the files zone repositories name
// their zones by.
func TestPreCommitHook(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID, Name, Description, Entry, Language, Files string
		Args                                          []string
		RequireSerial                                 bool `json:"require_serial"`
	}
	if err := yaml.UnmarshalStrict(b, &hooks, yaml.DisallowUnknownFields); err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 {
		t.Fatalf("%d hooks, want cnamelint's", len(hooks))
	}
	h := hooks[0]
	if h.ID != "cnamelint" || h.Entry != "cnamelint" || h.Language != "golang" || !h.RequireSerial {
		t.Errorf("hook %+v", h)
	}
	if _, err := parseOptions(append(h.Args, "zone"), nil); err != nil {
		t.Errorf("args %v: %v", h.Args, err)
	}
	files := regexp.MustCompile(h.Files)
	for name, match := range map[string]bool{
		"zones/db.example.org": true, "db.example.org.signed": true, "example.org.zone": true, "dns/example.org.db": true,
		"README.md": false, "zones/notes.txt": false, "go.mod": false, "db/schema.sql": false,
	} {
		if files.MatchString(name) != match {
			t.Errorf("files %q matches %s: %v, want %v", h.Files, name, !match, match)
		}
	}
}
