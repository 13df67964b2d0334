package oracle

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

var (
	inf  = math.Inf(1)
	ninf = math.Inf(-1)
	nan  = math.NaN()
)

// randomRow draws a row from a seeded mixture: uniform, wide-range, near-equal and tiny
// logits, with occasional −Inf entries, rounded into f.
func randomRow(r *rand.Rand, f fp.Format, n int) []float64 {
	x := make([]float64, n)
	kind := r.IntN(5)
	base := r.Float64()*20 - 10
	for i := range x {
		var v float64
		switch kind {
		case 0:
			v = r.Float64()*40 - 20
		case 1:
			v = (r.Float64()*2 - 1) * math.Pow(2, float64(r.IntN(16)))
		case 2:
			v = base + (r.Float64()-0.5)*0x1p-6
		case 3:
			v = (r.Float64() - 0.5) * 0x1p-12
		default:
			v = r.NormFloat64() * 3
		}
		if r.IntN(16) == 0 {
			v = ninf
		}
		x[i], _ = f.RoundFloat64(v)
	}
	return x
}

// TestFastMatchesSlow checks, for seeded random rows, that the float64 fast path and the big
// Ziv path give the same rounded values and flags, and that the fast path's approximation is
// within 2^−20 ulp of the big one (the accuracy Value promises).
func TestFastMatchesSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	rows := 300
	if testing.Short() {
		rows = 60
	}
	defer func() { noFast = false }()
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.E4M3, fp.E5M2} {
		for range rows {
			x := randomRow(r, f, 1+r.IntN(40))
			type res struct{ s, l []Value }
			var out [2]res
			for k, slow := range []bool{false, true} {
				noFast = slow
				s, err := Softmax(f, x, fp.MaskNaN)
				if err != nil {
					t.Fatal(err)
				}
				l, err := LogSoftmax(f, x, fp.MaskNaN)
				if err != nil {
					t.Fatal(err)
				}
				e, err := LSE(f, x)
				if err != nil {
					t.Fatal(err)
				}
				out[k] = res{s, append(l, e)}
			}
			noFast = false
			for _, pair := range [][2][]Value{{out[0].s, out[1].s}, {out[0].l, out[1].l}} {
				for i := range pair[0] {
					a, b := pair[0][i], pair[1][i]
					if math.Float64bits(a.Rounded) != math.Float64bits(b.Rounded) && !(math.IsNaN(a.Rounded) && math.IsNaN(b.Rounded)) || a.Flag != b.Flag {
						t.Fatalf("%v %v [%d]: fast %v (%#x) %v, slow %v (%#x) %v", f, x, i, a.Rounded, math.Float64bits(a.Rounded), a.Flag, b.Rounded, math.Float64bits(b.Rounded), b.Flag)
					}
					if a.kind == kindF64 && b.kind == kindBig {
						if e := f.UlpError(a.a64, b.approx); e > 0x1p-20 {
							t.Fatalf("%v %v [%d]: fast approximation %v is %g ulp from the slow one", f, x, i, a.a64, e)
						}
					}
				}
			}
		}
	}
}

func TestSpecialRows(t *testing.T) {
	f := fp.FP32
	cases := []struct {
		x       []float64
		pol     fp.MaskPolicy
		softmax []float64
		logsm   []float64
		lse     float64
		reason  string
	}{
		{[]float64{1, nan, 2}, fp.MaskZero, []float64{nan, nan, nan}, []float64{nan, nan, nan}, nan, "NaN poisons the row"},
		{[]float64{1, inf, 2}, fp.MaskNaN, []float64{nan, nan, nan}, []float64{nan, nan, nan}, inf, "+Inf: softmax NaN, LSE +Inf"},
		{[]float64{nan, inf}, fp.MaskNaN, []float64{nan, nan}, []float64{nan, nan}, nan, "NaN beats +Inf"},
		{[]float64{ninf, ninf}, fp.MaskNaN, []float64{nan, nan}, []float64{nan, nan}, ninf, "fully masked, NaN policy"},
		{[]float64{ninf, ninf}, fp.MaskZero, []float64{0, 0}, []float64{ninf, ninf}, ninf, "fully masked, zero policy"},
		{[]float64{}, fp.MaskNaN, []float64{}, []float64{}, ninf, "empty row"},
		{[]float64{3, ninf, 3}, fp.MaskNaN, []float64{0.5, 0, 0.5}, nil, 0, "−Inf entry gets exactly 0"},
	}
	for _, c := range cases {
		s, err := Softmax(f, c.x, c.pol)
		if err != nil {
			t.Fatal(err)
		}
		l, err := LogSoftmax(f, c.x, c.pol)
		if err != nil {
			t.Fatal(err)
		}
		e, err := LSE(f, c.x)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != len(c.x) || len(l) != len(c.x) {
			t.Fatalf("%s: lengths %d %d, want %d", c.reason, len(s), len(l), len(c.x))
		}
		for i := range c.softmax {
			checkValue(t, c.reason+": softmax", s[i], c.softmax[i], flagOf(c.softmax[i]))
		}
		for i := range c.logsm {
			checkValue(t, c.reason+": log-softmax", l[i], c.logsm[i], flagOf(c.logsm[i]))
		}
		if c.logsm != nil {
			checkValue(t, c.reason+": LSE", e, c.lse, flagOf(c.lse))
		}
		for i := range s {
			if s[i].IsNaN() != math.IsNaN(s[i].Rounded) {
				t.Errorf("%s: IsNaN %v for %v", c.reason, s[i].IsNaN(), s[i].Rounded)
			}
		}
	}
}

