// This file implements the algorithms of the bundled kernels, over an accumulation type F.

package kernels

import "math"

// accum is the type bundled kernels compute in: float32 or float64.
type accum interface{ float32 | float64 }

// expF is exp in F: math.Exp rounded once to F. For float32 its relative error is below
// 2^−24 + 2^−53 (math.Exp is within 1 ulp of float64); for float64 it is math.Exp (< 1 ulp).
func expF[F accum](x F) F { return F(math.Exp(float64(x))) }

// log1pF is log(1+x) in F, as expF.
func log1pF[F accum](x F) F { return F(math.Log1p(float64(x))) }

// rowMax returns the largest element and its first index, or nan = true when x holds a NaN.
// An empty row, or one of −Inf only, gives −Inf (and index 0 for the latter).
func rowMax[F accum](x []F) (m F, k int, nan bool) {
	m = F(math.Inf(-1))
	for i, v := range x {
		if v != v {
			return v, i, true
		}
		if v > m || i == 0 {
			m, k = v, i
		}
	}
	return m, k, false
}

func fill[F accum](dst []F, v float64) {
	for i := range dst {
		dst[i] = F(v)
	}
}

// naiveSoftmax is the seed article's softmax: w_i = exp(x_i), y_i = w_i / Σ w_j. Deliberately
// broken: exp overflows for x_i above the format's exp threshold (88.72 in float32), giving
// Inf/Inf = NaN, and underflows for rows far below 0, giving 0/0.
func naiveSoftmax[F accum](dst, x []F) {
	var s F
	for i, v := range x {
		dst[i] = expF(v)
		s += dst[i]
	}
	for i := range dst {
		dst[i] /= s
	}
}

// shiftedSoftmax is Blanchard, Higham & Higham's Algorithm 4.1 for softmax: m = max x,
// w_i = exp(x_i − m), y_i = w_i / Σ w_j, summed left to right. Relative error per component
// ≤ (n + 2 + 2(x_max − x_min))u to first order (Thm 4.3). A fully masked row gives NaN
// (−Inf − (−Inf)), a NaN or +Inf in the row gives NaN everywhere.
func shiftedSoftmax[F accum](dst, x []F) {
	m, _, nan := rowMax(x)
	if nan {
		fill(dst, math.NaN())
		return
	}
	var s F
	for i, v := range x {
		dst[i] = expF(v - m)
		s += dst[i]
	}
	for i := range dst {
		dst[i] /= s
	}
}

// onlineSoftmax is the single-pass softmax of Milakov & Gimelshein: m_j = max(m_{j−1}, x_j),
// d_j = d_{j−1}·exp(m_{j−1} − m_j) + exp(x_j − m_j), y_i = exp(x_i − m_n)/d_n, with
// FlashAttention's guard: a running max of −Inf is replaced by 0 in the exponents, so a row that
// starts with −Inf is not NaN, and a fully masked row gives exactly 0 (policy MaskZero).
// Relative error ≤ (n + 2r + 2 + x_max − x_min)u with r the number of max updates (NUMERICS §4).
func onlineSoftmax[F accum](dst, x []F) { online(dst, x, true) }

func online[F accum](dst, x []F, guard bool) {
	m := F(math.Inf(-1))
	var d F
	for _, v := range x {
		mn := m
		if v > mn || v != v {
			mn = v
		}
		ms := mn
		if guard && math.IsInf(float64(mn), -1) {
			ms = 0
		}
		d = F(d*expF(m-ms)) + expF(v-ms)
		m = mn
	}
	if guard && math.IsInf(float64(m), -1) {
		fill(dst, 0)
		return
	}
	for i, v := range x {
		dst[i] = expF(v-m) / d
	}
}

// logSoftmaxShifted computes y_j = (x_j − m) − log1p(s), s = Σ_{i≠k} exp(x_i − m) with k an
// index of the maximum m. Relative error ≤ (3 + n + x_max − x_min)u to first order (NUMERICS §3).
// NaN or +Inf in the row, or a fully masked row, gives NaN everywhere.
func logSoftmaxShifted[F accum](dst, x []F) {
	m, k, nan := rowMax(x)
	if nan || math.IsInf(float64(m), 0) {
		fill(dst, math.NaN())
		return
	}
	l := log1pF(sumExpShifted(x, m, k))
	for j, v := range x {
		dst[j] = (v - m) - l
	}
}

func sumExpShifted[F accum](x []F, m F, k int) F {
	var s F
	for i, v := range x {
		if i != k {
			s += expF(v - m)
		}
	}
	return s
}

