// Package training is the end-to-end demonstration of ulpcheck's subject: a small softmax
// regression trained in simulated mixed precision (fp16 storage, fp32 accumulation, fp32
// master weights) on generated data, three ways:
//
//	(a) the naive softmax of the seed article, on fp16 tensors: exp overflows fp16 once a
//	    logit exceeds 11.09 (NUMERICS §1), Inf/Inf = NaN, the loss goes NaN; the loss scaler
//	    skips every step whose gradients are non-finite, which keeps the master weights finite
//	    but cannot repair the forward pass (and after 166 skips PyTorch's scale would be 0; the
//	    bundled scaler's floor holds it at 2^-126);
//	(b) the stable (max-shifted) softmax without loss scaling: the per-element gradients of a
//	    loss averaged over 2^20 tokens are below fp16's smallest subnormal, flush to 0, and
//	    learning stalls;
//	(c) the stable softmax with the dynamic loss scaler (lossscale.Dynamic, PyTorch's defaults):
//	    the same gradients, scaled by 2^16, survive in fp16 and come back exactly in fp32, and
//	    the model trains;
//	(d) exploding gradients: the same model with a squared-error loss at a learning rate above
//	    its stability limit (ExplodeRate): the total gradient norm, logged every step (Norm2,
//	    computed in fp16 with scaled accumulation), grows geometrically until the fp16
//	    gradients overflow and the loss goes Inf, then NaN; the same run with clip_grad_norm_
//	    (ClipMaxNorm) stays finite and reaches a loss near the least-squares minimum.
//
// Each outcome is asserted by the package's tests (go test ./examples/training/), and Demo
// prints and checks all four (for cmd/fuzz).
//
// The forward pass stores inputs, weights and logits in fp16 (each logit a float32 dot product
// rounded once to fp16), the backward pass stores the logit gradients and the weight gradients
// in fp16 (float32 accumulation, one rounding), and the update is done on fp32 master weights,
// as apex's O2 mode and Micikevicius et al. ("Mixed Precision Training", ICLR 2018) describe.
package training

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
)

// Problem size and schedule.
const (
	Classes  = 4
	Features = 8
	Batch    = 64
	Train    = 512 // training examples, cycled in batches
	Steps    = 200
	// LossWeight is the factor the loss carries: a mean over 2^20 tokens of which a batch
	// simulates 64. It is what makes per-element gradients smaller than fp16 can hold.
	LossWeight = 0x1p-20
	// LR is the SGD learning rate, scaled by 1/LossWeight so that the update is that of the
	// unweighted mean loss with rate 0.4; the first update already pushes the largest logit past
	// fp16's exp threshold (11.09), robustly across data seeds.
	LR = 0.4 / LossWeight
)

// The fourth run, (d): the squared-error loss at a learning rate above its stability limit.
const (
	// ExplodeRate is (d)'s learning rate. The Hessian of the squared-error loss is XᵀX/n (per
	// class), whose largest eigenvalue λ (MaxCurvature) is about 1 + 128·max π_c ≈ 36 for these
	// class means (±4 in 8 features, 4 orthogonal directions of squared length 128, class
	// frequencies π_c ≈ 1/4) and unit noise: gradient descent is stable below 2/λ ≈ 0.055, and
	// at 0.1 the error along the top direction is multiplied by about 1 − 0.1·36 = −2.6 each
	// step.
	ExplodeRate = 0.1
	// ClipMaxNorm is the max_norm of (d)'s clipped run.
	ClipMaxNorm = 0.25
)

// Rate is the default SGD learning rate of the unweighted mean loss (the update of the runs with
// the loss weight is LR·grad = Rate·(grad/LossWeight)).
const Rate = 0.4

