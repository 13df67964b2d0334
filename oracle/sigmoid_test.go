package oracle

import (
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// float64 references computed independently of the oracle, to within a few float64 ulps.
func sp64(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
func sig64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func TestSigmoidFamilyAgainstFloat64(t *testing.T) {
	xs := []float64{0, 1e-30, -1e-30, 0.5, -0.5, 3, -3, 11.1, 17, 19.99, 20, 20.5, -20.5, 40, -40, 88.7, -88.7, 103, -103, 700, -700, -745.5}
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
		sp, err := Softplus(f, xs, math.Inf(1))
		if err != nil {
			t.Fatal(err)
		}
		ls, err := LogSigmoid(f, xs)
		if err != nil {
			t.Fatal(err)
		}
		sg, err := Sigmoid(f, xs)
		if err != nil {
			t.Fatal(err)
		}
		gr, err := SigmoidGrad(f, xs)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range xs {
			for _, c := range []struct {
				name string
				v    Value
				ref  float64
			}{{"softplus", sp[i], sp64(x)}, {"logsigmoid", ls[i], -sp64(-x)}, {"sigmoid", sg[i], sig64(x)}, {"sigmoidgrad", gr[i], sig64(x) * sig64(-x)}} {
				// The float64 reference is within a few float64 ulps: its rounding into f can
				// differ from the oracle's by one value of f at most (4 ulps in fp64 itself).
				r, _ := f.RoundFloat64(c.ref)
				lim := int64(1)
				if f == fp.FP64 {
					lim = 4
				}
				if d := f.UlpDistance(c.v.Rounded, r); d > lim || d < -lim {
					t.Errorf("%v %s(%g) = %g, float64 reference %g (rounds to %g)", f, c.name, x, c.v.Rounded, c.ref, r)
				}
				if f == fp.FP64 && c.ref != 0 && math.Abs(c.v.Float64()-c.ref) > 1e-14*math.Abs(c.ref) {
					t.Errorf("fp64 %s(%g): exact ≈ %g, reference %g", c.name, x, c.v.Float64(), c.ref)
				}
			}
		}
	}
}

func TestSigmoidExactCases(t *testing.T) {
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64, fp.E4M3, fp.E5M2} {
		sg, _ := Sigmoid(f, []float64{0, math.Inf(1), math.Inf(-1), math.NaN()})
		if sg[0].Rounded != 0.5 || sg[0].Flag != fp.Exact || sg[1].Rounded != 1 || sg[2].Rounded != 0 || !sg[3].IsNaN() {
			t.Errorf("%v: sigmoid special cases %v %v %v %v", f, sg[0].Rounded, sg[1].Rounded, sg[2].Rounded, sg[3].Rounded)
		}
		gr, _ := SigmoidGrad(f, []float64{0})
		if gr[0].Rounded != 0.25 || gr[0].Flag != fp.Exact {
			t.Errorf("%v: σ'(0) = %v (%v)", f, gr[0].Rounded, gr[0].Flag)
		}
		// σ rounds to 1 once e^−x < ½ulp below 1 = 2^−p: x > p·log 2 (well above).
		x := float64(f.Precision()+2) * math.Ln2
		v, _ := Sigmoid(f, []float64{x})
		if v[0].Rounded != 1 || v[0].Flag != fp.Inexact {
			t.Errorf("%v: σ(%g) = %v (%v), want 1 inexact", f, x, v[0].Rounded, v[0].Flag)
		}
		// BCE at t ∈ {0, 1} with ±Inf logits on the saturated side: exactly 0.
		b, err := BCEWithLogits(f, []float64{math.Inf(1), math.Inf(-1), math.Inf(1)}, []float64{1, 0, 0}, 1, 3, BCEOptions{Reduction: ReduceNone})
		if err != nil {
			t.Fatal(err)
		}
		if b[0].Rounded != 0 || b[0].Flag != fp.Exact || b[1].Rounded != 0 || !math.IsInf(b[2].Rounded, 1) && f.HasInf() {
			t.Errorf("%v: BCE limits %v %v %v", f, b[0].Rounded, b[1].Rounded, b[2].Rounded)
		}
	}
	sp, _ := Softplus(fp.FP64, []float64{20, 20.5}, SoftplusThreshold)
	if sp[1].Rounded != 20.5 || sp[1].Flag != fp.Exact || sp[0].Rounded == 20 {
		t.Errorf("softplus threshold: %v %v", sp[0].Rounded, sp[1].Rounded)
	}
}

func TestBCEAgainstFloat64(t *testing.T) {
	xs := []float64{-30, -2, -0.25, 0, 0.75, 5, 30}
	ts := []float64{0, 1, 0.25, 0.5, 1, 0, 0.125}
	pw := []float64{1, 3, 0.5, 1, 2, 1, 100}
	for _, red := range []Reduction{ReduceNone, ReduceSum, ReduceMean} {
		got, err := BCEWithLogits(fp.FP64, xs, ts, 1, len(xs), BCEOptions{PosWeight: pw, Reduction: red})
		if err != nil {
			t.Fatal(err)
		}
		gg, err := BCEWithLogitsGrad(fp.FP64, xs, ts, 1, len(xs), BCEOptions{PosWeight: pw, Reduction: red})
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for i, x := range xs {
			l := (1-ts[i])*sp64(x) + pw[i]*ts[i]*sp64(-x)
			g := (1-ts[i])*sig64(x) - pw[i]*ts[i]*sig64(-x)
			sum += l
			D := 1.0
			if red == ReduceMean {
				D = float64(len(xs))
			}
			if math.Abs(gg[i].Float64()-g/D) > 1e-14*math.Abs(g/D) {
				t.Errorf("%v grad %d: %g, reference %g", red, i, gg[i].Float64(), g/D)
			}
			if red == ReduceNone && math.Abs(got[i].Float64()-l) > 1e-14*l {
				t.Errorf("loss %d: %g, reference %g", i, got[i].Float64(), l)
			}
		}
		if red == ReduceMean {
			sum /= float64(len(xs))
		}
		if red != ReduceNone && math.Abs(got[0].Float64()-sum) > 1e-13*sum {
			t.Errorf("%v: %g, reference %g", red, got[0].Float64(), sum)
		}
	}
}

// runSigmoid computes a golden case of the two-class operations (scripts/golden/sigmoid.py):
// targets in probs, pos_weight in weights.
func (c *goldenCase) runSigmoid(f fp.Format, x []float64, opt CEOptions) ([]Value, error) {
	switch c.Op {
	case "softplus":
		return Softplus(f, x, SoftplusThreshold)
	case "logsigmoid":
		return LogSigmoid(f, x)
	case "sigmoid":
		return Sigmoid(f, x)
	case "sigmoid_grad":
		return SigmoidGrad(f, x)
	}
	t, err := parseFloats(c.Probs)
	if err != nil {
		return nil, err
	}
	o := BCEOptions{PosWeight: opt.Weights, Reduction: opt.Reduction}
	if c.Op == "bce" {
		return BCEWithLogits(f, x, t, c.Rows, c.Cols, o)
	}
	return BCEWithLogitsGrad(f, x, t, c.Rows, c.Cols, o)
}