// lseShifted computes m + log1p(s) (Algorithm 4.1). Absolute error ≤ (|y| + log1p(s) +
// s/(1+s)·(n + x_max − x_min))u to first order (eq. 4.8 plus the final addition).
// Special cases: empty or fully masked row −Inf; a NaN NaN; a +Inf (and no NaN) +Inf.
func lseShifted[F accum](x []F) F {
	m, k, nan := rowMax(x)
	if nan || math.IsInf(float64(m), 0) {
		return m
	}
	return m + log1pF(sumExpShifted(x, m, k))
}

// softmaxBackward computes dx_i = y_i(dy_i − c), c = Σ_j dy_j y_j, y = shiftedSoftmax(x),
// all in F. Absolute error ≤ y_i[(e_y + γ_n)Σ_j|dy_j|y_j + (e_y + γ_2)|dy_i − c|] with e_y the
// softmax bound (NUMERICS §3). Where dy_i − c overflows F with both terms finite (dy_i near
// −max and c > 0), it computes y_i·dy_i − y_i·c instead: each product is finite (y_i ≤ 1), a
// y_i that underflowed to 0 gives ±0 rather than 0·Inf = NaN, and the error stays within the
// same bound (y_i|dy_i| + y_i|c| ≤ y_i(|dy_i − c| + 2Σ_j|dy_j|y_j)).
func softmaxBackward[F accum](dx, x, dy []F) {
	shiftedSoftmax(dx, x)
	var c F
	for j, y := range dx {
		c += F(dy[j] * y)
	}
	for i, y := range dx {
		d := dy[i] - c
		if math.IsInf(float64(d), 0) && !math.IsInf(float64(dy[i]), 0) && !math.IsInf(float64(c), 0) {
			dx[i] = y*dy[i] - y*c
			continue
		}
		dx[i] = y * d
	}
}

// ceFused computes PyTorch's F.cross_entropy with class targets: per row the negative log
// likelihood (m − x_t) + log1p(s), never log(softmax), with weights, ignore_index, label
// smoothing (1−ε)·w_t·nll_t + (ε/C)·Σ_c w_c·nll_c, and the reduction (mean divides by Σ w_t of the
// rows not ignored; all ignored gives 0/0 = NaN as PyTorch). Each term is w·((1−ε)/D)·nll_t or
// w_c·(ε/(C·D))·nll_c, scaled before it is summed, so that no partial sum overflows where the
// loss does not; nllTerm keeps m − x_c from overflowing and a tiny w_c·ε/C from underflowing.
// Special cases are:
//
//	a zero coefficient contributes exactly 0, even where its log-probability is −Inf (xlogy,
//	NUMERICS §8; PyTorch gives 0·Inf = NaN there)
//	a nonzero coefficient on a −Inf logit: ±Inf, even where the coefficient underflows (ε = 1
//	makes the target's (1−ε)·w_t exactly 0, not 0·Inf)
//	a NaN or +Inf logit, or a fully masked row: NaN, whatever the weight (PyTorch: 0·NaN = NaN)
//
// Absolute error of a term a·nll_c ≤ |a|·(|x_max − x_c| + log1p(s) + (n + d)·s/(1+s) + 5·nll_c)u
// to first order, d = x_max − x_min (the spread enters through the sum s of the exponentials,
// not through the loss), plus the sums of the terms and rows (properties.ceBounds derives it).
func ceFused[F accum](dst, x []F, rows, cols int, t []int, o CEOptions) {
	eps := F(o.LabelSmoothing)
	// The mean's denominator comes first, so that each row's weight is scaled by 1/D before the
	// sum: Σ_n (w_n/D)·l_n cannot overflow where the mean itself does not (the scaled weights sum
	// to 1), as w·l in float32 would for bf16 logits near the top of the range.
	den := classDen[F](rows, t, o)
	scale := den
	if den == 0 {
		scale = 1 // 0/0 (every row ignored or weighted 0) is settled by the final division
	}
	var sum F
	for r := 0; r < rows; r++ {
		var l F
		if t[r] != o.IgnoreIndex {
			xr := x[r*cols : (r+1)*cols]
			w := wOf[F](o, t[r])
			m, k, nan := rowMax(xr)
			switch {
			case nan || math.IsInf(float64(m), 0):
				// NaN even with a zero weight: PyTorch's −w·log p is 0·NaN = NaN there.
				l = F(math.NaN())
			default:
				ls := log1pF(sumExpShifted(xr, m, k))
				st := sign(w)
				if eps == 1 {
					st = 0 // (1−ε)·nll_t is exactly 0, even where nll_t is +Inf
				}
				l = nllTerm(st, w, F(F(1-eps)/scale), m, xr[t[r]], ls)
				if eps != 0 {
					// ε goes into each term, so that the sum of the terms cannot overflow where
					// ε·Σ does not.
					for c, v := range xr {
						wc := wOf[F](o, c)
						l += nllTerm(sign(wc), wc, F(eps/F(F(cols)*scale)), m, v, ls)
					}
				}
			}
		}
		if o.Reduction == ReduceNone {
			dst[r] = l
		}
		sum += l
	}
	switch {
	case o.Reduction == ReduceNone:
	case den == 0:
		dst[0] = sum / den
	default:
		dst[0] = sum
	}
}