// Config selects a run.
type Config struct {
	Stable  bool // the max-shifted softmax (bundled kernel softmax/shifted/fp16); else the naive one in fp16
	Scaling bool // the dynamic loss scaler with PyTorch's defaults; else no scaling
	Seed    uint64
	// Squared trains the same linear model with the squared-error loss ½‖z − onehot(y)‖² on the
	// fp16 logits z (no softmax; Stable is ignored), averaged over the batch with loss weight 1:
	// its gradients are of order 1 and need no scaler, and its curvature makes Rate unstable.
	Squared bool
	// LearningRate is the SGD rate of the unweighted mean loss; 0 means Rate.
	LearningRate float64
	// ClipNorm > 0 clips the weight gradients as clip_grad_norm_(max_norm = ClipNorm) does, in
	// the gradients' format, after the scaler's unscale when Scaling is set; 0 does not clip.
	ClipNorm float64
	// Observe, when not nil, is called at every step with the format of the weight gradients
	// the norm is taken of (fp16, or fp32 after the scaler's unscale), their values before
	// clipping and GradNorms[step].
	Observe func(step int, f fp.Format, grads []float64, norm float64)
}

// Result is what a run did.
type Result struct {
	Losses         []float64 // mean loss over the training set before each step, and after the last (fp32; NaN when the forward pass gave NaN)
	FirstNaN       int       // first step with a NaN loss, −1 if none
	MaxLogit       float64   // largest |logit| seen in the forward passes
	MaxLogitAtNaN  float64   // largest |logit| over the training set when the loss first went NaN
	Skipped        int       // steps the scaler skipped
	NonzeroGrads   int       // weight-gradient elements that were nonzero in fp16, over all steps
	ExactNonzero   int       // weight-gradient elements whose exact value is nonzero, over all steps
	Accuracy       float64   // on the training set after the last step
	FinalScale     float32   // the scaler's scale after the last step (0 without scaling)
	WeightsAllFine bool      // every master weight is finite at the end
	FirstNonFinite int       // first step whose loss (NaN or ±Inf) or master weights are not finite, −1 if none
	GradNorms      []float64 // total 2-norm of the weight gradients at each step before clipping (Norm2, in the gradients' format)
	NaiveNorms     []float64 // the naive sum-of-squares norm of the same gradients (NaiveNorm2)
	ClipCoefs      []float64 // the clip coefficient applied at each step (1 without clipping)
	MinLoss        float64   // Squared: the least-squares minimum of the loss (MinSquaredLoss), else 0
	Curvature      float64   // Squared: the largest eigenvalue of the loss's Hessian (MaxCurvature), else 0
	Rate           float64   // the learning rate of the unweighted mean loss
}

// data generates a training set: class means at ±4 in each feature, unit-variance normal noise,
// every feature rounded to fp16.
func data(seed uint64) (x [][]float64, y []int) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	// Class means: ±4 along rows 1–4 of the 8×8 Sylvester–Hadamard matrix (sign of
	// (−1)^popcount((c+1)&j)), so that every two means differ in 4 of the 8 features.
	var mu [Classes][Features]float64
	for c := range mu {
		for j := range mu[c] {
			mu[c][j] = 4
			if bits.OnesCount(uint((c+1)&j))%2 == 1 {
				mu[c][j] = -4
			}
		}
	}
	for range Train {
		c := r.IntN(Classes)
		row := make([]float64, Features)
		for j := range row {
			row[j] = f16(mu[c][j] + r.NormFloat64())
		}
		x, y = append(x, row), append(y, c)
	}
	return x, y
}

// f16 rounds to fp16 (the harness's audited rounding).
func f16(v float64) float64 {
	r, _ := fp.FP16.RoundFloat64(v)
	return r
}

// naiveSoftmax16 is the seed article's softmax on an fp16 row: exp stored in fp16, summed with
// fp32 accumulation and stored in fp16, divided and stored in fp16. exp(z) is +Inf for z above
// 11.09, and Inf/Inf is NaN.
func naiveSoftmax16(z []float64) []float64 {
	e := make([]float64, len(z))
	var s float32
	for i, v := range z {
		e[i] = f16(math.Exp(v))
		s += float32(e[i])
	}
	sum := f16(float64(s))
	for i := range e {
		e[i] = f16(e[i] / sum)
	}
	return e
}

