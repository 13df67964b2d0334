// This file implements the Accumulator that campaign workers feed.

package reports

import (
	"cmp"
	"maps"
	"math"
	"slices"
)

// Sizes of the scatter sample kept per cell (part of the schema's merge semantics).
const (
	SampleSmallestHash = 64 // points with the smallest splitmix64(case) (schema v1: 256)
	SampleLargestULP   = 16 // points with the largest ulp error (schema v1: 32)
)

// Meta is the run-level part of a report.
type Meta struct {
	Version string
	Seed    uint64
	Shard   Shard             // zero value means Unsharded()
	Config  map[string]string // campaign settings other than the shard
	Kernels []KernelInfo
}

// An Observation is the verdict of one property on one case.
type Observation struct {
	Key
	Case         int64   // global case index: the same numbering whether the campaign is sharded or not
	Failed       bool    // the property failed
	Class        string  // the failure class when Failed
	HarnessError bool    // the harness could not judge the case (counted apart; not a failure)
	ULP          float64 // the case's worst ulp error; NaN when the property measures none
	XRange       float64 // x_max − x_min over the finite entries; NaN when not applicable
	Bound        float64 // the case's tolerance in ulps; NaN when not applicable
	N            int     // row length
	// Example is the counterexample of a failure, or nil. It is kept when it has the smallest
	// case index of its cell and class; use Wants to avoid building examples that would be dropped.
	Example *Counterexample
}

// An Accumulator builds a Report from Observations. It is not safe for concurrent use: give each
// worker its own and Merge their reports; the result does not depend on how cases were spread
// over workers.
type Accumulator struct {
	meta  Meta
	cases int64
	cells map[Key]*cellAcc
}

type cellAcc struct {
	cell   Cell
	points []Point
	max    float64 // NaN until the first measured error
}

// NewAccumulator returns an empty Accumulator for a run described by meta.
func NewAccumulator(meta Meta) *Accumulator {
	return &Accumulator{meta: meta, cells: map[Key]*cellAcc{}}
}

// AddCases counts n generated cases (Report.Cases).
func (a *Accumulator) AddCases(n int64) { a.cases += n }

func (a *Accumulator) cell(k Key) *cellAcc {
	c := a.cells[k]
	if c == nil {
		c = &cellAcc{cell: Cell{Key: k, ByClass: map[string]int64{}}, max: math.NaN()}
		a.cells[k] = c
	}
	return c
}

// SetBound records the theoretical bound curve of a cell (ulps against x_max − x_min), as the
// campaign samples it; the last call wins. Every shard must set the same curve.
func (a *Accumulator) SetBound(k Key, curve []XY) {
	a.cell(k).cell.BoundCurve = slices.Clone(curve)
}

// Wants reports whether an example for (k, class) at case index i would be kept now.
func (a *Accumulator) Wants(k Key, class string, i int64) bool {
	c := a.cells[k]
	if c == nil {
		return true
	}
	for _, e := range c.cell.Examples {
		if e.Class == class {
			return i < e.Case
		}
	}
	return true
}

// WantsWorst reports whether a failing case with ulp error ulp at case index i would become the
// cell's worst example now (the largest ulp error; ties go to the smallest case index).
func (a *Accumulator) WantsWorst(k Key, ulp float64, i int64) bool {
	if math.IsNaN(ulp) {
		return false
	}
	c := a.cells[k]
	if c == nil {
		return true
	}
	for _, e := range c.cell.Examples {
		if e.Worst {
			return beatsWorst(ulp, i, &e)
		}
	}
	return true
}

// beatsWorst orders worst-case candidates: larger ulp error first, then smaller case index.
func beatsWorst(ulp float64, i int64, w *Counterexample) bool {
	wu := float64(w.ULP)
	return ulp > wu || ulp == wu && i < w.Case
}

// Add records one observation.
func (a *Accumulator) Add(o Observation) {
	c := a.cell(o.Key)
	c.cell.Cases++
	if o.HarnessError {
		c.cell.HarnessErrors++
	}
	if o.Failed {
		c.cell.Failures++
		c.cell.ByClass[o.Class]++
		if o.Example != nil {
			e := *o.Example
			e.Case, e.Class = o.Case, o.Class
			if e.Property == "" {
				e.Property = o.Property
			}
			c.cell.Examples = addExample(c.cell.Examples, e)
			if !math.IsNaN(o.ULP) {
				w := e
				w.Worst, w.ULP = true, Float(o.ULP)
				c.cell.Examples = addExample(c.cell.Examples, w)
			}
		}
	}
	if !math.IsNaN(o.ULP) {
		c.cell.Hist.Add(o.ULP)
		if math.IsNaN(c.max) || o.ULP > c.max {
			c.max = o.ULP
		}
		if !math.IsNaN(o.XRange) {
			c.points = append(c.points, Point{Case: o.Case, N: o.N, XRange: Float(o.XRange),
				ULP: Float(o.ULP), Bound: Float(o.Bound)})
			if len(c.points) > 4*(SampleSmallestHash+SampleLargestULP) {
				c.points = samplePoints(c.points)
			}
		}
	}
}

