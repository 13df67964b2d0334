package oracle

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// goldenCase is one line of testdata/golden/*.jsonl.gz: inputs and the correctly rounded outputs
// computed independently with Python's mpmath (see testdata/golden/README.md). Numbers are
// float64 hex strings ("0x1.8p+3", "-0x0p+0") or "inf", "-inf", "nan".
type goldenCase struct {
	Op             string     `json:"op"`
	Format         string     `json:"format"`
	Class          string     `json:"class"`
	Rows           int        `json:"rows"`
	Cols           int        `json:"cols"`
	X              []string   `json:"x"`
	Y              []string   `json:"y"`
	DY             []string   `json:"dy"`
	Probs          []string   `json:"probs"`
	Weights        []string   `json:"weights"`
	Targets        []int      `json:"targets"`
	IgnoreIndex    *int       `json:"ignore_index"`
	LabelSmoothing string     `json:"label_smoothing"`
	Reduction      string     `json:"reduction"`
	Policy         string     `json:"policy"`
	Tensors        [][]string `json:"tensors"`
	P              string     `json:"p"`
	MaxNorm        string     `json:"max_norm"`
	Clip           string     `json:"clip"`
	Want           []string   `json:"want"`
}

func parseFloats(s []string) ([]float64, error) {
	if s == nil {
		return nil, nil
	}
	out := make([]float64, len(s))
	for i, v := range s {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// run computes the case with the oracle.
func (c *goldenCase) run() ([]Value, error) {
	f, err := fp.ParseFormat(c.Format)
	if err != nil {
		return nil, err
	}
	x, err := parseFloats(c.X)
	if err != nil {
		return nil, err
	}
	pol := fp.MaskNaN
	if c.Policy != "" {
		if pol, err = fp.ParseMaskPolicy(c.Policy); err != nil {
			return nil, err
		}
	}
	opt := DefaultCEOptions()
	if c.IgnoreIndex != nil {
		opt.IgnoreIndex = *c.IgnoreIndex
	}
	if opt.Weights, err = parseFloats(c.Weights); err != nil {
		return nil, err
	}
	if c.LabelSmoothing != "" {
		if opt.LabelSmoothing, err = strconv.ParseFloat(c.LabelSmoothing, 64); err != nil {
			return nil, err
		}
	}
	if c.Reduction != "" {
		if opt.Reduction, err = ParseReduction(c.Reduction); err != nil {
			return nil, err
		}
	}
	switch c.Op {
	case "softplus", "logsigmoid", "sigmoid", "sigmoid_grad", "bce", "bce_grad":
		return c.runSigmoid(f, x, opt)
	case "grad_norm", "clip_coef", "clip_grad_norm", "clip_grad_value":
		return c.runGradNorm(f)
	case "lse":
		return LSEBatch(f, x, c.Rows, c.Cols)
	case "softmax":
		return SoftmaxBatch(f, x, c.Rows, c.Cols, pol)
	case "logsoftmax":
		return LogSoftmaxBatch(f, x, c.Rows, c.Cols, pol)
	case "ce":
		return CrossEntropy(f, x, c.Rows, c.Cols, c.Targets, opt)
	case "ce_grad":
		return CrossEntropyGrad(f, x, c.Rows, c.Cols, c.Targets, opt)
	case "ce_prob", "ce_prob_grad":
		p, err := parseFloats(c.Probs)
		if err != nil {
			return nil, err
		}
		if c.Op == "ce_prob" {
			return CrossEntropyProb(f, x, p, c.Rows, c.Cols, opt)
		}
		return CrossEntropyProbGrad(f, x, p, c.Rows, c.Cols, opt)
	case "softmax_backward":
		dy, err := parseFloats(c.DY)
		if err != nil {
			return nil, err
		}
		return SoftmaxBackward(f, x, dy, c.Rows, c.Cols, pol)
	case "softmax_backward_y":
		y, err := parseFloats(c.Y)
		if err != nil {
			return nil, err
		}
		dy, err := parseFloats(c.DY)
		if err != nil {
			return nil, err
		}
		return SoftmaxBackwardFromY(f, y, dy, c.Rows, c.Cols)
	}
	return nil, fmt.Errorf("unknown op %q", c.Op)
}

// TestGolden checks bit-for-bit agreement with every committed golden case (26,640 cases from an
// independent Python/mpmath implementation; see testdata/golden/README.md). It is stricter than
// the README's rule: the sign of zero must match too (both sides write exact zeros as +0, and
// keep the sign of a nonzero value that rounds to zero); any NaN matches any NaN. -short checks
// every 8th case of each file.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.jsonl.gz"))
	if len(files) == 0 {
		t.Skip("no golden files in testdata/golden")
	}
	total := 0
	for _, name := range files {
		t.Run(strings.TrimSuffix(filepath.Base(name), ".jsonl.gz"), func(t *testing.T) {
			total += checkGoldenFile(t, name)
		})
	}
	t.Logf("%d golden cases checked", total)
}

func checkGoldenFile(t *testing.T, name string) (checked int) {
	fh, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	line, failures := 0, 0
	for sc.Scan() {
		line++
		if testing.Short() && line%8 != 1 {
			continue
		}
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s:%d: %v", name, line, err)
		}
		checked++
		got, err := c.run()
		if err != nil {
			failures++
			t.Errorf("%s:%d (%s %s %s): error %v", name, line, c.Op, c.Format, c.Class, err)
			continue
		}
		want, err := parseFloats(c.Want)
		if err != nil {
			t.Fatalf("%s:%d: %v", name, line, err)
		}
		if len(got) != len(want) {
			failures++
			t.Errorf("%s:%d (%s %s %s): %d outputs, want %d", name, line, c.Op, c.Format, c.Class, len(got), len(want))
			continue
		}
		for i := range want {
			g, w := got[i].Rounded, want[i]
			if math.Float64bits(g) == math.Float64bits(w) || math.IsNaN(g) && math.IsNaN(w) {
				continue
			}
			failures++
			if failures <= 10 || testing.Verbose() {
				t.Errorf("%s:%d (%s %s %s) output %d: got %v (%#016x), want %v (%#016x)", name, line, c.Op, c.Format, c.Class, i, g, math.Float64bits(g), w, math.Float64bits(w))
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if failures > 10 {
		t.Errorf("%s: %d mismatches in all", name, failures)
	}
	return checked
}

// runGradNorm runs the gradient-norm ops (docs/gradnorm.md): grad_norm gives [N], clip_coef [c],
// clip_grad_norm the clipped elements of every tensor in order followed by N, clip_grad_value the
// clamped elements.
func (c *goldenCase) runGradNorm(f fp.Format) ([]Value, error) {
	tensors := make([][]float64, len(c.Tensors))
	for i, t := range c.Tensors {
		var err error
		if tensors[i], err = parseFloats(t); err != nil {
			return nil, err
		}
	}
	num := func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
	flatten := func(vs [][]Value) []Value {
		var out []Value
		for _, t := range vs {
			out = append(out, t...)
		}
		return out
	}
	if c.Op == "clip_grad_value" {
		clip, err := num(c.Clip)
		if err != nil {
			return nil, err
		}
		vs, err := ClipGradValue(f, tensors, clip)
		return flatten(vs), err
	}
	p, err := num(c.P)
	if err != nil {
		return nil, err
	}
	if c.Op == "grad_norm" {
		v, err := GradNorm(f, tensors, p)
		return []Value{v}, err
	}
	m, err := num(c.MaxNorm)
	if err != nil {
		return nil, err
	}
	if c.Op == "clip_coef" {
		v, err := ClipCoef(f, tensors, p, m)
		return []Value{v}, err
	}
	vs, n, err := ClipGradNorm(f, tensors, p, m)
	return append(flatten(vs), n), err
}