// ceGrad computes the gradient of ceFused with respect to the logits: for a row not ignored,
// [(Σ_c w_c t'_c)·p_j − w_j t'_j]/D with t' = (1−ε)onehot(t) + ε/C, p = shiftedSoftmax(x),
// D = Σ w_t (mean) or 1; without smoothing (w_t/D)(p_j − δ_jt). The weights are scaled by 1/D
// first, so that tiny weights (w/D = 1 with w = 2^−149) do not underflow in w·(p_j − δ_jt).
// Special cases are (as PyTorch's autograd):
//
//	ignored rows: 0
//	a row with a NaN or +Inf logit, or every logit −Inf: NaN, whatever its weight
//	a −Inf logit j (p_j = 0): −w_j t'_j/D; the row's other entries stay finite (the loss is +Inf)
//	mean with D = 0 (every row ignored or weighted 0): NaN in every row not ignored (0/0)
func ceGrad[F accum](dx, x []F, rows, cols int, t []int, o CEOptions) {
	den := classDen[F](rows, t, o)
	eps := F(o.LabelSmoothing)
	for r := 0; r < rows; r++ {
		g := dx[r*cols : (r+1)*cols]
		if t[r] == o.IgnoreIndex {
			fill(g, 0)
			continue
		}
		if den == 0 {
			fill(g, math.NaN())
			continue
		}
		shiftedSoftmax(g, x[r*cols:(r+1)*cols])
		if eps == 0 {
			wt := F(wOf[F](o, t[r]) / den)
			for j := range g {
				d := g[j]
				if j == t[r] {
					d = g[j] - 1
				}
				g[j] = wt * d
			}
			continue
		}
		var a F
		for c := 0; c < cols; c++ {
			tc := eps / F(cols)
			if c == t[r] {
				tc += 1 - eps
			}
			a += F(F(wOf[F](o, c)/den) * tc)
		}
		for j := range g {
			tj := eps / F(cols)
			if j == t[r] {
				tj += 1 - eps
			}
			g[j] = F(a*g[j]) - F(F(wOf[F](o, j)/den)*tj)
		}
	}
}

// classDen is the divisor of a class-target reduction: Σ w_t over the rows not ignored for the
// mean (PyTorch), 1 for sum and none.
func classDen[F accum](rows int, t []int, o CEOptions) F {
	if o.Reduction != ReduceMean {
		return 1
	}
	var den F
	for r := 0; r < rows; r++ {
		if t[r] != o.IgnoreIndex {
			den += wOf[F](o, t[r])
		}
	}
	return den
}

func wOf[F accum](o CEOptions, c int) F {
	if o.Weights == nil {
		return 1
	}
	return F(o.Weights[c])
}

func sign[F accum](x F) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// nllTerm returns a·b·nll_c, nll_c = (m − v) + ls, the contribution of a class with logit v to a
// row's loss (m the row's maximum, ls = log1p(s)); a·b is the class's coefficient (a weight and
// a scale: (1−ε)/D, ε/(C·D), t'_c/D) and s the sign of its exact value. The three factors are
// multiplied smallest by largest first (mul3), so that neither a coefficient that underflows
// (w = 2^−149 times ε/C) nor a product that overflows (w·nll with w > 1) loses a term that is
// representable. Special cases are:
//
//	s = 0: exactly 0, even where v = −Inf (xlogy: no 0·Inf = NaN)
//	v = −Inf: ±Inf by s
//	m − v overflows with v finite: a·b·m − a·b·v + a·b·ls (m > 0 > v: no cancellation)
func nllTerm[F accum](s int, a, b, m, v, ls F) F {
	switch {
	case s == 0:
		return 0
	case math.IsInf(float64(v), -1):
		return F(math.Inf(s))
	}
	if d := m - v; !math.IsInf(float64(d), 0) {
		return mul3(a, b, F(d+ls))
	}
	return F(F(mul3(a, b, m)-mul3(a, b, v)) + mul3(a, b, ls))
}

