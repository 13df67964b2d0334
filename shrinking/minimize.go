// This file implements Minimize: delta debugging over rows and columns, then value simplification
// inside the format.

package shrinking

import (
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/fp"
)

// A Predicate runs a candidate case through the kernel, the oracle and the property, and reports
// whether it fails and the class of the failure (NUMERICS §10: "overflow", "nan", …). It must be
// deterministic and must not keep or modify the case it is given. Minimize may call it with any
// shape from 1×1 up to the original one.
type Predicate func(Case) (failed bool, class string)

// Options bound and steer Minimize. The zero Options is ready to use.
type Options struct {
	MaxCalls   int  // predicate calls at most (distinct candidates; cached ones are free); 0 means 4000
	MinRows    int  // never go below this many rows; 0 means 1
	MinCols    int  // never go below this many columns; 0 means 1
	KeepValues bool // skip the value simplification; drop rows and columns only
}

// Stats describes a run of Minimize.
type Stats struct {
	Calls      int    // predicate calls made
	CacheHits  int    // candidates answered from the cache
	Accepted   int    // candidates that kept the failure and were adopted
	Rounds     int    // passes over rows, columns, values and targets
	RowsBefore int    // shape of the original case
	ColsBefore int    //
	RowsAfter  int    // shape of the result
	ColsAfter  int    //
	Class      string // the failure class kept throughout
	Exhausted  bool   // the call budget ran out: the result is smaller but may not be 1-minimal
}

// String returns a one-line summary such as "1x500 → 1x1 in 73 calls (class nan)".
func (s Stats) String() string {
	ex := ""
	if s.Exhausted {
		ex = ", budget exhausted"
	}
	return fmt.Sprintf("%dx%d → %dx%d in %d calls (class %s%s)", s.RowsBefore, s.ColsBefore,
		s.RowsAfter, s.ColsAfter, s.Calls, s.Class, ex)
}

// Minimize returns a minimal case that fails like c (same class under pred), with statistics.
// See the package documentation for the method and what "minimal" means.
//
// Special cases are:
//
//	c invalid (Validate)            → error
//	c does not fail under pred      → error (nothing to minimise)
//	budget exhausted                → the smallest failing case found so far, Stats.Exhausted set
func Minimize(c Case, pred Predicate, opt Options) (Case, Stats, error) {
	if err := c.Validate(); err != nil {
		return c, Stats{}, err
	}
	if opt.MaxCalls <= 0 {
		opt.MaxCalls = 4000
	}
	if opt.MinRows <= 0 {
		opt.MinRows = 1
	}
	if opt.MinCols <= 0 {
		opt.MinCols = 1
	}
	s := &shrinker{pred: pred, opt: opt, cache: map[string]bool{}, cur: c.Clone()}
	s.stats.RowsBefore, s.stats.ColsBefore = c.Rows, c.Cols
	failed, class := pred(c.Clone())
	s.stats.Calls++
	if !failed {
		return c, s.stats, fmt.Errorf("shrinking: the case does not fail: %s", c)
	}
	s.class = class
	s.stats.Class = class
	s.curKey = s.cur.key()
	s.cache[s.curKey] = true
	for {
		s.stats.Rounds++
		before := s.stats.Accepted
		s.truncateRows()
		s.truncateCols()
		if !opt.KeepValues && !s.valuesSpent() {
			s.simplifyRepeated() // before ddmin: a row of equal values makes most of its candidates equal
		}
		s.dropRows()
		s.dropCols()
		if !opt.KeepValues && !s.valuesSpent() {
			s.simplifyValues()
			s.simplifyTargets()
		}
		if s.stats.Accepted == before || s.stats.Exhausted {
			break
		}
	}
	s.stats.RowsAfter, s.stats.ColsAfter = s.cur.Rows, s.cur.Cols
	return s.cur, s.stats, nil
}

type shrinker struct {
	pred   Predicate
	class  string
	opt    Options
	cache  map[string]bool
	stats  Stats
	cur    Case
	curKey string // cur.key(); candidates are fresh cases, so cur is never changed in place
}

