package shrinking

import (
	"go/ast"
	"go/format"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

func TestCaseTextRoundTrip(t *testing.T) {
	nanPayload := fp.FP16.Decode(0xfd01) // negative signalling-payload NaN: bits must survive
	tests := []struct {
		c      Case
		reason string
	}{
		{Case{Format: fp.FP16, Rows: 1, Cols: 3, X: []float64{11.09375, math.Copysign(0, -1), nanPayload}},
			"−0 and a NaN payload survive through bit patterns"},
		{Case{Format: fp.BF16, Rows: 2, Cols: 2, X: []float64{math.Inf(-1), 1, 2, 3}, DY: []float64{0.5, -0.5, 0, 1},
			Targets: []int{1, -100}, Probs: []float64{0, 1, 0.5, 0.5}, Weights: []float64{1, 2},
			Params: map[string]string{"reduction": "mean", "odd key;=,%'": "a b"}},
			"every field, and params with separators, quotes and spaces"},
		{Case{Format: fp.E4M3, Rows: 1, Cols: 2, X: []float64{448, -fp.E4M3.MinSubnormal()}},
			"fp8 extremes"},
		{Case{Format: fp.FP64, Rows: 0, Cols: 0, X: []float64{}}, "empty case"},
	}
	for _, tc := range tests {
		s := tc.c.String()
		got, err := ParseCase(s)
		if err != nil {
			t.Errorf("%s: ParseCase(%q): %v", tc.reason, s, err)
			continue
		}
		if got.String() != s {
			t.Errorf("%s: round trip %q → %q", tc.reason, s, got.String())
		}
		for i, v := range tc.c.X {
			if tc.c.Format.Encode(got.X[i]) != tc.c.Format.Encode(v) {
				t.Errorf("%s: X[%d] bits %#x, want %#x", tc.reason, i, tc.c.Format.Encode(got.X[i]), tc.c.Format.Encode(v))
			}
		}
		if strings.ContainsAny(s, "' \n") {
			t.Errorf("%s: text %q holds a quote or space", tc.reason, s)
		}
	}
	for _, bad := range []string{"", "v2;fmt=fp16;shape=1x1;x=0", "v1;fmt=fp16;shape=1x1;x=10000",
		"v1;fmt=fp16;shape=1x2;x=0", "v1;shape=1x1;x=0", "v1;fmt=fp16;shape=1x1;x=0;t=1", "v1;fmt=fp16;shape=1x1;x=zz"} {
		if c, err := ParseCase(bad); err == nil {
			t.Errorf("ParseCase(%q) = %s, want an error", bad, c)
		}
	}
}

func TestReplayCommandQuoting(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	c := Case{Format: fp.FP16, Rows: 1, Cols: 1, X: []float64{11.09375}}
	cmd := ReplayCommand("it's.softmax", "no-nan", c)
	out, err := exec.Command(sh, "-c", "printf '%s\\n' "+strings.TrimPrefix(cmd, "go run ")).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "./cmd/fuzz\nreplay\n-kernel\nit's.softmax\n-property\nno-nan\n-case\nv1;fmt=fp16;shape=1x1;x=498c\n"
	if string(out) != want {
		t.Errorf("the shell splits %q into\n%s\nwant\n%s", cmd, out, want)
	}
}

// TestGoTestSnippet checks that the generated test is gofmt-formatted, parses inside a test
// file, and that its float literals denote exactly the case's values.
func TestGoTestSnippet(t *testing.T) {
	c := Case{Format: fp.FP16, Rows: 1, Cols: 4,
		X:       []float64{11.09375, math.Copysign(0, -1), math.Inf(-1), fp.FP16.MinSubnormal()},
		Targets: []int{2}, Params: map[string]string{"reduction": "sum", "ignore_index": "-100", "note": "x"}}
	src, err := GoTest("naive.softmax", "no-nan", "nan", c, GoTestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := format.Source([]byte(src))
	if err != nil || string(again) != src {
		t.Errorf("snippet is not gofmt-stable (err %v):\n%s", err, src)
	}
	file := snippetFile(src)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x_test.go", file, parser.ParseComments)
	if err != nil {
		t.Fatalf("snippet does not parse: %v\n%s", err, src)
	}
	var fn *ast.FuncDecl
	for _, d := range f.Decls {
		if d, ok := d.(*ast.FuncDecl); ok {
			fn = d
		}
	}
	if fn == nil || fn.Name.Name != "TestReplay_naive_softmax_nan" {
		t.Fatalf("no TestReplay_naive_softmax_nan in\n%s", src)
	}
	// Find the X composite literal and evaluate its elements.
	var xs []ast.Expr
	ast.Inspect(fn, func(n ast.Node) bool {
		if kv, ok := n.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "X" {
				xs = kv.Value.(*ast.CompositeLit).Elts
			}
		}
		return true
	})
	if len(xs) != len(c.X) {
		t.Fatalf("X literal has %d elements, want %d:\n%s", len(xs), len(c.X), src)
	}
	for i, e := range xs {
		var got float64
		switch e := e.(type) {
		case *ast.BasicLit:
			got, err = strconv.ParseFloat(e.Value, 64)
			if err != nil {
				t.Fatal(err)
			}
		case *ast.CallExpr:
			switch s := exprString(fset, e); s {
			case "math.Copysign(0, -1)":
				got = math.Copysign(0, -1)
			case "math.Inf(-1)":
				got = math.Inf(-1)
			default:
				t.Fatalf("unexpected call %s", s)
			}
		}
		if math.Float64bits(got) != math.Float64bits(c.X[i]) {
			t.Errorf("X[%d] literal denotes %v (%#x), want %v (%#x)", i, got, math.Float64bits(got), c.X[i], math.Float64bits(c.X[i]))
		}
	}
	for _, want := range []string{`kernels.Lookup("naive.softmax")`, "c := generators.Case{", "properties.Evaluate(context.Background(), k, c)",
		"Format: fp.FP16", "Targets: []int{2}", "generators.ReduceSum,", "IgnoreIndex:", "// Other parameters of the case: note=x",
		"x=498c,8000,fc00,1;t=2;k:ignore_index=-100;k:note=x;k:reduction=sum"} {
		if !strings.Contains(src, want) {
			t.Errorf("snippet lacks %q:\n%s", want, src)
		}
	}
}

func exprString(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	if err := format.Node(&b, fset, e); err != nil {
		return err.Error()
	}
	return b.String()
}

func snippetFile(src string) string {
	m := ""
	if strings.Contains(src, "math.") {
		m = "\"math\"\n"
	}
	return "package x_test\n\nimport (\n\"context\"\n" + m + "\"testing\"\n\n" +
		"\"github.com/ulpcheck/ulpcheck/fp\"\n\"github.com/ulpcheck/ulpcheck/generators\"\n" +
		"\"github.com/ulpcheck/ulpcheck/kernels\"\n\"github.com/ulpcheck/ulpcheck/properties\"\n)\n\n" + src
}

// TestGoTestTypeChecks type-checks generated tests against the real fp, generators, kernels and
// properties packages (from source), so that a change of their API breaks this test rather
// than the users' pasted code. It skips when those packages do not build.
func TestGoTestTypeChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks four packages from source; skipped in -short")
	}
	cases := []Case{
		{Format: fp.FP16, Rows: 1, Cols: 2, X: []float64{11.09375, math.Inf(-1)}},
		{Format: fp.FP32, Rows: 2, Cols: 2, X: []float64{1, 2, 3, math.NaN()}, Targets: []int{1, -100}, Weights: []float64{1, 0.5},
			Params: map[string]string{"ignore_index": "-100", "label_smoothing": "0.1", "reduction": "mean"}},
		{Format: fp.BF16, Rows: 1, Cols: 2, X: []float64{1, 2}, Probs: []float64{0.5, 0.5}, Params: map[string]string{"reduction": "none"}},
		{Format: fp.FP16, Rows: 1, Cols: 2, X: []float64{1, math.Copysign(0, -1)}, DY: []float64{1, -1}},
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "source", nil)
	for i, c := range cases {
		src, err := GoTest("softmax/naive/fp16", "accuracy", "precision loss", c, GoTestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, "x_test.go", snippetFile(src), 0)
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, src)
		}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check("x_test", fset, []*ast.File{f}, nil); err != nil {
			if strings.Contains(err.Error(), "could not import") {
				t.Skipf("the packages the snippet uses do not build now: %v", err)
			}
			t.Errorf("case %d: generated test does not type-check: %v\n%s", i, err, src)
		}
	}
}
