// This file implements the mergeable histogram of ulp errors.

package reports

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// The bucket scheme of Histogram (part of the schema: changing it is a new schema version).
const (
	HistMinExp = -20 // the first octave is [2^HistMinExp, 2^(HistMinExp+1))
	HistMaxExp = 64  // errors ≥ 2^HistMaxExp go to Above
	HistSub    = 16  // linear sub-buckets per octave
)

// A Histogram counts ulp errors exactly in fixed buckets (see the package documentation), so
// that histograms of disjoint sets of cases add up to the histogram of their union. The zero
// Histogram is empty and ready to use.
type Histogram struct {
	Zero    int64         // errors exactly 0
	Below   int64         // errors in (0, 2^HistMinExp)
	Buckets map[int]int64 // index b: errors in [lo(b), hi(b)) with BucketBounds
	Above   int64         // finite errors ≥ 2^HistMaxExp
	Inf     int64         // +Inf errors (an infinite or NaN output for a finite exact value, …)
	NaN     int64         // NaN errors (should not happen; counted so that nothing is lost)
}

// BucketIndex returns the bucket of a finite error e in [2^HistMinExp, 2^HistMaxExp):
// 16·(E − HistMinExp) + s for e in [2^E·(1 + s/16), 2^E·(1 + (s+1)/16)). It is exact (no
// logarithm is evaluated). ok is false outside that range.
func BucketIndex(e float64) (b int, ok bool) {
	if !(e >= math.Ldexp(1, HistMinExp)) || !(e < math.Ldexp(1, HistMaxExp)) {
		return 0, false
	}
	m, x := math.Frexp(e) // e = m·2^x, m in [0.5, 1)
	E := x - 1
	s := int(math.Floor((2*m - 1) * HistSub)) // (2m − 1)·16 is exact: m has ≤ 53 bits
	return HistSub*(E-HistMinExp) + s, true
}

// BucketBounds returns the bucket b's range [lo, hi).
func BucketBounds(b int) (lo, hi float64) {
	E := b/HistSub + HistMinExp
	s := b % HistSub
	return math.Ldexp(1+float64(s)/HistSub, E), math.Ldexp(1+float64(s+1)/HistSub, E)
}

// Add counts one error.
func (h *Histogram) Add(e float64) {
	switch {
	case math.IsNaN(e):
		h.NaN++
	case math.IsInf(e, 0):
		h.Inf++
	case e == 0:
		h.Zero++
	case e < 0:
		panic(fmt.Sprintf("reports: negative ulp error %v", e))
	case e < math.Ldexp(1, HistMinExp):
		h.Below++
	case e >= math.Ldexp(1, HistMaxExp):
		h.Above++
	default:
		b, _ := BucketIndex(e)
		if h.Buckets == nil {
			h.Buckets = map[int]int64{}
		}
		h.Buckets[b]++
	}
}

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o Histogram) {
	h.Zero += o.Zero
	h.Below += o.Below
	h.Above += o.Above
	h.Inf += o.Inf
	h.NaN += o.NaN
	for b, n := range o.Buckets {
		if h.Buckets == nil {
			h.Buckets = map[int]int64{}
		}
		h.Buckets[b] += n
	}
}

// Total returns the number of errors counted, NaN excluded.
func (h *Histogram) Total() int64 {
	t := h.Zero + h.Below + h.Above + h.Inf
	for _, n := range h.Buckets {
		t += n
	}
	return t
}

func (h *Histogram) sortedBuckets() []int {
	bs := make([]int, 0, len(h.Buckets))
	for b, n := range h.Buckets {
		if n != 0 {
			bs = append(bs, b)
		}
	}
	sort.Ints(bs)
	return bs
}

// Quantile returns an upper bound of the nearest-rank q-quantile of the counted errors (NaN
// excluded): the upper edge of the bucket holding the element of rank ⌈q·Total⌉, clamped to max
// (the exact maximum, which the caller keeps).
//
// Special cases are:
//
//	Quantile(q, max) = NaN when Total() = 0
//	Quantile(q, max) = 0 when the rank falls on the exact-zero bucket
//	Quantile(q, max) = +Inf when it falls on the Inf bucket
//	Quantile(q, max) = max when it falls on Above, or on the bucket that holds max
func (h *Histogram) Quantile(q, max float64) float64 {
	total := h.Total()
	if total == 0 {
		return math.NaN()
	}
	rank := int64(math.Ceil(q * float64(total)))
	rank = min(total, rank)
	rank = int64(math.Max(1, float64(rank)))
	clamp := func(x float64) float64 {
		if x > max {
			return max
		}
		return x
	}
	if rank -= h.Zero; rank <= 0 {
		return 0
	}
	if rank -= h.Below; rank <= 0 {
		return clamp(math.Ldexp(1, HistMinExp))
	}
	for _, b := range h.sortedBuckets() {
		if rank -= h.Buckets[b]; rank <= 0 {
			_, hi := BucketBounds(b)
			return clamp(hi)
		}
	}
	if rank -= h.Above; rank <= 0 {
		return max
	}
	return math.Inf(1)
}

// histJSON is the JSON form of a Histogram: the scheme, the special buckets, and the non-empty
// buckets as ascending [index, count] pairs.
type histJSON struct {
	MinExp  int        `json:"min_exp"`
	MaxExp  int        `json:"max_exp"`
	Sub     int        `json:"sub"`
	Zero    int64      `json:"zero"`
	Below   int64      `json:"below"`
	Buckets [][2]int64 `json:"buckets"`
	Above   int64      `json:"above"`
	Inf     int64      `json:"inf"`
	NaN     int64      `json:"nan"`
}

// MarshalJSON implements json.Marshaler.
func (h Histogram) MarshalJSON() ([]byte, error) {
	j := histJSON{MinExp: HistMinExp, MaxExp: HistMaxExp, Sub: HistSub, Zero: h.Zero, Below: h.Below,
		Above: h.Above, Inf: h.Inf, NaN: h.NaN, Buckets: [][2]int64{}}
	for _, b := range h.sortedBuckets() {
		j.Buckets = append(j.Buckets, [2]int64{int64(b), h.Buckets[b]})
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler; it refuses another bucket scheme.
func (h *Histogram) UnmarshalJSON(data []byte) error {
	var j histJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	if j.MinExp != HistMinExp || j.MaxExp != HistMaxExp || j.Sub != HistSub {
		return fmt.Errorf("reports: histogram scheme (%d, %d, %d), want (%d, %d, %d)",
			j.MinExp, j.MaxExp, j.Sub, HistMinExp, HistMaxExp, HistSub)
	}
	*h = Histogram{Zero: j.Zero, Below: j.Below, Above: j.Above, Inf: j.Inf, NaN: j.NaN}
	maxB := HistSub * (HistMaxExp - HistMinExp)
	for _, p := range j.Buckets {
		if p[0] < 0 || p[0] >= int64(maxB) || p[1] < 0 {
			return fmt.Errorf("reports: bad histogram bucket %v", p)
		}
		if h.Buckets == nil {
			h.Buckets = map[int]int64{}
		}
		h.Buckets[int(p[0])] += p[1]
	}
	return nil
}