// Run trains one model and reports what happened.
func Run(cfg Config) (Result, error) {
	if math.IsNaN(cfg.ClipNorm) || cfg.ClipNorm < 0 || math.IsInf(cfg.ClipNorm, 0) {
		return Result{}, fmt.Errorf("training: ClipNorm %v must be finite and ≥ 0 (0: no clipping)", cfg.ClipNorm)
	}
	if math.IsNaN(cfg.LearningRate) || cfg.LearningRate < 0 || math.IsInf(cfg.LearningRate, 0) {
		return Result{}, fmt.Errorf("training: LearningRate %v must be finite and ≥ 0 (0: Rate)", cfg.LearningRate)
	}
	rate := cfg.LearningRate
	if rate == 0 {
		rate = Rate
	}
	lw := LossWeight // the factor the loss carries
	if cfg.Squared {
		lw = 1
	}
	x, y := data(cfg.Seed)
	var w [Classes][Features]float32 // fp32 master weights, zero-initialised
	res := Result{FirstNaN: -1, FirstNonFinite: -1, Rate: rate}
	if cfg.Squared {
		var err error
		if res.MinLoss, err = MinSquaredLoss(cfg.Seed); err != nil {
			return res, err
		}
		res.Curvature = MaxCurvature(cfg.Seed)
	}
	var sc *lossscale.Dynamic
	if cfg.Scaling {
		var err error
		if sc, err = lossscale.New(lossscale.DefaultOptions()); err != nil {
			return res, err
		}
	}
	stable, ok := kernels.Lookup("softmax/shifted/fp16")
	if !ok {
		return res, fmt.Errorf("training: no bundled softmax/shifted/fp16")
	}
	ctx := context.Background()
	all := make([]int, Train)
	for i := range all {
		all[i] = i
	}

	forward := func(rows []int) (z, p []float64, err error) {
		z = make([]float64, len(rows)*Classes)
		for n, i := range rows {
			for c := range Classes {
				var acc float32
				for j := range Features {
					acc += float32(f16(float64(w[c][j]))) * float32(x[i][j]) // fp16 weights, fp32 accumulation
				}
				z[n*Classes+c] = f16(float64(acc))
				res.MaxLogit = max(res.MaxLogit, math.Abs(z[n*Classes+c]))
			}
		}
		if cfg.Squared {
			return z, nil, nil
		}
		if cfg.Stable {
			p, err = stable.Call(ctx, &kernels.Args{Rows: len(rows), Cols: Classes, X: z})
			return z, p, err
		}
		p = make([]float64, 0, len(z))
		for n := range rows {
			p = append(p, naiveSoftmax16(z[n*Classes:(n+1)*Classes])...)
		}
		return z, p, nil
	}
	// loss is the mean cross-entropy −log p_y in fp32 over the rows (NaN propagates), or with
	// Squared the mean of ½‖z − onehot(y)‖² in fp32 (p is then the logits).
	loss := func(rows []int, p []float64) float64 {
		var s float32
		for n, i := range rows {
			if cfg.Squared {
				for c := range Classes {
					d := float32(p[n*Classes+c])
					if c == y[i] {
						d--
					}
					s += 0.5 * d * d
				}
				continue
			}
			s += -float32(math.Log(p[n*Classes+y[i]]))
		}
		return float64(s / float32(len(rows)))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	weightsFinite := func() bool {
		for c := range w {
			for _, v := range w[c] {
				if !finite(float64(v)) {
					return false
				}
			}
		}
		return true
	}

	for step := range Steps {
		rows := make([]int, Batch)
		for n := range rows {
			rows[n] = (step*Batch + n) % Train
		}
		zAll, pAll, err := forward(all)
		if err != nil {
			return res, err
		}
		if cfg.Squared {
			pAll = zAll
		}
		l := loss(all, pAll)
		if res.FirstNonFinite < 0 && (!finite(l) || !weightsFinite()) {
			res.FirstNonFinite = step
		}
		res.Losses = append(res.Losses, l)
		if math.IsNaN(l) && res.FirstNaN < 0 {
			res.FirstNaN = step
			for _, v := range zAll {
				res.MaxLogitAtNaN = max(res.MaxLogitAtNaN, math.Abs(v))
			}
		}
		p := make([]float64, 0, Batch*Classes)
		for _, i := range rows {
			p = append(p, pAll[i*Classes:(i+1)*Classes]...)
		}
		// Backward: dz = S·LossWeight·(p − onehot)/Batch (Squared: S·(z − onehot)/Batch) stored
		// in fp16; dW = Σ dz·x in fp32, stored in fp16.
		scale := 1.0
		if sc != nil {
			scale = float64(sc.Scale())
		}
		dz := make([]float64, len(p))
		exact := make([]float64, len(p))
		for n, i := range rows {
			for c := range Classes {
				d := p[n*Classes+c]
				if c == y[i] {
					d--
				}
				exact[n*Classes+c] = d * lw / Batch
				dz[n*Classes+c] = f16(d * scale * lw / Batch)
			}
		}
		g16 := make([]float16.Float16, Classes*Features)
		for c := range Classes {
			for j := range Features {
				var acc, ex float32
				for n, i := range rows {
					acc += float32(dz[n*Classes+c]) * float32(x[i][j])
					ex += float32(exact[n*Classes+c]) * float32(x[i][j])
				}
				g16[c*Features+j] = float16.Fromfloat32(float32(f16(float64(acc))))
				if g16[c*Features+j].Float32() != 0 {
					res.NonzeroGrads++
				}
				if ex != 0 {
					res.ExactNonzero++
				}
			}
		}
		// The gradients the norm is taken of: fp16, or fp32 after the scaler's unscale (clipping
		// must see unscaled gradients: unscale, clip, step, update).
		master := make([]float32, len(g16))
		gf := fp.FP16
		if sc != nil {
			sc.UnscaleFloat16(master, g16)
			gf = fp.FP32
		} else {
			for i, h := range g16 {
				master[i] = h.Float32()
			}
		}
		grads := make([]float64, len(master))
		for i, v := range master {
			grads[i] = float64(v)
		}
		norm, err := Norm2(gf, grads)
		if err != nil {
			return res, err
		}
		res.GradNorms = append(res.GradNorms, norm)
		res.NaiveNorms = append(res.NaiveNorms, NaiveNorm2(gf, grads))
		if cfg.Observe != nil {
			cfg.Observe(step, gf, grads, norm)
		}
		coef := 1.0
		if cfg.ClipNorm > 0 {
			// clip_grad_norm_: every gradient multiplied in place by the clamped coefficient,
			// each product rounded once in the gradients' format.
			coef = ClipCoef(gf, norm, cfg.ClipNorm)
			for i, g := range grads {
				r, _ := gf.RoundFloat64(g * coef)
				master[i] = float32(r)
			}
		}
		res.ClipCoefs = append(res.ClipCoefs, coef)
		apply := func() {
			for c := range Classes {
				for j := range Features {
					w[c][j] -= float32(rate/lw) * master[c*Features+j]
				}
			}
		}
		if sc != nil {
			if sc.Step(apply) {
				res.Skipped++
			}
			sc.Update()
		} else {
			apply()
		}
	}
	z, p, err := forward(all)
	if err != nil {
		return res, err
	}
	if cfg.Squared {
		p = z
	}
	res.Losses = append(res.Losses, loss(all, p))
	if res.FirstNonFinite < 0 && (!finite(res.Losses[Steps]) || !weightsFinite()) {
		res.FirstNonFinite = Steps
	}
	correct := 0
	for i := range all {
		best := 0
		for c := range Classes {
			if p[i*Classes+c] > p[i*Classes+best] {
				best = c
			}
		}
		if best == y[i] {
			correct++
		}
	}
	res.Accuracy = float64(correct) / Train
	res.WeightsAllFine = weightsFinite()
	if sc != nil {
		res.FinalScale = sc.Scale()
	}
	return res, nil
}

// Runs returns the configurations of the demonstration for a data seed, in the order Check
// numbers them: (a), (b), (c), (d) unclipped and (d) clipped.
func Runs(seed uint64) []Config {
	return []Config{
		{Stable: false, Scaling: true, Seed: seed},
		{Stable: true, Scaling: false, Seed: seed},
		{Stable: true, Scaling: true, Seed: seed},
		{Squared: true, LearningRate: ExplodeRate, Seed: seed},
		{Squared: true, LearningRate: ExplodeRate, ClipNorm: ClipMaxNorm, Seed: seed},
	}
}

// RunNames names the runs of Runs.
var RunNames = []string{
	"(a) naive softmax + scaler",
	"(b) stable softmax, no scaling",
	"(c) stable softmax + scaler",
	"(d) squared error, lr 0.1, no clipping",
	"(d) squared error, lr 0.1, clip_grad_norm_ 0.25",
}

// finiteBefore returns the number of leading finite values of vs.
func finiteBefore(vs []float64) int {
	for i, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return i
		}
	}
	return len(vs)
}

