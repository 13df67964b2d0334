// This file implements the outputs of a shrink: a replay command line and a Go test.

package shrinking

import (
	"fmt"
	"go/format"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/ulpcheck/ulpcheck/fp"
)

// ReplayCommand returns a shell command line that replays c against the named kernel and
// property with the campaign runner:
//
//	go run ./cmd/fuzz replay -kernel 'naive.softmax' -property 'no-nan' -case 'v1;fmt=fp16;shape=1x1;x=498c'
//
// Every argument is single-quoted for POSIX shells.
func ReplayCommand(kernel, property string, c Case) string {
	return "go run ./cmd/fuzz replay -kernel " + shellQuote(kernel) + " -property " +
		shellQuote(property) + " -case " + shellQuote(c.String())
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// GoTestOptions name the pieces of the generated test. The zero value gives the defaults, which
// are ulpcheck's own API.
type GoTestOptions struct {
	FuncName     string // the test function's name; default TestReplay_<kernel>_<class>, sanitised
	LookupFunc   string // called as k, ok := LookupFunc(kernel); default "kernels.Lookup"
	CaseType     string // the case literal's type; default "generators.Case"
	EvaluateFunc string // called as v := EvaluateFunc(context.Background(), k, c); default "properties.Evaluate"
}

// The Params keys that GoTest maps to the fields of generators.CEOptions; other keys are written
// as a comment.
const (
	ParamIgnoreIndex    = "ignore_index"    // an integer, PyTorch's default −100
	ParamLabelSmoothing = "label_smoothing" // a float in [0, 1]
	ParamReduction      = "reduction"       // "mean", "sum" or "none"
)

// GoTest returns the source of a Go test function that reproduces c against the kernel: it
// looks the kernel up by name, writes the case as exact literals (Go hex floats, with the
// decimal value and the format's bit pattern in a comment), evaluates every property of the
// kernel on it and fails with the verdict's report while the kernel still fails. The text is
// formatted by go/format and has no package clause or imports: it needs "context", "testing",
// and ulpcheck's fp, generators, kernels and properties packages, plus "math" when c holds NaN,
// ±Inf or −0. Weights, Targets, Probs and the Params ParamIgnoreIndex, ParamLabelSmoothing and
// ParamReduction go into the case's CE options.
func GoTest(kernel, property, class string, c Case, opt GoTestOptions) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	if opt.FuncName == "" {
		opt.FuncName = "TestReplay_" + ident(kernel) + "_" + ident(class)
	}
	if opt.LookupFunc == "" {
		opt.LookupFunc = "kernels.Lookup"
	}
	if opt.CaseType == "" {
		opt.CaseType = "generators.Case"
	}
	if opt.EvaluateFunc == "" {
		opt.EvaluateFunc = "properties.Evaluate"
	}
	pkg := "generators."
	if i := strings.LastIndex(opt.CaseType, "."); i >= 0 {
		pkg = opt.CaseType[:i+1]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// %s reproduces a minimal counterexample (class %s, property %s) of the kernel %s.\n",
		opt.FuncName, class, strconv.Quote(property), kernel)
	fmt.Fprintf(&b, "// Replay: %s\n", ReplayCommand(kernel, property, c))
	fmt.Fprintf(&b, "func %s(t *testing.T) {\n", opt.FuncName)
	fmt.Fprintf(&b, "k, ok := %s(%s)\nif !ok {\nt.Fatalf(\"no kernel %%q\", %s)\n}\n", opt.LookupFunc,
		strconv.Quote(kernel), strconv.Quote(kernel))
	fmt.Fprintf(&b, "c := %s{\n", opt.CaseType)
	fmt.Fprintf(&b, "Format: fp.%s,\nRows: %d,\nCols: %d,\n", formatIdent(c.Format), c.Rows, c.Cols)
	floats := func(name string, s []float64) {
		if s == nil {
			return
		}
		fmt.Fprintf(&b, "%s: []float64{\n", name)
		for _, v := range s {
			lit, comment := floatLiteral(c.Format, v)
			fmt.Fprintf(&b, "%s, // %s\n", lit, comment)
		}
		b.WriteString("},\n")
	}
	floats("X", c.X)
	floats("DY", c.DY)
	if c.Targets != nil {
		b.WriteString("Targets: []int{")
		for i, t := range c.Targets {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Itoa(t))
		}
		b.WriteString("},\n")
	}
	floats("Probs", c.Probs)
	var other []string
	keys := slices.Sorted(maps.Keys(c.Params))
	ce := c.Weights != nil
	for _, k := range keys {
		switch k {
		case ParamIgnoreIndex, ParamLabelSmoothing, ParamReduction:
			ce = true
		default:
			other = append(other, k+"="+c.Params[k])
		}
	}
	if ce {
		fmt.Fprintf(&b, "CE: %sCEOptions{\n", pkg)
		floats("Weights", c.Weights)
		if v, ok := c.Params[ParamIgnoreIndex]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", fmt.Errorf("shrinking: param %s = %q is not an integer", ParamIgnoreIndex, v)
			}
			fmt.Fprintf(&b, "IgnoreIndex: %d,\n", n)
		}
		if v, ok := c.Params[ParamLabelSmoothing]; ok {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return "", fmt.Errorf("shrinking: param %s = %q is not a finite float", ParamLabelSmoothing, v)
			}
			fmt.Fprintf(&b, "LabelSmoothing: %s,\n", strconv.FormatFloat(x, 'g', -1, 64))
		}
		if v, ok := c.Params[ParamReduction]; ok {
			r, ok := map[string]string{"mean": "ReduceMean", "sum": "ReduceSum", "none": "ReduceNone"}[v]
			if !ok {
				return "", fmt.Errorf("shrinking: param %s = %q is not mean, sum or none", ParamReduction, v)
			}
			fmt.Fprintf(&b, "Reduction: %s%s,\n", pkg, r)
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	if len(other) > 0 {
		fmt.Fprintf(&b, "// Other parameters of the case: %s\n", strings.Join(other, ", "))
	}
	fmt.Fprintf(&b, "if v := %s(context.Background(), k, c); !v.OK() {\nt.Fatal(v.Report())\n}\n}\n", opt.EvaluateFunc)
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		return "", fmt.Errorf("shrinking: generated test does not format: %v", err)
	}
	return string(src), nil
}

// floatLiteral returns an exact Go expression for v and a comment with its decimal value and
// its bit pattern in f.
func floatLiteral(f fp.Format, v float64) (lit, comment string) {
	bits := fmt.Sprintf("%s 0x%0*x", f, (f.Width()+3)/4, f.Encode(v))
	switch {
	case math.IsNaN(v):
		return "math.NaN()", "NaN, " + bits + " (payload not reproduced by math.NaN)"
	case math.IsInf(v, 1):
		return "math.Inf(1)", "+Inf, " + bits
	case math.IsInf(v, -1):
		return "math.Inf(-1)", "-Inf, " + bits
	case v == 0 && math.Signbit(v):
		return "math.Copysign(0, -1)", "-0, " + bits
	case v == 0:
		return "0", "0, " + bits
	}
	return strconv.FormatFloat(v, 'x', -1, 64), strconv.FormatFloat(v, 'g', -1, 64) + ", " + bits
}

func formatIdent(f fp.Format) string {
	return strings.ToUpper(f.String())
}

// ident turns s into a Go identifier fragment: letters and digits kept, anything else '_'.
func ident(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "case"
	}
	return b.String()
}
