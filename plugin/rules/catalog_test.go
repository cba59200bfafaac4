package rules

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"strconv"
	"strings"
	"testing"
)

// Every rule a finding may name is in the catalog, once, described.
func TestCatalogHoldsEveryRule(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(gotoken.NewFileSet(), "finding.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && strings.HasPrefix(vs.Names[0].Name, "Rule") {
			id, _ := strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
			declared[id] = true
		}
		return true
	})
	seen := map[string]bool{}
	for _, r := range Catalog() {
		if !declared[r.ID] || seen[r.ID] {
			t.Errorf("catalog entry %q: not a rule, or listed twice", r.ID)
		}
		if r.Summary == "" || r.Why == "" || r.Fix == "" || r.RFC == "" {
			t.Errorf("%s: not described: %+v", r.ID, r)
		}
		seen[r.ID] = true
	}
	for id := range declared {
		if !seen[id] {
			t.Errorf("rule %s is not in the catalog", id)
		}
	}
	if len(declared) < 17 {
		t.Errorf("%d rules declared: the test reads finding.go wrong", len(declared))
	}
}