// Growth returns the steps of r before its first non-finite gradient norm or loss (k) and the
// factor by which the gradient norm grew over them, GradNorms[k−1]/GradNorms[0] (NaN when
// k < 2).
func (r Result) Growth() (k int, factor float64) {
	k = finiteBefore(r.GradNorms)
	if r.FirstNonFinite >= 0 {
		k = min(k, r.FirstNonFinite)
	}
	if k < 2 {
		return k, math.NaN()
	}
	return k, r.GradNorms[k-1] / r.GradNorms[0]
}

// Demo runs the configurations of Runs, prints one line each to w (and for (d) the gradient-norm
// log up to the first non-finite value, and the clip coefficients) and returns an error if an
// outcome is not the expected one.
func Demo(w io.Writer, seed uint64) error {
	for i, cfg := range Runs(seed) {
		res, err := Run(cfg)
		if err != nil {
			return err
		}
		name := RunNames[i]
		if !cfg.Squared {
			fmt.Fprintf(w, "%s: loss %.4g → %.4g, accuracy %.3f, max |logit| %g, first NaN at step %d, skipped %d, final scale %g, nonzero fp16 weight gradients %d of %d\n",
				name, res.Losses[0], res.Losses[len(res.Losses)-1], res.Accuracy, res.MaxLogit, res.FirstNaN,
				res.Skipped, res.FinalScale, res.NonzeroGrads, res.ExactNonzero)
		} else if cfg.ClipNorm == 0 {
			k, g := res.Growth()
			fmt.Fprintf(w, "%s (stability limit 2/λmax = %.4g): loss %.4g → %.4g; gradient norm ×%.4g over steps 0–%d (%.4g → %.4g), first non-finite gradient norm at step %d, first non-finite loss or weights at step %d (loss %g), first NaN loss at step %d\n",
				name, 2/MaxCurvature(seed), res.Losses[0], res.Losses[len(res.Losses)-1], g, k-1, res.GradNorms[0], res.GradNorms[max(k-1, 0)],
				finiteBefore(res.GradNorms), res.FirstNonFinite, res.Losses[max(res.FirstNonFinite, 0)], res.FirstNaN)
			fmt.Fprintf(w, "    step  loss          ‖g‖₂ (fp16, scaled)  naive fp16 √Σg²\n")
			for s := 0; s <= min(res.FirstNonFinite+1, Steps-1) && s < len(res.GradNorms); s++ {
				fmt.Fprintf(w, "    %4d  %-12.6g  %-19.6g  %g\n", s, res.Losses[s], res.GradNorms[s], res.NaiveNorms[s])
			}
		} else {
			cmax := 0.0
			for _, c := range res.ClipCoefs {
				cmax = max(cmax, c)
			}
			fmt.Fprintf(w, "%s: loss %.4g → %.4g (least-squares minimum %.4g), accuracy %.3f, first non-finite at step %d, max ‖g‖₂ %.4g, clip coefficient %.4g … %.4g\n",
				name, res.Losses[0], res.Losses[len(res.Losses)-1], res.MinLoss, res.Accuracy, res.FirstNonFinite,
				maxOf(res.GradNorms), minOf(res.ClipCoefs), cmax)
		}
		if err := Check(i, res); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func maxOf(vs []float64) float64 {
	m := math.Inf(-1)
	for _, v := range vs {
		m = max(m, v)
	}
	return m
}

func minOf(vs []float64) float64 {
	m := math.Inf(1)
	for _, v := range vs {
		m = min(m, v)
	}
	return m
}

// Check verifies the expected outcome of run 0 (a), 1 (b), 2 (c), 3 ((d) unclipped) or 4 ((d)
// clipped), as numbered by Runs.
func Check(run int, r Result) error {
	thr := fp.FP16.Exp().Overflow
	switch run {
	case 0:
		switch {
		case r.FirstNaN < 0:
			return fmt.Errorf("the naive softmax never went NaN (max |logit| %g)", r.MaxLogit)
		case !(r.MaxLogitAtNaN > thr):
			return fmt.Errorf("the loss went NaN with max |logit| %g, not above fp16's exp threshold %g", r.MaxLogitAtNaN, thr)
		case !math.IsNaN(r.Losses[len(r.Losses)-1]):
			return fmt.Errorf("the loss recovered to %g", r.Losses[len(r.Losses)-1])
		case r.Skipped == 0 || !r.WeightsAllFine:
			return fmt.Errorf("the scaler skipped %d steps and the weights are finite: %v", r.Skipped, r.WeightsAllFine)
		case r.Skipped >= 166 && r.FinalScale != lossscale.DefaultOptions().Floor:
			// 166 backoffs from 2^16 reach 0 in PyTorch; the floor holds the scale at 2^-126.
			return fmt.Errorf("after %d skipped steps the scale is %g, not the floor", r.Skipped, r.FinalScale)
		}
	case 1:
		switch {
		case r.ExactNonzero == 0:
			return fmt.Errorf("the exact gradients were zero: the stall would not be underflow")
		case r.NonzeroGrads != 0:
			return fmt.Errorf("%d fp16 weight gradients survived without scaling", r.NonzeroGrads)
		case r.Accuracy > 0.5 || r.Losses[len(r.Losses)-1] != r.Losses[0]:
			return fmt.Errorf("learning did not stall: accuracy %g, loss %g → %g", r.Accuracy, r.Losses[0], r.Losses[len(r.Losses)-1])
		}
	case 2:
		last := r.Losses[len(r.Losses)-1]
		switch {
		case r.FirstNaN >= 0:
			return fmt.Errorf("the loss went NaN at step %d", r.FirstNaN)
		case r.Accuracy < 0.95:
			return fmt.Errorf("accuracy %g < 0.95", r.Accuracy)
		case !(last < r.Losses[0]/10):
			return fmt.Errorf("loss %g → %g did not fall tenfold", r.Losses[0], last)
		case !(r.MaxLogit > thr):
			return fmt.Errorf("the logits stayed below fp16's exp threshold (%g): the run does not show the naive failure's regime", r.MaxLogit)
		}
	case 3:
		k, g := r.Growth()
		switch {
		case !(r.Rate > 2/r.Curvature):
			return fmt.Errorf("the learning rate %g is below the stability limit 2/λmax = %g", r.Rate, 2/r.Curvature)
		case r.FirstNonFinite < 0:
			return fmt.Errorf("the unclipped run stayed finite (final loss %g)", r.Losses[len(r.Losses)-1])
		case k < 3:
			return fmt.Errorf("only %d finite gradient norms before the first non-finite value: no growth to log", k)
		case !(g >= 1000):
			return fmt.Errorf("the gradient norm grew only ×%g over the %d steps before the first non-finite value", g, k)
		case finiteBefore(r.Losses[len(r.Losses)-1:]) != 0:
			return fmt.Errorf("the loss recovered to %g", r.Losses[len(r.Losses)-1])
		}
		for s := 1; s < k; s++ {
			if !(r.GradNorms[s] > r.GradNorms[s-1]) {
				return fmt.Errorf("the gradient norm did not grow at step %d: %g after %g", s, r.GradNorms[s], r.GradNorms[s-1])
			}
		}
	case 4:
		last := r.Losses[len(r.Losses)-1]
		switch {
		case r.FirstNonFinite >= 0 || !r.WeightsAllFine:
			return fmt.Errorf("the clipped run went non-finite at step %d", r.FirstNonFinite)
		case finiteBefore(r.Losses) != len(r.Losses):
			return fmt.Errorf("non-finite loss at step %d", finiteBefore(r.Losses))
		case !(last < r.Losses[0]/10):
			return fmt.Errorf("loss %g → %g did not fall tenfold", r.Losses[0], last)
		case r.Accuracy < 0.95:
			return fmt.Errorf("accuracy %g < 0.95", r.Accuracy)
		case !(last <= 2*r.MinLoss):
			return fmt.Errorf("final loss %g is more than twice the least-squares minimum %g", last, r.MinLoss)
		}
		for s, c := range r.ClipCoefs {
			if !(c >= 0 && c <= 1) {
				return fmt.Errorf("clip coefficient %g at step %d is not in [0, 1]", c, s)
			}
		}
	}
	return nil
}