// try reports whether cand fails with the original class, and adopts it if so.
func (s *shrinker) try(cand Case) bool {
	key := cand.key()
	ok, hit := s.cache[key]
	if hit {
		s.stats.CacheHits++
	} else {
		if s.stats.Calls >= s.opt.MaxCalls {
			s.stats.Exhausted = true
			return false
		}
		s.stats.Calls++
		failed, class := s.pred(cand.Clone())
		ok = failed && class == s.class
		s.cache[key] = ok
	}
	if ok && key != s.curKey {
		s.cur, s.curKey = cand, key
		s.stats.Accepted++
	}
	return ok
}

// valuesSpent reports whether the value passes must stop: they leave enough of the budget for
// one more pass of single-row and single-column removals over the current shape, so that a case
// whose values could not all be simplified is still 1-minimal under removal.
func (s *shrinker) valuesSpent() bool {
	reserve := 2*(s.cur.Rows+s.cur.Cols) + 16
	return s.stats.Calls >= s.opt.MaxCalls-reserve
}

// truncateRows and truncateCols look for the shortest failing prefix, then the shortest failing
// suffix, of a long case by bisection on its length: O(log n) calls where ddmin, starting from
// halves, needs O(n) to strip a long run that does not matter. Failure need not be monotone in
// the length, so the bisection is a heuristic; ddmin afterwards makes the result 1-minimal.
func (s *shrinker) truncateRows() {
	if s.cur.Rows < truncateMin || s.cur.Rows <= s.opt.MinRows {
		return
	}
	s.truncate(s.cur.Rows, s.opt.MinRows, func(c Case, keep []int) (Case, bool) { return selectRows(c, keep), true })
}

func (s *shrinker) truncateCols() {
	if s.cur.Cols < truncateMin || s.cur.Cols <= s.opt.MinCols {
		return
	}
	s.truncate(s.cur.Cols, s.opt.MinCols, selectCols)
}

// truncateMin is the shortest length that truncate bisects; ddmin alone is as quick below it.
const truncateMin = 16

// truncate bisects the prefix length, then the suffix length, of the n indices that pick selects
// from the current case, never going below minLen.
func (s *shrinker) truncate(n, minLen int, pick func(Case, []int) (Case, bool)) {
	for _, suffix := range []bool{false, true} {
		c := s.cur
		lo, hi := minLen-1, n // a part of length hi fails (the whole case); lo is not known to
		for hi-lo > 1 && !s.stats.Exhausted {
			mid := lo + (hi-lo)/2
			start := 0
			if suffix {
				start = n - mid
			}
			cand, ok := pick(c, seqFrom(start, mid))
			if ok && s.try(cand) {
				hi = mid
			} else {
				lo = mid
			}
		}
		n = hi
	}
}

// seqFrom returns start, start+1, …, start+n−1.
func seqFrom(start, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = start + i
	}
	return s
}

// dropRows runs ddmin over the row indices.
func (s *shrinker) dropRows() {
	c := s.cur
	if c.Rows <= s.opt.MinRows {
		return
	}
	ddmin(seq(c.Rows), s.opt.MinRows, func(keep []int) bool {
		return s.try(selectRows(c, keep))
	})
}

// dropCols runs ddmin over the column indices; candidates that drop a target column are refused
// without calling the predicate.
func (s *shrinker) dropCols() {
	c := s.cur
	if c.Cols <= s.opt.MinCols {
		return
	}
	ddmin(seq(c.Cols), s.opt.MinCols, func(keep []int) bool {
		cand, ok := selectCols(c, keep)
		return ok && s.try(cand)
	})
}

func seq(n int) []int { return seqFrom(0, n) }