// addExample keeps, per class, the example with the smallest case index, and one Worst example:
// the largest ulp error, ties to the smallest case index. Both rules are commutative and
// associative, so merging keeps them exact.
func addExample(ex []Counterexample, e Counterexample) []Counterexample {
	for i := range ex {
		switch {
		case e.Worst && ex[i].Worst:
			if beatsWorst(float64(e.ULP), e.Case, &ex[i]) {
				ex[i] = e
			}
			return ex
		case !e.Worst && !ex[i].Worst && ex[i].Class == e.Class:
			if e.Case < ex[i].Case {
				ex[i] = e
			}
			return ex
		}
	}
	ex = append(ex, e)
	slices.SortFunc(ex, func(a, b Counterexample) int {
		if a.Worst != b.Worst {
			if a.Worst {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Class, b.Class)
	})
	return ex
}

// Report returns the report of the observations so far (Timing unset).
func (a *Accumulator) Report() *Report {
	sh := a.meta.Shard
	if sh.N == 0 {
		sh = Unsharded()
	}
	r := &Report{Schema: Schema, Version: a.meta.Version, Seed: a.meta.Seed, Shard: sh,
		Cases: a.cases, Config: maps.Clone(a.meta.Config), Kernels: slices.Clone(a.meta.Kernels)}
	sh.I = slices.Clone(sh.I)
	slices.Sort(sh.I)
	r.Shard = sh
	for _, c := range a.cells {
		cell := c.cell
		cell.ByClass = maps.Clone(cell.ByClass)
		cell.Hist.Buckets = maps.Clone(cell.Hist.Buckets)
		cell.Examples = slices.Clone(cell.Examples)
		cell.Points = samplePoints(slices.Clone(c.points))
		cell.MaxULP = Float(c.max)
		r.Cells = append(r.Cells, cell)
	}
	normalize(r)
	return r
}

// normalize sorts r's slices, recomputes the percentiles and makes nil slices empty, so that
// equal reports are equal as values and as JSON.
func normalize(r *Report) {
	if r.Kernels == nil {
		r.Kernels = []KernelInfo{}
	}
	if r.Cells == nil {
		r.Cells = []Cell{}
	}
	slices.SortFunc(r.Kernels, func(a, b KernelInfo) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Cells, func(a, b Cell) int { return a.Key.Compare(b.Key) })
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.ByClass == nil {
			c.ByClass = map[string]int64{}
		}
		if c.Examples == nil {
			c.Examples = []Counterexample{}
		}
		if slices.ContainsFunc(c.Examples, func(e Counterexample) bool { return !normalExample(&e) }) {
			c.Examples = slices.Clone(c.Examples) // the caller's examples stay as they are
			for j := range c.Examples {
				normalizeExample(&c.Examples[j])
			}
		}
		if c.Points == nil {
			c.Points = []Point{}
		}
		if c.BoundCurve == nil {
			c.BoundCurve = []XY{}
		}
		if len(c.Hist.Buckets) == 0 {
			c.Hist.Buckets = nil
		}
		c.P50 = Float(c.Hist.Quantile(0.50, float64(c.MaxULP)))
		c.P99 = Float(c.Hist.Quantile(0.99, float64(c.MaxULP)))
	}
}

// normalExample reports whether e's optional inputs are nil or non-empty.
func normalExample(e *Counterexample) bool {
	return (e.DY == nil || len(e.DY) > 0) && (e.Targets == nil || len(e.Targets) > 0) &&
		(e.Probs == nil || len(e.Probs) > 0) && (e.Weights == nil || len(e.Weights) > 0) &&
		(e.Params == nil || len(e.Params) > 0)
}

// normalizeExample makes the optional inputs of e nil when they are empty, as JSON leaves them out.
func normalizeExample(e *Counterexample) {
	if len(e.DY) == 0 {
		e.DY = nil
	}
	if len(e.Targets) == 0 {
		e.Targets = nil
	}
	if len(e.Probs) == 0 {
		e.Probs = nil
	}
	if len(e.Weights) == 0 {
		e.Weights = nil
	}
	if len(e.Params) == 0 {
		e.Params = nil
	}
}

// splitmix64 is Steele, Lea and Flood's SplitMix64 finaliser: a fixed bijection of uint64 that
// spreads case indices uniformly, so that the hash sample is a uniform sample of the cases.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// samplePoints returns, sorted by case and without duplicates, the union of the
// SampleSmallestHash points with the smallest splitmix64(case) and the SampleLargestULP points
// with the largest ulp error (ties: smaller case). Both selections are total orders on cases, so
// selecting from the union of selections of a partition gives the selection of the whole.
func samplePoints(ps []Point) []Point {
	slices.SortFunc(ps, func(a, b Point) int { return cmp.Compare(a.Case, b.Case) })
	ps = slices.CompactFunc(ps, func(a, b Point) bool { return a.Case == b.Case })
	if len(ps) <= SampleSmallestHash+SampleLargestULP {
		return ps
	}
	keep := map[int64]bool{}
	byHash := slices.Clone(ps)
	slices.SortFunc(byHash, func(a, b Point) int {
		return cmp.Or(cmp.Compare(splitmix64(uint64(a.Case)), splitmix64(uint64(b.Case))), cmp.Compare(a.Case, b.Case))
	})
	for _, p := range byHash[:SampleSmallestHash] {
		keep[p.Case] = true
	}
	byULP := slices.Clone(ps)
	slices.SortFunc(byULP, func(a, b Point) int {
		return cmp.Or(cmp.Compare(float64(b.ULP), float64(a.ULP)), cmp.Compare(a.Case, b.Case))
	})
	for _, p := range byULP[:SampleLargestULP] {
		keep[p.Case] = true
	}
	out := ps[:0:0]
	for _, p := range ps {
		if keep[p.Case] {
			out = append(out, p)
		}
	}
	return out
}
