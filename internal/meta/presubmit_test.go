package meta

// The rules of CoreDNS's own test/presubmit_test.go (v1.15.0), held over this tree: no hyphen in a
// Go file's name; a test's messages (t.Errorf, t.Fatalf, t.Logf, ...) start in lower case, as
// CoreDNS's TestLowercaseLog means to check (its visitor never reports, so it cannot fail: this
// one does); imports in at most three blocks, standard library, then CoreDNS, then the rest. This
// module's own packages go with CoreDNS's: the plugin is part of that tree.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

const module = "github.com/dnsflatten/flatten"

// goFiles returns the Go files of the tree, from its root.
func goFiles(tb testing.TB) []string {
	tb.Helper()
	var files []string
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "../.." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if !d.IsDir() && filepath.Ext(path) == ".go" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) < 50 {
		tb.Fatalf("found only %d Go files from the tree's root", len(files))
	}
	return files
}

// The linters' configuration is CoreDNS's own, as its module has it.
func TestLinterConfig(t *testing.T) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "github.com/coredns/coredns@v1.15.0", ".golangci.yml"))
	if err != nil {
		t.Fatalf("CoreDNS's configuration (go mod download fetches it): %v", err)
	}
	ours, err := os.ReadFile("../../.golangci.yml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(ours), "\n")
	for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
		lines = lines[1:]
	}
	if strings.Join(lines, "") != string(theirs) {
		t.Error(".golangci.yml differs from CoreDNS v1.15.0's below its leading comment")
	}
}

func TestFileNames(t *testing.T) {
	for _, path := range goFiles(t) {
		if strings.Contains(filepath.Base(path), "-") {
			t.Errorf("%s: a hyphen in a Go file's name: use underscores", path)
		}
	}
}

// testMessages are the methods of testing.T and testing.B whose first argument is a message.
var testMessages = map[string]bool{"Error": true, "Errorf": true, "Fatal": true, "Fatalf": true, "Log": true, "Logf": true, "Skip": true, "Skipf": true}

func TestLowercaseMessages(t *testing.T) {
	for _, path := range goFiles(t) {
		if !strings.HasSuffix(path, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !testMessages[sel.Sel.Name] {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); !ok || (id.Name != "t" && id.Name != "b" && id.Name != "tb") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			text, err := strconv.Unquote(lit.Value)
			if err != nil || text == "" {
				return true
			}
			if r, _ := utf8.DecodeRuneInString(text); unicode.IsUpper(r) && !acronym(text) {
				t.Errorf("%s: test message %q starts in upper case", fset.Position(lit.Pos()), text)
			}
			return true
		})
	}
}

// acronym reports whether text starts with a name that keeps its case wherever it stands: a word
// with more than one capital (NODATA, AXFR, CoreDNS, README's), or a file name, flag, variable or
// Go expression (Corefile.example, GO_IMAGE=, In(...)).
func acronym(text string) bool {
	word, _, _ := strings.Cut(text, " ")
	if strings.ContainsAny(strings.TrimRight(word, ":,;."), ".(=_") {
		return true
	}
	capitals := 0
	for _, r := range word {
		if unicode.IsUpper(r) {
			capitals++
		}
	}
	return capitals > 1
}

// importClass is an import's block: the standard library, CoreDNS (with this module), the rest.
func importClass(path string) int {
	switch {
	case strings.Contains(path, "github.com/coredns") || strings.HasPrefix(path, module):
		return 1
	case strings.Contains(path, "."):
		return 2
	}
	return 0
}

func TestImportGrouping(t *testing.T) {
	names := [3]string{"the standard library", "CoreDNS and this module", "third parties"}
	for _, path := range goFiles(t) {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		var blocks [][]string
		last := 0
		for _, im := range f.Imports {
			line := fset.Position(im.Path.Pos()).Line
			if len(blocks) == 0 || line-last > 1 {
				blocks = append(blocks, nil)
			}
			p, _ := strconv.Unquote(im.Path.Value)
			blocks[len(blocks)-1] = append(blocks[len(blocks)-1], p)
			last = line
		}
		if len(blocks) > 3 {
			t.Errorf("%s: %d import blocks, at most 3 (%s)", path, len(blocks), strings.Join(names[:], ", "))
		}
		prev := -1
		for _, block := range blocks {
			class := importClass(block[0])
			for _, p := range block {
				if importClass(p) != class {
					t.Errorf("%s: import %s is not of %s, as the rest of its block", path, p, names[class])
				}
			}
			if class <= prev {
				t.Errorf("%s: the imports of %s come after those of %s: write them in the order %s", path, names[class], names[prev], strings.Join(names[:], ", "))
			}
			prev = class
		}
	}
}