// flagOf is the flag of an exact special or exactly representable result.
func flagOf(float64) fp.Flag { return fp.Exact }

func TestUlpMeasures(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
		x := randomRow(r, f, 64)
		x[0] = 1 // keep a finite entry
		vs, err := Softmax(f, x, fp.MaskNaN)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vs {
			if v.Rounded == 0 || v.Flag == fp.Exact {
				continue
			}
			e0 := v.UlpError(v.Rounded)
			next := f.Next(v.Rounded)
			e1 := v.UlpError(next)
			// got = next is one ulp from rounded: its error is 1 ∓ e0, to the 1/1000 ulp promised
			// (when rounded, next and the exact value share one ulp).
			if f.Ulp(next) != f.Ulp(v.Rounded) || f.UlpExp(v.Exact()) != f.UlpExp(big.NewFloat(v.Rounded)) {
				continue
			}
			if !(e0 <= 0.5) || math.Abs(e1-(1-e0)) > 1e-3 && math.Abs(e1-(1+e0)) > 1e-3 {
				t.Errorf("%v [%d] %v: UlpError(rounded) = %v, UlpError(next) = %v", f, i, v.Rounded, e0, e1)
			}
			if d := v.UlpDistance(next); d != 1 {
				t.Errorf("%v [%d]: UlpDistance(next) = %d", f, i, d)
			}
			if got, want := v.Float64(), v.Rounded; f == fp.FP64 && got != want {
				t.Errorf("fp64 [%d]: Float64 %v != Rounded %v", i, got, want)
			}
		}
	}
}

func TestBatchMatchesRows(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const rows, cols = 7, 9
	x := make([]float64, 0, rows*cols)
	for range rows {
		x = append(x, randomRow(r, fp.BF16, cols)...)
	}
	sb, err := SoftmaxBatch(fp.BF16, x, rows, cols, fp.MaskZero)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := LogSoftmaxBatch(fp.BF16, x, rows, cols, fp.MaskZero)
	eb, _ := LSEBatch(fp.BF16, x, rows, cols)
	for n := range rows {
		row := x[n*cols : (n+1)*cols]
		s, _ := Softmax(fp.BF16, row, fp.MaskZero)
		l, _ := LogSoftmax(fp.BF16, row, fp.MaskZero)
		e, _ := LSE(fp.BF16, row)
		checkValue(t, "LSEBatch", eb[n], e.Rounded, e.Flag)
		for i := range cols {
			checkValue(t, "SoftmaxBatch", sb[n*cols+i], s[i].Rounded, s[i].Flag)
			checkValue(t, "LogSoftmaxBatch", lb[n*cols+i], l[i].Rounded, l[i].Flag)
		}
	}
	if _, err := SoftmaxBatch(fp.BF16, x, rows, cols+1, fp.MaskNaN); err == nil {
		t.Errorf("SoftmaxBatch accepted %d values as %d×%d", len(x), rows, cols+1)
	}
}

