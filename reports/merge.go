// This file implements Merge.

package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Merge combines reports of the same campaign (same schema, version, seed and config) into one.
// Either every report covers the same shards (the workers of one run: their cases must be
// disjoint) or their shard sets are pairwise disjoint (the shards of a campaign); a merge that
// covers all N shards is Unsharded(). Cells merge as the package documentation describes, so the
// merge of the reports of a partition of the cases equals the report of one run over all of
// them, whatever the order of the arguments. The inputs are not modified.
//
// Special cases are:
//
//	Merge()                      → error
//	Merge(r)                     → a normalised copy of r
//	conflicting kernel declarations, bound curves, seeds, versions, configs or shard counts → error
func Merge(rs ...*Report) (*Report, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("reports: nothing to merge")
	}
	first := rs[0]
	out := &Report{Schema: Schema, Version: first.Version, Seed: first.Seed,
		Config: maps.Clone(first.Config)}
	sameShard := true
	for _, r := range rs {
		switch {
		case r.Schema != Schema:
			return nil, fmt.Errorf("reports: schema %q, want %q", r.Schema, Schema)
		case r.Version != first.Version:
			return nil, fmt.Errorf("reports: harness versions differ: %q and %q", first.Version, r.Version)
		case r.Seed != first.Seed:
			return nil, fmt.Errorf("reports: seeds differ: %d and %d", first.Seed, r.Seed)
		case !maps.Equal(r.Config, first.Config):
			return nil, fmt.Errorf("reports: configs differ: %v and %v", first.Config, r.Config)
		case r.Shard.N != first.Shard.N:
			return nil, fmt.Errorf("reports: shard counts differ: %d and %d", first.Shard.N, r.Shard.N)
		}
		sameShard = sameShard && slices.Equal(r.Shard.I, first.Shard.I)
	}
	// Shards.
	if sameShard {
		out.Shard = Shard{N: first.Shard.N, I: slices.Clone(first.Shard.I)}
	} else {
		seen := map[int]bool{}
		var idx []int
		for _, r := range rs {
			for _, i := range r.Shard.I {
				if seen[i] || i < 0 || i >= r.Shard.N {
					return nil, fmt.Errorf("reports: shard %d/%d twice or out of range", i, r.Shard.N)
				}
				seen[i] = true
				idx = append(idx, i)
			}
		}
		slices.Sort(idx)
		out.Shard = Shard{N: first.Shard.N, I: idx}
	}
	if len(out.Shard.I) == out.Shard.N && out.Shard.N > 0 {
		out.Shard = Unsharded()
	}
	// Kernels, cases, timing.
	kernels := map[string]KernelInfo{}
	for _, r := range rs {
		out.Cases += r.Cases
		for _, k := range r.Kernels {
			if old, ok := kernels[k.Name]; ok && old != k {
				return nil, fmt.Errorf("reports: kernel %q declared differently: %+v and %+v", k.Name, old, k)
			}
			kernels[k.Name] = k
		}
		if r.Timing != nil {
			if out.Timing == nil {
				t := *r.Timing
				out.Timing = &t
			} else {
				if r.Timing.Started.Before(out.Timing.Started) {
					out.Timing.Started = r.Timing.Started
				}
				if r.Timing.Finished.After(out.Timing.Finished) {
					out.Timing.Finished = r.Timing.Finished
				}
			}
		}
	}
	for _, k := range kernels {
		out.Kernels = append(out.Kernels, k)
	}
	// Cells.
	cells := map[Key]*Cell{}
	var order []Key
	for _, r := range rs {
		for _, c := range r.Cells {
			m := cells[c.Key]
			if m == nil {
				m = &Cell{Key: c.Key, ByClass: map[string]int64{}, MaxULP: Float(math.NaN())}
				cells[c.Key] = m
				order = append(order, c.Key)
			}
			if err := mergeCell(m, &c); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range order {
		c := cells[k]
		c.Points = samplePoints(c.Points)
		out.Cells = append(out.Cells, *c)
	}
	normalize(out)
	return out, nil
}

func mergeCell(m, c *Cell) error {
	m.Cases += c.Cases
	m.Failures += c.Failures
	m.HarnessErrors += c.HarnessErrors
	for k, n := range c.ByClass {
		m.ByClass[k] += n
	}
	m.Hist.Merge(c.Hist)
	if x := float64(c.MaxULP); !math.IsNaN(x) && (math.IsNaN(float64(m.MaxULP)) || x > float64(m.MaxULP)) {
		m.MaxULP = c.MaxULP
	}
	for _, e := range c.Examples {
		m.Examples = addExample(m.Examples, e)
	}
	m.Points = append(m.Points, c.Points...)
	switch {
	case len(c.BoundCurve) == 0:
	case len(m.BoundCurve) == 0:
		m.BoundCurve = slices.Clone(c.BoundCurve)
	case !slices.EqualFunc(m.BoundCurve, c.BoundCurve, func(a, b XY) bool {
		return math.Float64bits(float64(a.X)) == math.Float64bits(float64(b.X)) &&
			math.Float64bits(float64(a.Y)) == math.Float64bits(float64(b.Y))
	}):
		return fmt.Errorf("reports: cell %v has two different bound curves", m.Key)
	}
	return nil
}
