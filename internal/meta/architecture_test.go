package meta

// docs/ARCHITECTURE.md against the code: what it names exists where it says, every root file and
// package under plugin/ is named, and the packages import only what its table allows.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const doc = "../../docs/ARCHITECTURE.md"

// symbols are the declarations of one package: top-level names, and the methods and fields of its
// types (as Type.Name), with the files (relative to the tree's root) each is declared in (more
// than one for a name declared per platform).
type symbols map[string][]string

// declarations reads the non-test Go files of dir (relative to the tree's root).
func declarations(tb testing.TB, dir string) symbols {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("../..", dir, "*.go"))
	if err != nil {
		tb.Fatal(err)
	}
	syms := symbols{}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		rel := strings.TrimPrefix(filepath.ToSlash(path), "../../")
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				name := d.Name.Name
				if d.Recv != nil {
					name = receiver(d.Recv.List[0].Type) + "." + name
				}
				syms[name] = append(syms[name], rel)
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						syms[s.Name.Name] = append(syms[s.Name.Name], rel)
						if st, ok := s.Type.(*ast.StructType); ok {
							for _, field := range st.Fields.List {
								for _, n := range field.Names {
									syms[s.Name.Name+"."+n.Name] = append(syms[s.Name.Name+"."+n.Name], rel)
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							syms[n.Name] = append(syms[n.Name], rel)
						}
					}
				}
			}
		}
	}
	return syms
}

// receiver is the name of a method's receiver type.
func receiver(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiver(e.X)
	case *ast.IndexExpr:
		return receiver(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// tree is the code the document speaks of: the root package and those under plugin/.
type tree struct {
	pkgs map[string]symbols // by directory: "." and "plugin/NAME"
}

func readTree(tb testing.TB) tree {
	tb.Helper()
	t := tree{pkgs: map[string]symbols{".": declarations(tb, ".")}}
	dirs, err := filepath.Glob("../../plugin/*")
	if err != nil {
		tb.Fatal(err)
	}
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			rel := strings.TrimPrefix(filepath.ToSlash(d), "../../")
			t.pkgs[rel] = declarations(tb, rel)
		}
	}
	if len(t.pkgs) < 5 || len(t.pkgs["."]) == 0 {
		tb.Fatalf("read only %d packages", len(t.pkgs))
	}
	return t
}

// find returns the files that declare name: "pkg.Name" in the package of that name, "Type.Name"
// or "Name" (a top-level name, or a method or field of any type) in any package.
func (t tree) find(name string) []string {
	if pkg, rest, ok := strings.Cut(name, "."); ok {
		if syms, ok := t.pkgs["plugin/"+pkg]; ok {
			if f, ok := syms[rest]; ok {
				return f
			}
		}
	}
	var files []string
	for _, syms := range t.pkgs {
		files = append(files, syms[name]...)
		if !strings.Contains(name, ".") {
			for n, f := range syms {
				if strings.HasSuffix(n, "."+name) {
					files = append(files, f...)
				}
			}
		}
	}
	return files
}

// ours reports whether the name's qualifier, if any, is one of the tree's types or packages, so
// that the name must be found in it; plugin.NextOrFailure or transfer.Transferer are CoreDNS's.
func (t tree) ours(name string) bool {
	pkg, _, ok := strings.Cut(name, ".")
	if !ok {
		return true
	}
	if _, ok := t.pkgs["plugin/"+pkg]; ok {
		return true
	}
	return len(t.find(pkg)) > 0
}

var (
	// named is `Name` (FILE) or `Name`, FILE): a name with the file that declares it.
	named = regexp.MustCompile("`([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)?)`(?:,| \\()\\s*((?:plugin/[a-z]+/)?[a-z_]+\\.go)")
	// code is any `Name`, `Type.Name` or `pkg.Name`.
	code = regexp.MustCompile("`([A-Za-z_][A-Za-z0-9_]*\\.[A-Za-z_][A-Za-z0-9_]*|[A-Z][A-Za-z0-9_]*)`")
	// goFile is a Go file's path, at the tree's root or in a package under plugin/.
	goFile = regexp.MustCompile(`(?:^|[\s(|,` + "`" + `])((?:plugin/[a-z]+/)?[a-z_]+\.go)\b`)
	// pkgDir is a package under plugin/ (not CoreDNS's plugin/pkg/...).
	pkgDir = regexp.MustCompile(`(?:^|[\s(|,` + "`" + `])(plugin/[a-z]+)(?:[^/a-z]|$)`)
)