// TestAppendMatchesRows answers rows of changing lengths, formats and special cases into one
// reused buffer and compares every Value with Softmax's and LogSoftmax's for the same row: a
// leftover of an earlier row in the reused cells would show here.
func TestAppendMatchesRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rows := [][]float64{{nan, 1, 2}, {ninf, ninf}, {3, 3, 3, ninf}, {0}}
	for _, n := range []int{40, 3, 17, 1, 64, 5} {
		rows = append(rows, randomRow(r, fp.FP16, n), randomRow(r, fp.FP32, n))
	}
	same := func(a, b Value) bool {
		ea, eb := a.Exact(), b.Exact()
		return math.Float64bits(a.Rounded) == math.Float64bits(b.Rounded) && a.Flag == b.Flag &&
			a.Format == b.Format && (ea == nil) == (eb == nil) && (ea == nil || ea.Cmp(eb) == 0)
	}
	var sbuf, lbuf, bbuf, blbuf []Value
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
		for k, x := range rows {
			for _, pol := range []fp.MaskPolicy{fp.MaskNaN, fp.MaskZero} {
				want, err := Softmax(f, x, pol)
				if err != nil {
					t.Fatal(err)
				}
				if sbuf, err = AppendSoftmax(sbuf[:0], f, x, pol); err != nil || len(sbuf) != len(x) {
					t.Fatalf("AppendSoftmax row %d: %d values, %v", k, len(sbuf), err)
				}
				lwant, _ := LogSoftmax(f, x, pol)
				prefix := []Value{nanValue(f)} // appended after, not over, what dst holds
				lbuf, err = AppendLogSoftmax(append(lbuf[:0], prefix...), f, x, pol)
				if err != nil || len(lbuf) != len(x)+1 || !same(lbuf[0], prefix[0]) {
					t.Fatalf("AppendLogSoftmax row %d: %d values, %v", k, len(lbuf), err)
				}
				// The batch forms, on the row as a 1×n batch, after a prefix.
				bbuf, err = AppendSoftmaxBatch(append(bbuf[:0], prefix...), f, x, 1, len(x), pol)
				if err != nil || len(bbuf) != len(x)+1 || !same(bbuf[0], prefix[0]) {
					t.Fatalf("AppendSoftmaxBatch row %d: %d values, %v", k, len(bbuf), err)
				}
				blbuf, err = AppendLogSoftmaxBatch(blbuf[:0], f, x, 1, len(x), pol)
				if err != nil || len(blbuf) != len(x) {
					t.Fatalf("AppendLogSoftmaxBatch row %d: %d values, %v", k, len(blbuf), err)
				}
				for i := range x {
					if !same(bbuf[i+1], want[i]) || !same(blbuf[i], lwant[i]) {
						t.Errorf("%v row %d [%d]: the batch forms give %v and %v, the row forms %v and %v", f, k, i, bbuf[i+1].Rounded, blbuf[i].Rounded, want[i].Rounded, lwant[i].Rounded)
					}
				}
				for i := range x {
					if !same(sbuf[i], want[i]) {
						t.Errorf("%v row %d [%d]: AppendSoftmax %v (%v), Softmax %v (%v)", f, k, i, sbuf[i].Rounded, sbuf[i].Flag, want[i].Rounded, want[i].Flag)
					}
					if !same(lbuf[i+1], lwant[i]) {
						t.Errorf("%v row %d [%d]: AppendLogSoftmax %v (%v), LogSoftmax %v (%v)", f, k, i, lbuf[i+1].Rounded, lbuf[i+1].Flag, lwant[i].Rounded, lwant[i].Flag)
					}
				}
			}
		}
	}
	dst := []Value{zeroValue(fp.FP32)}
	if got, err := AppendSoftmax(dst, fp.Format{}, []float64{1}, fp.MaskNaN); err == nil || len(got) != 1 {
		t.Errorf("AppendSoftmax with a bad format: %d values, error %v", len(got), err)
	}
	if got, err := AppendSoftmaxBatch(dst, fp.FP32, []float64{1, 2, 3}, 2, 2, fp.MaskNaN); err == nil || len(got) != 1 {
		t.Errorf("AppendSoftmaxBatch of 3 values as 2×2: %d values, error %v", len(got), err)
	}
	if got, err := AppendLogSoftmaxBatch(dst, fp.Format{}, []float64{1}, 1, 1, fp.MaskNaN); err == nil || len(got) != 1 {
		t.Errorf("AppendLogSoftmaxBatch with a bad format: %d values, error %v", len(got), err)
	}
}