// mul3 returns x·y·z with two roundings, multiplying the factors of smallest and largest
// magnitude first: the partial product then lies between the other factor's reciprocal and the
// result, so it overflows or underflows only where the result nearly does.
func mul3[F accum](x, y, z F) F {
	ax, ay, az := abs(x), abs(y), abs(z)
	// Order so that |x| ≤ |z| and y is the middle one.
	if ax > az {
		x, z, ax, az = z, x, az, ax
	}
	if ay < ax {
		x, y = y, x
	} else if ay > az {
		y, z = z, y
	}
	return F(F(x*z) * y)
}

func abs[F accum](x F) F {
	if x < 0 {
		return -x
	}
	return x
}

// fp16AccSoftmax is the shifted softmax with its sum accumulated in fp16 (every partial sum
// rounded to fp16, as a naive half-precision kernel does). Deliberately broken: on a flat row
// of n > 2048 equal logits the sum stalls at 2048 (2048 + 1 rounds to 2048), and the outputs are
// 1/2048 instead of 1/n.
func fp16AccSoftmax(dst, x []float32, round func(float32) float32) {
	m, _, nan := rowMax(x)
	if nan {
		fill(dst, math.NaN())
		return
	}
	var s float32
	for i, v := range x {
		dst[i] = round(expF(v - m))
		s = round(s + dst[i])
	}
	for i := range dst {
		dst[i] /= s
	}
}

// ceFusedProb computes F.cross_entropy with probability targets: per row
// l_n = Σ_c w_c t'_c ((m − x_c) + log1p(s)), t' = t(1−ε) + ε/C, a zero t'_c contributing exactly 0
// (xlogy: no 0·Inf, where PyTorch's −Σ t·log p gives NaN: NUMERICS §8 chooses xlogy), a nonzero
// one on a −Inf logit ±Inf even where w_c·t'_c underflows; mean divides by the number of rows.
func ceFusedProb[F accum](dst, x, t []F, rows, cols int, o CEOptions) {
	// The mean divides each coefficient by the number of rows first, so that the sum of the
	// rows' losses cannot overflow where the mean does not.
	den := F(1)
	if o.Reduction == ReduceMean {
		den = F(rows)
	}
	var sum F
	eps := F(o.LabelSmoothing)
	for r := 0; r < rows; r++ {
		xr, tr := x[r*cols:(r+1)*cols], t[r*cols:(r+1)*cols]
		var l F
		m, k, nan := rowMax(xr)
		if nan || math.IsInf(float64(m), 0) {
			l = F(math.NaN())
		} else {
			ls := log1pF(sumExpShifted(xr, m, k))
			for c, v := range xr {
				tc := F(tr[c]*(1-eps)) + eps/F(cols)
				wc := wOf[F](o, c)
				l += nllTerm(sign(wc)*sign(tc), wc, F(tc/den), m, v, ls)
			}
		}
		if o.Reduction == ReduceNone {
			dst[r] = l
		}
		sum += l
	}
	switch {
	case o.Reduction == ReduceNone:
	case rows == 0 && o.Reduction == ReduceMean:
		dst[0] = F(math.NaN()) // 0/0, as PyTorch
	default:
		dst[0] = sum
	}
}

// ceGradProb is the gradient of ceFusedProb: [(Σ_c w_c t'_c)·p_j − w_j t'_j]/D, D = rows for the
// mean and 1 otherwise.
func ceGradProb[F accum](dx, x, t []F, rows, cols int, o CEOptions) {
	den := F(1)
	if o.Reduction == ReduceMean {
		den = F(rows)
	}
	eps := F(o.LabelSmoothing)
	for r := 0; r < rows; r++ {
		g, tr := dx[r*cols:(r+1)*cols], t[r*cols:(r+1)*cols]
		shiftedSoftmax(g, x[r*cols:(r+1)*cols])
		var a F
		for c := range tr {
			a += F(wOf[F](o, c) * (F(tr[c]*(1-eps)) + eps/F(cols)))
		}
		for j := range g {
			tj := F(tr[j]*(1-eps)) + eps/F(cols)
			g[j] = (F(a*g[j]) - F(wOf[F](o, j)*tj)) / den
		}
	}
}