// ddmin is Zeller and Hildebrandt's minimising delta debugging on a list of indices: it returns
// a sublist (in order, at least minLen long) on which test holds and from which removing any one
// index makes test fail, provided test holds on items and the budget lasts.
func ddmin(items []int, minLen int, test func([]int) bool) []int {
	g := 2
	for len(items) > minLen && len(items) >= 2 {
		if g > len(items) {
			g = len(items)
		}
		chunks := split(items, g)
		reduced := false
		for _, ch := range chunks { // reduce to a subset
			if g > subsetGranularity {
				break
			}
			if len(ch) >= minLen && test(ch) {
				items, g, reduced = ch, 2, true
				break
			}
		}
		if !reduced && g > 2 { // reduce to a complement (for g = 2 they are the subsets)
			for i := range chunks {
				comp := make([]int, 0, len(items)-len(chunks[i]))
				for j, ch := range chunks {
					if j != i {
						comp = append(comp, ch...)
					}
				}
				if len(comp) >= minLen && test(comp) {
					items, reduced = comp, true
					g = max(g-1, 2)
					break
				}
			}
		}
		if !reduced {
			if g >= len(items) {
				break
			}
			g = min(2*g, len(items))
		}
	}
	return items
}

// subsetGranularity is the finest split at which ddmin still tries each chunk on its own. Finer
// splits try complements only: a failure confined to a small chunk is found by the prefix and
// suffix bisection, or by complements, and skipping the subsets halves the calls that proving a
// long row 1-minimal costs (about 2n instead of 4n predicate calls on n elements).
const subsetGranularity = 8

// split cuts items into g contiguous chunks whose lengths differ by at most one.
func split(items []int, g int) [][]int {
	out := make([][]int, 0, g)
	n := len(items)
	start := 0
	for i := 0; i < g; i++ {
		end := start + (n-start)/(g-i)
		out = append(out, items[start:end])
		start = end
	}
	return out
}

func selectRows(c Case, keep []int) Case {
	d := c.Clone()
	d.Rows = len(keep)
	pick := func(s []float64) []float64 {
		if s == nil {
			return nil
		}
		out := make([]float64, 0, len(keep)*c.Cols)
		for _, r := range keep {
			out = append(out, s[r*c.Cols:(r+1)*c.Cols]...)
		}
		return out
	}
	d.X, d.DY, d.Probs = pick(c.X), pick(c.DY), pick(c.Probs)
	if c.Targets != nil {
		d.Targets = make([]int, len(keep))
		for i, r := range keep {
			d.Targets[i] = c.Targets[r]
		}
	}
	return d
}

// selectCols keeps the columns in keep (ascending); ok is false when a row's target column
// would be dropped.
func selectCols(c Case, keep []int) (Case, bool) {
	newIdx := make(map[int]int, len(keep))
	for i, k := range keep {
		newIdx[k] = i
	}
	d := c.Clone()
	if c.Targets != nil {
		for i, t := range c.Targets {
			if t < 0 {
				continue
			}
			j, ok := newIdx[t]
			if !ok {
				return c, false
			}
			d.Targets[i] = j
		}
	}
	d.Cols = len(keep)
	pick := func(s []float64) []float64 {
		if s == nil {
			return nil
		}
		out := make([]float64, 0, c.Rows*len(keep))
		for r := 0; r < c.Rows; r++ {
			for _, k := range keep {
				out = append(out, s[r*c.Cols+k])
			}
		}
		return out
	}
	d.X, d.DY, d.Probs = pick(c.X), pick(c.DY), pick(c.Probs)
	if c.Weights != nil {
		d.Weights = make([]float64, len(keep))
		for i, k := range keep {
			d.Weights[i] = c.Weights[k]
		}
	}
	return d, true
}

// valueFields are the float slices of a case that the value passes simplify, in their order.
var valueFields = []func(*Case) []float64{
	func(c *Case) []float64 { return c.X },
	func(c *Case) []float64 { return c.DY },
	func(c *Case) []float64 { return c.Probs },
	func(c *Case) []float64 { return c.Weights },
}