func TestCrossEntropySpecial(t *testing.T) {
	f := fp.FP32
	x := []float64{1, 2, ninf, 0, nan, 3}
	opt := DefaultCEOptions()
	opt.Reduction = ReduceNone
	v, err := CrossEntropy(f, x, 2, 3, []int{2, -100}, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "target at −Inf", v[0], inf, fp.Exact)
	checkValue(t, "ignored row with NaN", v[1], 0, fp.Exact)
	opt.Reduction = ReduceMean
	v, _ = CrossEntropy(f, x, 2, 3, []int{-100, -100}, opt)
	checkValue(t, "mean, all ignored", v[0], nan, fp.Exact)
	v, _ = CrossEntropy(f, x, 2, 3, []int{0, 1}, opt)
	checkValue(t, "a NaN row", v[0], nan, fp.Exact)
	// xlogy: zero target mass on a −Inf logit contributes 0.
	p := []float64{1, 0, 0}
	opt.Reduction = ReduceSum
	v, _ = CrossEntropyProb(f, []float64{0, ninf, ninf}, p, 1, 3, opt)
	checkValue(t, "xlogy", v[0], 0, fp.Exact)
	g, _ := CrossEntropyGrad(f, []float64{1, 2, 3, 4}, 2, 2, []int{-100, 1}, opt)
	checkValue(t, "grad of ignored row", g[0], 0, fp.Exact)
	// Errors, never panics.
	for _, bad := range []struct {
		reason string
		err    error
	}{
		{"target out of range", func() error { _, e := CrossEntropy(f, x, 2, 3, []int{3, 0}, opt); return e }()},
		{"wrong target count", func() error { _, e := CrossEntropy(f, x, 2, 3, []int{0}, opt); return e }()},
		{"smoothing > 1", func() error {
			o := opt
			o.LabelSmoothing = 1.5
			_, e := CrossEntropy(f, x, 2, 3, []int{0, 0}, o)
			return e
		}()},
		{"weights length", func() error {
			o := opt
			o.Weights = []float64{1}
			_, e := CrossEntropyGrad(f, x, 2, 3, []int{0, 0}, o)
			return e
		}()},
		{"invalid format", func() error { _, e := Softmax(fp.Format{}, x, fp.MaskNaN); return e }()},
	} {
		if bad.err == nil {
			t.Errorf("%s: no error", bad.reason)
		}
	}
	if r, err := ParseReduction("Sum"); err != nil || r != ReduceSum || r.String() != "sum" {
		t.Errorf("ParseReduction(Sum) = %v, %v", r, err)
	}
}

// TestAgainstFloat64 cross-checks the oracle's fp64 results against a float64 evaluation with
// Blanchard–Higham–Higham's bound (NUMERICS §3): |ŷ − y| ≤ (n + 2 + 2(x_max − x_min))·u·y plus
// a margin of 8 ulps for math.Exp; a coarse, independent check of the big path.
func TestAgainstFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for range 50 {
		n := 1 + r.IntN(30)
		x := make([]float64, n)
		for i := range x {
			x[i] = r.Float64()*20 - 10
		}
		v, err := Softmax(fp.FP64, x, fp.MaskNaN)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float64, n)
		softmax64(y, x)
		lo, hi := x[0], x[0]
		for _, e := range x {
			lo, hi = min(lo, e), max(hi, e)
		}
		tol := (float64(n) + 2 + 2*(hi-lo) + 8) * 0x1p-53
		for i := range y {
			ex := v[i].Exact()
			d := new(big.Float).Sub(ex, big.NewFloat(y[i]))
			rel, _ := new(big.Float).Quo(d.Abs(d), ex).Float64()
			if rel > tol {
				t.Fatalf("x = %v: softmax[%d] oracle %v, float64 %v: relative difference %g > %g", x, i, v[i].Rounded, y[i], rel, tol)
			}
		}
	}
}

