package properties_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ulpcheck/ulpcheck/kernels"
)

// TestFuzzTargetsCoverBundled keeps fuzz_test.go in step with kernels.Bundled(): it parses the
// file and fails when a bundled kernel has no Fuzz target, when a target names a kernel that is
// not bundled, when two targets fuzz the same kernel, or when a target is not the one-line form
// func FuzzX(f *testing.F) { fuzzKernel(f, "name") }.
func TestFuzzTargetsCoverBundled(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "fuzz_test.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	target := map[string]string{} // kernel name → Fuzz function
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || !strings.HasPrefix(fn.Name.Name, "Fuzz") {
			continue
		}
		name, ok := fuzzedKernel(fn)
		if !ok {
			t.Errorf("%s: %s is not of the form fuzzKernel(f, \"kernel name\")", fset.Position(fn.Pos()), fn.Name.Name)
			continue
		}
		if prev, dup := target[name]; dup {
			t.Errorf("%s and %s both fuzz %q", prev, fn.Name.Name, name)
		}
		target[name] = fn.Name.Name
	}
	var bundled []string
	for _, k := range kernels.Bundled() {
		bundled = append(bundled, k.Name)
		if _, ok := target[k.Name]; !ok {
			t.Errorf("bundled kernel %q has no Fuzz target in fuzz_test.go: add\n\tfunc FuzzX(f *testing.F) { fuzzKernel(f, %q) }", k.Name, k.Name)
		}
	}
	for name, fn := range target {
		if !slices.Contains(bundled, name) {
			t.Errorf("%s fuzzes %q, which is not a bundled kernel", fn, name)
		}
	}
	if len(target) == 0 {
		t.Fatal("no Fuzz targets found in fuzz_test.go")
	}
}

// fuzzedKernel returns the kernel name of a target whose body is fuzzKernel(f, "name").
func fuzzedKernel(fn *ast.FuncDecl) (string, bool) {
	if fn.Body == nil || len(fn.Body.List) != 1 {
		return "", false
	}
	es, ok := fn.Body.List[0].(*ast.ExprStmt)
	if !ok {
		return "", false
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok || len(call.Args) != 2 {
		return "", false
	}
	if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "fuzzKernel" {
		return "", false
	}
	lit, ok := call.Args[1].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