// simplifyValues moves each float toward 0 inside the format (see the package documentation).
func (s *shrinker) simplifyValues() {
	for _, field := range valueFields {
		for i := 0; i < len(field(&s.cur)) && !s.valuesSpent(); i++ {
			s.simplifyValue(field, []int{i})
		}
	}
}

// simplifyRepeated moves each value that occurs more than once in a field toward 0 at all its
// places at once, in the order of first occurrence. Long generated rows hold few distinct values
// (a run of one logit beside a few others), so this pass costs calls per distinct value where
// simplifyValues costs them per element.
func (s *shrinker) simplifyRepeated() {
	for _, field := range valueFields {
		vals := field(&s.cur)
		if len(vals) < 2 {
			continue
		}
		places := map[uint64][]int{}
		var order []uint64
		for i, v := range vals {
			b := math.Float64bits(v)
			if places[b] == nil {
				order = append(order, b)
			}
			places[b] = append(places[b], i)
		}
		for _, b := range order {
			if len(places[b]) > 1 && !s.valuesSpent() {
				s.simplifyValue(field, places[b])
			}
		}
	}
}

// with returns a copy of the current case with field()[i] set to v for every i in at.
func (s *shrinker) with(field func(*Case) []float64, at []int, v float64) Case {
	d := s.cur.Clone()
	for _, i := range at {
		field(&d)[i] = v
	}
	return d
}

// simplifyValue moves the value at the places at (all equal) toward 0 together.
func (s *shrinker) simplifyValue(field func(*Case) []float64, at []int) {
	f := s.cur.Format
	v := field(&s.cur)[at[0]]
	if v == 0 {
		if math.Signbit(v) {
			s.try(s.with(field, at, 0))
		}
		return
	}
	if s.try(s.with(field, at, 0)) || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if v < 0 && s.try(s.with(field, at, -v)) {
		v = -v
	}
	// Nice candidates, each strictly smaller in magnitude than v and of the same sign.
	for _, cand := range niceCandidates(f, v) {
		if s.try(s.with(field, at, cand)) {
			v = cand
			break
		}
	}
	if s.stats.Exhausted {
		return
	}
	// Binary search on the magnitude encoding: 0 does not fail (tried above), |v| does.
	signBit := uint64(0)
	if v < 0 {
		signBit = 1 << (f.Width() - 1)
	}
	lo, hi := uint64(0), f.Encode(math.Abs(v))
	for hi-lo > 1 && !s.stats.Exhausted {
		mid := lo + (hi-lo)/2
		if s.try(s.with(field, at, f.Decode(mid|signBit))) {
			hi = mid
		} else {
			lo = mid
		}
	}
}

// niceCandidates returns values of f simpler than v (finite, nonzero), smallest magnitude first:
// fewer significand bits (truncation toward 0, which includes powers of two), v's significand
// with exponent 0, and trunc(v). Each has the sign of v and a magnitude below |v|.
func niceCandidates(f fp.Format, v float64) []float64 {
	a := math.Abs(v)
	var out []float64
	add := func(c float64) {
		if c == 0 || c >= a || !f.Contains(c) {
			return
		}
		for _, o := range out {
			if o == c {
				return
			}
		}
		out = append(out, c)
	}
	m, e := math.Frexp(a) // a = m·2^e, m in [0.5, 1)
	for k := 1; k < f.Precision(); k++ {
		add(math.Ldexp(math.Trunc(math.Ldexp(m, k)), e-k))
	}
	if a >= 2 {
		add(2 * m) // same significand, exponent 0
	}
	if a >= 1 {
		add(math.Trunc(a))
	}
	sortFloats(out)
	for i := range out {
		out[i] = math.Copysign(out[i], v)
	}
	return out
}

func sortFloats(s []float64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// simplifyTargets moves each non-negative class target to 0 when the failure survives it.
func (s *shrinker) simplifyTargets() {
	for i := 0; i < len(s.cur.Targets); i++ {
		if t := s.cur.Targets[i]; t > 0 {
			d := s.cur.Clone()
			d.Targets[i] = 0
			s.try(d)
		}
	}
}