// softmaxFastSlow returns the softmax of x in f through the fast path and through the exact
// path alone.
func softmaxFastSlow(t *testing.T, f fp.Format, x []float64) (out [2][]Value) {
	t.Helper()
	defer func() { noFast = false }()
	for k, slow := range []bool{false, true} {
		noFast = slow
		v, err := Softmax(f, x, fp.MaskNaN)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// An output whose exponential lies far below every fast format's range (x_i − m < −600) is
// decided without the exact path as +0 with the underflow flag. The test checks that everything
// a caller can observe (rounded value, flag, float64 value) is what the exact path gives (below
// −747 the float64 value is +0 on both paths; above, the float64 nearest the approximation, within
// 10^−9 relative of the exact path's, or one subnormal step), and the ulp error of any result is within 2^−700 ulp of the exact
// path's, on either side of the cut-offs.
func TestFarBelowMatchesSlow(t *testing.T) {
	nFar, nBelow := 0, 0
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.E4M3, fp.E5M2} {
		top := 3.0
		for _, d := range []float64{-599.5, -600, -600.5, -650, -700, -746.5, -747, -747.25, -800, -1e4, -1e30, -f.MaxFinite()} {
			x0, _ := f.RoundFloat64(top + d)
			if x0-top >= -599 && d < -600 || math.IsInf(x0, 0) {
				continue // the format cannot hold a logit that far below top
			}
			far := x0-top < -747
			below := !far && x0-top < -600
			if far {
				nFar++
			}
			if below {
				nBelow++
			}
			x := []float64{top, x0, 1, x0}
			out := softmaxFastSlow(t, f, x)
			for i := range x {
				a, b := out[0][i], out[1][i]
				if math.Float64bits(a.Rounded) != math.Float64bits(b.Rounded) || a.Flag != b.Flag || far && x[i] == x0 && a.Float64() != b.Float64() {
					t.Fatalf("%v %v [%d]: fast %v %v %g, slow %v %v %g", f, x, i, a.Rounded, a.Flag, a.Float64(), b.Rounded, b.Flag, b.Float64())
				}
				if !far && !below || x[i] != x0 {
					continue // elsewhere the two approximations agree to 2^−20 ulp (TestFastMatchesSlow)
				}
				if fa, fb := a.Float64(), b.Float64(); below && !(math.Abs(fa-fb) <= 1e-9*fb+0x1p-1074) {
					// (one step apart at most where float64 is subnormal)
					t.Fatalf("%v %v [%d]: float64 %g, exact path's %g", f, x, i, fa, fb)
				}
				if d := x0 - top; d > -1e5 {
					// The approximation is y itself to 9 digits, as the exact path's is.
					r, _ := new(big.Float).Quo(a.Exact(), b.Exact()).Float64()
					if math.Abs(r-1) > 1e-9 {
						t.Fatalf("%v %v [%d]: approximation %v, exact path %v", f, x, i, a.Exact(), b.Exact())
					}
				}
				for _, got := range []float64{0, math.Copysign(0, -1), f.MinSubnormal(), 2 * f.MinSubnormal(), 0.5, 1} {
					// The exact path measures against e^d itself: errors differ by at most e^d/ulp.
					if ea, eb := a.UlpError(got), b.UlpError(got); math.Abs(ea-eb) > 0x1p-700 {
						t.Fatalf("%v %v [%d] got %g: fast ulp error %g, slow %g", f, x, i, got, ea, eb)
					}
				}
			}
		}
	}
	if nFar < 15 || nBelow < 12 { // 18 and 16: every format but E4M3 (max 448) holds most of the distances
		t.Fatalf("only %d far-below and %d below-the-sum rows", nFar, nBelow)
	}
}

// The maximum of a row whose other exponentials sum below 2^−(p+1) is decided without the exact
// path as 1, inexact (nearOne); rounded value and flag are the exact path's, and the ulp error of
// results on both sides of 1 is within 2^−20 ulp of the exact path's (each approximation is
// within 2^−21 ulp of y, and nearOne's stays below 1, in y's binade).
func TestNearOneMatchesSlow(t *testing.T) {
	decided := 0
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.E4M3, fp.E5M2} {
		p := f.Precision()
		one := 1.0
		below := 1 - math.Ldexp(1, -p) // pred(1)
		for _, gap := range []float64{float64(p) * 0.69, float64(p) * 0.7, 18, 30, 100, 700, 800, 1e4} {
			for _, x := range [][]float64{{3, 3 - gap}, {3, 3 - gap, 3 - gap - 1, math.Inf(-1)}, {3, 3 - gap, 3}, {-gap, 0}} {
				for i := range x {
					x[i], _ = f.RoundFloat64(x[i])
				}
				out := softmaxFastSlow(t, f, x)
				for i := range x {
					a, b := out[0][i], out[1][i]
					if math.Float64bits(a.Rounded) != math.Float64bits(b.Rounded) || a.Flag != b.Flag {
						t.Fatalf("%v %v [%d]: fast %v %v, slow %v %v", f, x, i, a.Rounded, a.Flag, b.Rounded, b.Flag)
					}
					if a.kind == kindOneMinus && b.kind == kindBig {
						decided++
						if a.has64 && a.Float64() != b.Float64() {
							t.Fatalf("%v %v [%d]: float64 %v, exact path %v", f, x, i, a.Float64(), b.Float64())
						}
					}
					for _, got := range []float64{one, below, below - math.Ldexp(1, -p), 0.5} {
						if ea, eb := a.UlpError(got), b.UlpError(got); math.Abs(ea-eb) > 0x1p-20 {
							t.Fatalf("%v %v [%d] got %g: fast ulp error %g, slow %g", f, x, i, got, ea, eb)
						}
					}
				}
			}
		}
	}
	if decided < 40 {
		t.Fatalf("nearOne decided only %d outputs", decided)
	}
	t.Logf("nearOne decided %d outputs", decided)
}
