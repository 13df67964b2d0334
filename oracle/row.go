// This file implements what every row operation shares: the classification of a row by its
// special values (NUMERICS §5) and the slow-path enclosures of its shifted exponentials, their
// sum and its logarithm at a given working precision.

package oracle

import (
	"math"
	"math/big"
)

// rowInfo classifies a row of logits.
type rowInfo struct {
	nan, posInf bool
	nFinite     int
	m           float64 // the largest finite entry (valid when nFinite > 0)
	argmax      int     // the first index of m
	allEqual    bool    // every finite entry equals m
}

func analyze(x []float64) rowInfo {
	ri := rowInfo{allEqual: true, argmax: -1}
	for i, v := range x {
		switch {
		case v != v:
			ri.nan = true
		case math.IsInf(v, 1):
			ri.posInf = true
		case math.IsInf(v, -1):
		default:
			if ri.nFinite == 0 || v > ri.m {
				if ri.nFinite > 0 {
					ri.allEqual = false
				}
				ri.m, ri.argmax = v, i
			} else if v != ri.m {
				ri.allEqual = false
			}
			ri.nFinite++
		}
	}
	return ri
}

// bigRow holds, for a row with finite entries and no NaN or +Inf, at working precision w, the
// enclosures of d_i = x_i − m, t_i = exp(d_i), s = Σ_{x_i < m} t_i (the entries below the
// maximum), S = k + s (k entries equal m) and L = log S, computed as log1p(s) when k = 1 so that
// a tiny s keeps its relative accuracy.
type bigRow struct {
	x     []float64
	m     float64
	k     int // the number of entries equal to m
	w     uint
	d, t  []ival
	s, S  ival
	L     ival
	haveL bool
}

func newBigRow(x []float64, m float64) *bigRow {
	k := 0
	for _, v := range x {
		if v == m {
			k++
		}
	}
	return &bigRow{x: x, m: m, k: k, d: make([]ival, len(x)), t: make([]ival, len(x))}
}

// iw returns the internal precision for working precision w: summing n enclosures widens them by
// up to n roundings.
func (r *bigRow) iw(w uint) uint { return internalPrecision(w, len(r.x)) }

// internalPrecision is bigRow.iw for a row of n entries.
func internalPrecision(w uint, n int) uint { return w + 16 + uint(bitsLen(n)) }

func bitsLen(n int) int {
	b := 0
	for ; n > 0; n >>= 1 {
		b++
	}
	return b
}

// exactDiff returns x_i − m exactly (float64 differences need at most 2100 bits).
func (r *bigRow) exactDiff(i int) *big.Float {
	return new(big.Float).SetPrec(2200).Sub(new(big.Float).SetFloat64(r.x[i]), new(big.Float).SetFloat64(r.m))
}

// prepare computes d, t, s and S at working precision w (equal logits share one exponential).
func (r *bigRow) prepare(w uint) {
	if r.w == w {
		return
	}
	r.w, r.haveL = w, false
	iw := r.iw(w)
	seen := make(map[float64]int, 16)
	mf := new(big.Float).SetFloat64(r.m)
	var s ival
	for i, xi := range r.x {
		if math.IsInf(xi, -1) {
			r.d[i], r.t[i] = ival{}, ival{}
			continue
		}
		if j, ok := seen[xi]; ok {
			r.d[i], r.t[i] = r.d[j], r.t[j]
		} else {
			seen[xi] = i
			xf := new(big.Float).SetFloat64(xi)
			d := ival{lo: fl(iw+64, down).Sub(xf, mf), hi: fl(iw+64, up).Sub(xf, mf)}
			r.d[i], r.t[i] = d, expIval(d, iw)
		}
		if xi == r.m {
			continue
		}
		if s.lo == nil {
			s = r.t[i]
		} else {
			s = ivAdd(s, r.t[i], iw)
		}
	}
	if s.lo == nil {
		s = point(0)
	}
	r.s = s
	r.S = ivAdd(point(float64(r.k)), s, iw)
	r.S.pos = true
}

// logS returns the enclosure of L = log S at the current precision.
func (r *bigRow) logS() ival {
	if !r.haveL {
		if r.k == 1 {
			r.L = log1pIval(r.s, r.iw(r.w))
		} else {
			r.L = logIval(r.S, r.iw(r.w))
		}
		r.haveL = true
	}
	return r.L
}

// y returns the enclosure of softmax_i = t_i/S (finite x_i).
func (r *bigRow) y(i int) ival {
	return ivDiv(r.t[i], r.S, r.iw(r.w))
}

// yDefect returns an enclosure of 1/k − y_i = s/(k·S) for an entry equal to the maximum: the
// (positive) distance of its softmax below 1/k.
func (r *bigRow) yDefect() ival {
	iw := r.iw(r.w)
	return ivDiv(r.s, ivMul(point(float64(r.k)), r.S, iw), iw)
}

// logp returns the enclosure of log-softmax_i = d_i − L (finite x_i).
func (r *bigRow) logp(i int) ival {
	return ivSub(r.d[i], r.logS(), r.iw(r.w))
}

// lse returns the enclosure of LSE = m + L.
func (r *bigRow) lse() ival {
	return ivAdd(point(r.m), r.logS(), r.iw(r.w))
}
