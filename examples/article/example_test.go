package article_test

import (
	"context"
	"fmt"
	"math"
	"math/big"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// call runs a bundled kernel on one row and panics on a contract failure (examples only).
func call(name string, a *kernels.Args) []float64 {
	k, ok := kernels.Lookup(name)
	if !ok {
		panic("no bundled kernel " + name)
	}
	out, err := k.Call(context.Background(), a)
	if err != nil {
		panic(err)
	}
	return out
}

// The article: "a = np.float32(0.1) + np.float32(0.2); a == np.float32(0.3) # False!".
// In float32 the claim is wrong: the exact sum of the two float32 inputs rounds to float32(0.3).
// It is float64 where 0.1 + 0.2 ≠ 0.3.
func Example_floatAddition() {
	a, b := float32(0.1), float32(0.2)
	sum := a + b
	fmt.Printf("float32: %.9g + %.9g = %.9g (%#08x), float32(0.3) = %#08x, equal: %v\n",
		a, b, sum, math.Float32bits(sum), math.Float32bits(float32(0.3)), sum == float32(0.3))

	// ulpcheck's view: the exact sum of the float32 inputs, rounded once.
	exact := new(big.Float).SetPrec(200).Add(big.NewFloat(float64(a)), big.NewFloat(float64(b)))
	r, flag := fp.FP32.Round(exact)
	fmt.Printf("exact sum %s rounds (%v) to %.9g\n", exact.Text('g', 17), flag, r)

	x, y := 0.1, 0.2 // float64 variables (Go's constant 0.1+0.2 is exact and equals 0.3)
	fmt.Printf("float64: %.17g == 0.3: %v, %d ulp apart\n", x+y, x+y == 0.3, fp.FP64.UlpDistance(x+y, 0.3))
	// Output:
	// float32: 0.100000001 + 0.200000003 = 0.300000012 (0x3e99999a), float32(0.3) = 0x3e99999a, equal: true
	// exact sum 0.30000000447034836 rounds (inexact) to 0.300000012
	// float64: 0.30000000000000004 == 0.3: false, 1 ulp apart
}

// The article: "x = np.float32(1e38); x * 10 # inf". True: 1e39 is beyond float32's largest
// value (3.40282347e38), so the product rounds to +Inf.
func Example_overflow() {
	x := float32(1e38)
	fmt.Println(x*10, math.IsInf(float64(x*10), 1))
	r, flag := fp.FP32.RoundFloat64(float64(x) * 10)
	fmt.Printf("fp32 rounds %.9g·10 to %v (%v); max finite %.9g\n", x, r, flag, fp.FP32.MaxFinite())
	// Output:
	// +Inf true
	// fp32 rounds 9.99999968e+37·10 to +Inf (overflow); max finite 3.40282347e+38
}

// The article: "x = np.float32(1e-40); print(x) # 0.0 -- underflowed to exactly zero". Wrong:
// 1e-40 is a float32 subnormal. float32 rounds to zero only at or below 2^-150.
func Example_underflow() {
	x := float32(1e-40)
	fmt.Printf("float32(1e-40) = %.6g, bits %#08x = %d·2^-149, zero: %v\n",
		x, math.Float32bits(x), math.Float32bits(x), x == 0)
	_, flag := fp.FP32.RoundFloat64(1e-40)
	fmt.Println("flag:", flag, "| min normal", fp.FP32.MinNormal(), "| min subnormal", fp.FP32.MinSubnormal())
	for _, v := range []float64{0x1p-150, math.Nextafter(0x1p-150, 1), 1e-46} {
		r, _ := fp.FP32.RoundFloat64(v)
		fmt.Printf("%.4g → %g\n", v, r)
	}
	// Output:
	// float32(1e-40) = 9.99995e-41, bits 0x000116c2 = 71362·2^-149, zero: false
	// flag: underflow | min normal 1.1754943508222875e-38 | min subnormal 1.401298464324817e-45
	// 7.006e-46 → 0
	// 7.006e-46 → 1.401298464324817e-45
	// 1e-46 → 0
}

// The article: "naive_softmax(np.array([1000, 1, 2])) # produces nan" and "stable_softmax(...) #
// correctly produces a valid distribution". Both true; ulpcheck's bundled naive kernel (the
// article's code) and shifted kernel, judged against the exact oracle.
func Example_softmax() {
	x := []float64{1000, 1, 2}
	a := &kernels.Args{Rows: 1, Cols: 3, X: x}
	naive := call("softmax/naive/fp32", a)
	shifted := call("softmax/shifted/fp32", a)
	want, err := oracle.Softmax(fp.FP32, x, fp.MaskNaN)
	if err != nil {
		panic(err)
	}
	fmt.Println("naive:  ", naive)
	fmt.Println("shifted:", shifted)
	for i, w := range want {
		fmt.Printf("exact[%d] = %s rounds to %g; shifted is %.2f ulp away, naive: %v\n",
			i, w.Exact().Text('g', 4), w.Rounded, w.UlpError(shifted[i]), w.UlpError(naive[i]))
	}
	// Output:
	// naive:   [NaN 0 0]
	// shifted: [1 0 0]
	// exact[0] = 1 rounds to 1; shifted is 0.00 ulp away, naive: +Inf
	// exact[1] = 1.38e-434 rounds to 0; shifted is 0.00 ulp away, naive: 0
	// exact[2] = 3.751e-434 rounds to 0; shifted is 0.00 ulp away, naive: 0
}

// The article's log_sum_exp shifts by the max before exponentiating. The unshifted form
// overflows; the shifted kernel is correctly rounded here, in fp32 and in fp16 storage.
func Example_logSumExp() {
	naive := func(x []float64) float32 { // log(Σ exp(x)) in float32, the form the article avoids
		var s float32
		for _, v := range x {
			s += float32(math.Exp(v))
		}
		return float32(math.Log(float64(s)))
	}
	for _, c := range []struct {
		kernel string
		f      fp.Format
		x      []float64
	}{
		{"lse/shifted/fp32", fp.FP32, []float64{1000, 1, 2}},
		{"lse/shifted/fp16", fp.FP16, []float64{12, 11, 10}}, // e^12 > 65504: fp16 overflows
	} {
		got := call(c.kernel, &kernels.Args{Rows: 1, Cols: len(c.x), X: c.x})
		want, err := oracle.LSE(c.f, c.x)
		if err != nil {
			panic(err)
		}
		unshifted, _ := c.f.RoundFloat64(float64(naive(c.x)))
		if c.f == fp.FP16 { // fp16 storage: each exp is stored in fp16 before the sum
			var s float64
			for _, v := range c.x {
				e, _ := fp.FP16.RoundFloat64(math.Exp(v))
				s, _ = fp.FP16.RoundFloat64(s + e)
			}
			unshifted, _ = fp.FP16.RoundFloat64(math.Log(s))
		}
		fmt.Printf("%v %v: unshifted %v, shifted %v, exact %.6g → %v, shifted error %.2f ulp\n",
			c.f, c.x, unshifted, got[0], want.Float64(), want.Rounded, want.UlpError(got[0]))
	}
	// Output:
	// fp32 [1000 1 2]: unshifted +Inf, shifted 1000, exact 1000 → 1000, shifted error 0.00 ulp
	// fp16 [12 11 10]: unshifted +Inf, shifted 12.40625, exact 12.4076 → 12.40625, shifted error 0.17 ulp
}

// The article: frameworks fuse log-softmax and negative log-likelihood "rather than expecting you
// to chain a separate softmax and log call". With logits [0, −200] and target 1, softmax[1] =
// e^-200 ≈ 1.4e-87 underflows fp32 to 0, so the separate log gives −Inf and the loss +Inf; the
// fused kernel returns the correctly rounded 200.
func Example_crossEntropy() {
	x := []float64{0, -200}
	p := call("softmax/shifted/fp32", &kernels.Args{Rows: 1, Cols: 2, X: x})
	separate := -float32(math.Log(p[1]))
	ce := kernels.DefaultCEOptions()
	fused := call("ce/fused/fp32", &kernels.Args{Rows: 1, Cols: 2, X: x, Targets: []int{1}, CE: ce})
	want, err := oracle.CrossEntropy(fp.FP32, x, 1, 2, []int{1}, oracle.DefaultCEOptions())
	if err != nil {
		panic(err)
	}
	fmt.Printf("softmax = %v; separate −log(softmax[1]) = %v\n", p, separate)
	fmt.Printf("fused = %v; exact %.6g rounds to %v; fused error %.2f ulp\n",
		fused[0], want[0].Float64(), want[0].Rounded, want[0].UlpError(fused[0]))
	// Output:
	// softmax = [1 0]; separate −log(softmax[1]) = +Inf
	// fused = 200; exact 200 rounds to 200; fused error 0.00 ulp
}

// The article: "scaler = torch.cuda.amp.GradScaler() # helps prevent underflow in 16-bit
// gradients". True, and it does more: it also detects overflow and skips the step. Gradients
// below 2^-25 flush to 0 in fp16; stored as g·2^16 and unscaled in fp32 they come back exactly.
func Example_lossScaling() {
	grads := []float64{0x3p-27, -0x1p-30, 0x5p-26} // true gradients, exact fp32 values
	s, err := lossscale.New(lossscale.DefaultOptions())
	if err != nil {
		panic(err)
	}
	stored := make([]float16.Float16, len(grads))
	for i, g := range grads {
		unscaled, _ := fp.FP16.RoundFloat64(g)
		stored[i] = float16.Fromfloat32(float32(g) * s.Scale()) // backward of the scaled loss, in fp16
		fmt.Printf("g = %-9.4g fp16 without scaling: %-12g with scale %g stored as %g (%#04x)\n",
			g, unscaled, s.Scale(), stored[i].Float32(), stored[i].Bits())
	}
	master := make([]float32, len(grads))
	found := s.UnscaleFloat16(master, stored)
	skipped := s.Step(nil)
	s.Update()
	for i, g := range grads {
		fmt.Printf("unscaled %-9.4g exact: %v\n", master[i], float64(master[i]) == g)
	}
	fmt.Println("overflow:", found, "skipped:", skipped)

	// A gradient of 2 scaled by 2^16 overflows fp16: the step is skipped and the scale halves.
	big := []float16.Float16{float16.Fromfloat32(2 * s.Scale())}
	found = s.UnscaleFloat16(master[:1], big)
	skipped = s.Step(nil)
	s.Update()
	fmt.Println("stored", big[0].Float32(), "overflow:", found, "skipped:", skipped, "new scale:", s.Scale())
	// Output:
	// g = 2.235e-08 fp16 without scaling: 0            with scale 65536 stored as 0.0014648438 (0x1600)
	// g = -9.313e-10 fp16 without scaling: -0           with scale 65536 stored as -6.1035156e-05 (0x8400)
	// g = 7.451e-08 fp16 without scaling: 5.960464477539063e-08 with scale 65536 stored as 0.0048828125 (0x1d00)
	// unscaled 2.235e-08 exact: true
	// unscaled -9.313e-10 exact: true
	// unscaled 7.451e-08 exact: true
	// overflow: false skipped: false
	// stored +Inf overflow: true skipped: true new scale: 32768
}

// The article's NaN checklist, applied to a failing case: a model whose logits grew to 100 uses
// the naive softmax in fp32, and the loss turns NaN. Each item of the checklist becomes a check,
// and ulpcheck's oracle classifies the failure (NUMERICS §10).
func Example_nanChecklist() {
	x := []float64{100, 3, -2} // logits of the failing step
	out := call("softmax/naive/fp32", &kernels.Args{Rows: 1, Cols: 3, X: x})
	want, err := oracle.Softmax(fp.FP32, x, fp.MaskNaN)
	if err != nil {
		panic(err)
	}

	finite := true
	for _, v := range x {
		finite = finite && !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	fmt.Println("1. input data finite:", finite)
	fmt.Println("2. learning rate: not involved (the NaN appears in one forward pass)")
	xmax := slicesMax(x)
	fmt.Printf("3. magnitudes: max logit %g above fp32's exp overflow threshold %.7g: %v\n",
		xmax, fp.FP32.Exp().Overflow, xmax > fp.FP32.Exp().Overflow)
	for i, v := range out {
		if math.IsNaN(v) && !want[i].IsNaN() {
			fmt.Printf("4. loss code: softmax[%d] = NaN where the exact value is %.6g: class NaN (Inf/Inf after exp overflowed)\n",
				i, want[i].Float64())
		}
	}
	fixed := call("softmax/shifted/fp32", &kernels.Args{Rows: 1, Cols: 3, X: x})
	worst := 0.0
	for i, w := range want {
		worst = max(worst, w.UlpError(fixed[i]))
	}
	fmt.Printf("fix: shifted softmax = [%.6g %.6g %.6g], correctly rounded (≤ ½ ulp): %v\n",
		fixed[0], fixed[1], fixed[2], worst <= 0.5)
	// Output:
	// 1. input data finite: true
	// 2. learning rate: not involved (the NaN appears in one forward pass)
	// 3. magnitudes: max logit 100 above fp32's exp overflow threshold 88.72284: true
	// 4. loss code: softmax[0] = NaN where the exact value is 1: class NaN (Inf/Inf after exp overflowed)
	// fix: shifted softmax = [1 7.46892e-43 5.60519e-45], correctly rounded (≤ ½ ulp): true
}

func slicesMax(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// The article's stable_softmax, "no overflow possible", is right about exp but not about every
// row: a fully masked row (every logit −Inf, as attention masks produce) gives −Inf − (−Inf) =
// NaN. Whether that row should be NaN or 0 is a policy a kernel declares (NUMERICS §5); the
// oracle computes either.
func Example_maskedRow() {
	x := []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}
	m := max(x[0], x[1])
	e := []float32{float32(math.Exp(float64(x[0] - m))), float32(math.Exp(float64(x[1] - m)))}
	fmt.Println("article's stable_softmax:", e[0]/(e[0]+e[1]), e[1]/(e[0]+e[1]))
	in := []float64{math.Inf(-1), math.Inf(-1)}
	for _, pol := range []fp.MaskPolicy{fp.MaskNaN, fp.MaskZero} {
		v, err := oracle.Softmax(fp.FP32, in, pol)
		if err != nil {
			panic(err)
		}
		fmt.Printf("oracle, policy %v: %v %v\n", pol, v[0].Rounded, v[1].Rounded)
	}
	// Output:
	// article's stable_softmax: NaN NaN
	// oracle, policy nan: NaN NaN
	// oracle, policy zero: 0 0
}