func readDoc(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(doc)
	if err != nil {
		tb.Fatal(err)
	}
	// A name and its file may be on two lines of a paragraph.
	return regexp.MustCompile(`\n[ \t]+`).ReplaceAllString(string(b), " ")
}

// Every name the document gives a file for is declared in that file, and every name it writes as
// code that the tree could declare is declared.
func TestArchitectureNames(t *testing.T) {
	tr, text := readTree(t), readDoc(t)
	checked := 0
	for _, m := range named.FindAllStringSubmatch(text, -1) {
		name, file := m[1], m[2]
		if !tr.ours(name) {
			continue
		}
		checked++
		if files := tr.find(name); !slices.Contains(files, file) {
			t.Errorf("ARCHITECTURE.md names %s in %s; the code declares it in %v", name, file, files)
		}
	}
	if checked < 40 {
		t.Errorf("only %d names with their files in ARCHITECTURE.md: the walkthroughs are not read", checked)
	}
	for _, m := range code.FindAllStringSubmatch(text, -1) {
		if name := m[1]; !strings.HasSuffix(name, ".go") && tr.ours(name) && len(tr.find(name)) == 0 {
			t.Errorf("ARCHITECTURE.md names %s, which the code does not declare", name)
		}
	}
}

// The document names every root file and every package under plugin/, and only those that exist.
func TestArchitectureFiles(t *testing.T) {
	tr, text := readTree(t), readDoc(t)
	for _, m := range goFile.FindAllStringSubmatch(text, -1) {
		if _, err := os.Stat(filepath.Join("../..", m[1])); err != nil {
			t.Errorf("ARCHITECTURE.md names %s, which does not exist", m[1])
		}
	}
	for _, m := range pkgDir.FindAllStringSubmatch(text, -1) {
		if d := m[1]; tr.pkgs[d] == nil {
			t.Errorf("ARCHITECTURE.md names the package %s, which does not exist", d)
		}
	}
	roots, err := filepath.Glob("../../*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range roots {
		if name := filepath.Base(f); !strings.HasSuffix(name, "_test.go") && !regexp.MustCompile(`\b`+regexp.QuoteMeta(name)+`\b`).MatchString(text) {
			t.Errorf("root file %s is not named in ARCHITECTURE.md", name)
		}
	}
	for dir := range tr.pkgs {
		if dir != "." && !strings.Contains(text, "`"+dir+"`") {
			t.Errorf("package %s is not in ARCHITECTURE.md's table", dir)
		}
	}
}

// allowed reads the package table: each package under plugin/ and the packages of ours it may
// import.
func allowed(tb testing.TB) map[string][]string {
	tb.Helper()
	row := regexp.MustCompile("(?m)^\\| `(plugin/[a-z]+)` \\|.*\\| ([a-z, ]+) \\|$")
	out := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(readDoc(tb), -1) {
		out[m[1]] = nil
		if m[2] != "none" {
			for p := range strings.SplitSeq(m[2], ",") {
				out[m[1]] = append(out[m[1]], "plugin/"+strings.TrimSpace(p))
			}
		}
	}
	if len(out) < 5 {
		tb.Fatalf("read only %v from the package table", out)
	}
	return out
}

// Imports go one way: each package under plugin/ depends (through any path, as go list -deps
// shows) only on the packages the table allows it and theirs, never on the root package; and none
// imports caddy itself.
func TestArchitectureImports(t *testing.T) {
	may := allowed(t)
	closure := func(pkg string) map[string]bool {
		seen := map[string]bool{}
		var visit func(string)
		visit = func(p string) {
			for _, q := range may[p] {
				if !seen[q] {
					seen[q] = true
					visit(q)
				}
			}
		}
		visit(pkg)
		return seen
	}
	for pkg := range may {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+"/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		ok := closure(pkg)
		for dep := range strings.FieldsSeq(string(out)) {
			rel, ours := strings.CutPrefix(dep, module)
			if !ours || dep == module+"/"+pkg || strings.HasPrefix(rel, "/internal/") {
				continue
			}
			if rel == "" {
				t.Errorf("%s depends on the root package", pkg)
			} else if !ok[strings.TrimPrefix(rel, "/")] {
				t.Errorf("%s depends on %s, which the table does not allow it (allowed: %v)", pkg, rel[1:], may[pkg])
			}
		}
		direct, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+"/"+pkg).Output()
		if err != nil {
			t.Fatal(err)
		}
		for imp := range strings.FieldsSeq(string(direct)) {
			if strings.HasPrefix(imp, "github.com/coredns/caddy") {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
	for dir := range readTree(t).pkgs {
		if _, ok := may[dir]; dir != "." && !ok {
			t.Errorf("%s has no row in the package table", dir)
		}
	}
}
