// This file implements the campaign engine behind "fuzz run": cases drawn deterministically from
// (seed, kernel, case index), judged by the properties package on a pool of workers, accumulated
// per worker and merged, then the kept counterexamples shrunk.

package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/loss"
	"github.com/ulpcheck/ulpcheck/properties"
	"github.com/ulpcheck/ulpcheck/reports"
	"github.com/ulpcheck/ulpcheck/shrinking"
)

// version is the harness version recorded in reports.
const version = "0.1.0"

// campaign is one run's configuration.
type campaign struct {
	Kernels  []*kernels.Kernel
	Cases    int64 // per kernel, before sharding
	Seed     uint64
	Shard    reports.Shard // one shard index
	Workers  int
	MaxLen   int  // longest row drawn (0: the generators' default)
	Shrink   bool // shrink the kept counterexamples
	Config   map[string]string
	Progress func(done, total int64, findings int64) // called from workers; may be nil
	Opts     []properties.Option                     // passed to every Evaluate (the tolerance model)
}

// job is one case of one kernel.
type job struct {
	k int   // index into Kernels
	i int64 // global case index for that kernel
}

// caseSeed derives the seed of case i of the named kernel: the same whether the campaign is
// sharded or not, and independent of the other kernels in the campaign.
func caseSeed(seed uint64, kernel string, i int64) int {
	h := fnv.New64a()
	h.Write([]byte(kernel))
	z := seed ^ h.Sum64() + uint64(i)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return int((z ^ z>>31) >> 1)
}

// propsFor lists the properties a campaign reports for k's operation, accuracy first.
func propsFor(k *kernels.Kernel) []string {
	ps := []string{properties.PropAccuracy, properties.PropNoNaN, properties.PropNoInf,
		properties.PropPropagate, properties.PropContract}
	switch k.Op {
	case kernels.OpSoftmax:
		ps = append(ps, properties.PropMasking, properties.PropRange, properties.PropSumToOne,
			properties.PropShift, properties.PropPermute)
	case kernels.OpLogSoftmax:
		ps = append(ps, properties.PropMasking, properties.PropRange, properties.PropShift, properties.PropPermute)
	case kernels.OpLSE:
		ps = append(ps, properties.PropRange, properties.PropShift, properties.PropPermute)
	case kernels.OpCrossEntropy:
		ps = append(ps, properties.PropRange)
	case kernels.OpSoftmaxBackward, kernels.OpCrossEntropyGrad:
		ps = append(ps, properties.PropMasking, properties.PropGradFinite)
	case kernels.OpSoftplus, kernels.OpLogSigmoid, kernels.OpSigmoid:
		ps = append(ps, properties.PropRange, properties.PropSymmetry)
	case kernels.OpSigmoidGrad:
		ps = append(ps, properties.PropRange, properties.PropSymmetry, properties.PropGradFinite)
	case kernels.OpBCEWithLogits:
		ps = append(ps, properties.PropRange)
	case kernels.OpBCEWithLogitsGrad:
		ps = append(ps, properties.PropGradFinite)
	case kernels.OpGradNorm:
		ps = append(ps, properties.PropNormNonfinite)
	case kernels.OpClipGradNorm:
		ps = append(ps, properties.PropNormNonfinite, properties.PropClipNorm, properties.PropClipDirection,
			properties.PropNoAmplify, properties.PropClipOrder)
	}
	if k.Batch {
		ps = append(ps, properties.PropBatch)
	}
	return ps
}

// kernelInfo is the report's declaration of k.
func kernelInfo(k *kernels.Kernel, source string) reports.KernelInfo {
	ki := reports.KernelInfo{
		Name: k.Name, Op: k.Op.String(), In: k.In.String(), Out: k.OutFormat().String(),
		Algorithm: k.Algorithm.String(), MaskPolicy: k.Mask.String(), Saturating: k.Saturating,
		FlushToZero: k.FlushToZero, ExpectFail: k.Broken != "", Notes: k.Broken, Source: source,
	}
	if acc := k.AccFormat(); acc.Valid() {
		ki.Acc = acc.String()
	}
	return ki
}

// run executes the campaign until every case is done or ctx is cancelled, and returns the report
// of the cases completed. A cancelled campaign's report is complete for what it covers.
func (c *campaign) run(ctx context.Context, source map[string]string) (*reports.Report, error) {
	infos := make([]reports.KernelInfo, len(c.Kernels))
	for i, k := range c.Kernels {
		infos[i] = kernelInfo(k, source[k.Name])
	}
	meta := reports.Meta{Version: version, Seed: c.Seed, Shard: c.Shard, Config: c.Config, Kernels: infos}
	gens := make([]*rapidGen, len(c.Kernels))
	for i, k := range c.Kernels {
		gens[i] = newRapidGen(k, c.MaxLen)
	}

	total := int64(len(c.Kernels)) * shardCount(c.Shard, c.Cases)
	// The workers claim the cases from a counter over the order in which the kernels are
	// interleaved (job n is case n/len(kernels) of kernel n%len(kernels)), so that an interrupted
	// campaign has covered all of them. A feeder goroutine handing out jobs through a channel cost
	// a receive per case, 7% of a one-worker campaign's CPU at 40,000 cases/s.
	var next atomic.Int64
	nk := int64(len(c.Kernels))
	claim := func() (job, bool) {
		for nk > 0 && ctx.Err() == nil {
			n := next.Add(1) - 1
			i := n / nk
			if i >= c.Cases {
				break
			}
			if inShard(c.Shard, i) {
				return job{int(n % nk), i}, true
			}
		}
		return job{}, false
	}

	workers := c.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	accs := make([]*reports.Accumulator, workers)
	ev := properties.NewEvaluator(c.Opts...)
	keys := make([][]reports.Key, len(c.Kernels))
	for i, k := range c.Kernels {
		keys[i] = cellKeys(k)
	}
	var done, findings atomic.Int64
	var wg sync.WaitGroup
	for w := range accs {
		acc := reports.NewAccumulator(meta)
		for _, k := range c.Kernels {
			if curve := boundCurve(k); curve != nil {
				acc.SetBound(reports.Key{Kernel: k.Name, Op: k.Op.String(), Format: k.In.String(), Property: properties.PropAccuracy}, curve)
			}
		}
		accs[w] = acc
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, ok := claim()
				if !ok {
					return
				}
				k := c.Kernels[j.k]
				cs, err := gens[j.k].draw(caseSeed(c.Seed, k.Name, j.i))
				if err != nil {
					observeHarness(acc, k, j.i, err)
				} else {
					v := ev.Evaluate(ctx, k, cs)
					if ctx.Err() != nil && v.Skipped != "" {
						continue // interrupted mid-case: the case is not counted
					}
					if observe(acc, k, keys[j.k], j.i, cs, &v) {
						findings.Add(1)
					}
				}
				acc.AddCases(1)
				n := done.Add(1)
				if c.Progress != nil {
					c.Progress(n, total, findings.Load())
				}
			}
		}()
	}
	wg.Wait()
	rs := make([]*reports.Report, len(accs))
	for i, a := range accs {
		rs[i] = a.Report()
	}
	r, err := reports.Merge(rs...)
	if err != nil {
		return nil, err
	}
	if c.Shrink {
		shrinkExamples(context.WithoutCancel(ctx), r, c.Kernels, workers, c.Opts...)
	}
	return r, nil
}

func inShard(s reports.Shard, i int64) bool {
	if s.N <= 1 {
		return true
	}
	for _, x := range s.I {
		if i%int64(s.N) == int64(x) {
			return true
		}
	}
	return false
}

// observe records one verdict: one observation per reported property. It reports whether the
// case failed any of them.
// cellKeys returns the report keys of k's cells, one per property of propsFor(k), in order.
func cellKeys(k *kernels.Kernel) []reports.Key {
	var keys []reports.Key
	for _, p := range propsFor(k) {
		keys = append(keys, reports.Key{Kernel: k.Name, Op: k.Op.String(), Format: k.In.String(), Property: p})
	}
	return keys
}

// observe records the verdict v of case i of kernel k in the cells of keys (cellKeys(k)).
func observe(acc *reports.Accumulator, k *kernels.Kernel, keys []reports.Key, i int64, c generators.Case, v *properties.Verdict) bool {
	if v.Skipped != "" {
		return false
	}
	harness := false
	for j := range v.Failures {
		if v.Failures[j].Class == properties.ClassHarness {
			harness = true
		}
	}
	worst, bound := worstOutput(v)
	failed := false
	for _, key := range keys {
		p := key.Property
		o := reports.Observation{Key: key, Case: i, ULP: math.NaN(), XRange: v.Spread, Bound: math.NaN(), N: c.Cols}
		if p == properties.PropAccuracy {
			o.HarnessError = harness
			if !harness && v.Got != nil {
				o.ULP, o.Bound = v.MaxUlp, bound
			}
		}
		if f := firstFailure(v, p); f != nil {
			failed = true
			o.Failed, o.Class = true, string(f.Class)
			if acc.Wants(key, o.Class, i) || acc.WantsWorst(key, o.ULP, i) {
				o.Example = counterexample(k, i, c, v, f, worst)
			}
		}
		acc.Add(o)
	}
	return failed
}

// firstFailure returns v's first failure of property p, or nil.
func firstFailure(v *properties.Verdict, p string) *properties.Failure {
	for j := range v.Failures {
		if v.Failures[j].Property == p {
			return &v.Failures[j]
		}
	}
	return nil
}

// observeHarness records a case the harness could not draw.
func observeHarness(acc *reports.Accumulator, k *kernels.Kernel, i int64, err error) {
	key := reports.Key{Kernel: k.Name, Op: k.Op.String(), Format: k.In.String(), Property: properties.PropAccuracy}
	acc.Add(reports.Observation{Key: key, Case: i, HarnessError: true, ULP: math.NaN(), XRange: math.NaN(), Bound: math.NaN()})
}

// worstOutput returns the index of the output with the largest finite ulp error and its bound.
func worstOutput(v *properties.Verdict) (int, float64) {
	idx, bound := -1, math.NaN()
	best := -1.0
	for j, u := range v.Ulp {
		if !math.IsInf(u, 0) && !math.IsNaN(u) && u > best {
			best, idx = u, j
			if j < len(v.Bound) {
				bound = v.Bound[j]
			}
		}
	}
	return idx, bound
}

// counterexample builds the report's record of failure f of case c.
func counterexample(k *kernels.Kernel, i int64, c generators.Case, v *properties.Verdict, f *properties.Failure, worst int) *reports.Counterexample {
	sc := toShrinking(c)
	ex := &reports.Counterexample{
		Case: i, Class: string(f.Class), Property: f.Property, Message: f.String(),
		Format: c.Format.String(), Rows: c.Rows, Cols: c.Cols,
		X: reports.NewNums(c.Format, c.X), Targets: c.Targets, Params: sc.Params,
		OutFormat: k.OutFormat().String(), Output: reports.NewNums(k.OutFormat(), v.Got), Oracle: reports.NewNums(k.OutFormat(), v.Want),
		Index: f.Index, ULP: reports.Float(f.UlpError), Bound: reports.Float(f.Bound),
		Input: sc.String(),
	}
	if f.Index < 0 {
		ex.ULP, ex.Bound = reports.Float(math.NaN()), reports.Float(math.NaN())
	}
	if c.DY != nil {
		ex.DY = reports.NewNums(c.Format, c.DY)
	}
	if c.Probs != nil {
		ex.Probs = reports.NewNums(c.Format, c.Probs)
	}
	if c.CE.Weights != nil {
		ex.Weights = reports.NewNums(c.Format, c.CE.Weights)
	}
	ex.Replay = shrinking.ReplayCommand(k.Name, f.Property, sc)
	return ex
}

// toShrinking and fromShrinking convert between the generators' case and the shrinker's.
func toShrinking(c generators.Case) shrinking.Case {
	s := shrinking.Case{Format: c.Format, Rows: c.Rows, Cols: c.Cols, X: c.X, DY: c.DY,
		Targets: c.Targets, Probs: c.Probs, Weights: c.CE.Weights}
	if c.Targets != nil || c.Probs != nil {
		s.Params = map[string]string{
			"ignore_index":    strconv.Itoa(c.CE.IgnoreIndex),
			"label_smoothing": strconv.FormatFloat(c.CE.LabelSmoothing, 'g', -1, 64),
			"reduction":       c.CE.Reduction.String(),
		}
	}
	if c.Norm != (loss.NormOptions{}) {
		s.Params = normParams(c.Norm)
	}
	return s
}

func fromShrinking(s shrinking.Case) (generators.Case, error) {
	c := generators.Case{Format: s.Format, Class: "replay", Rows: s.Rows, Cols: s.Cols, X: s.X, DY: s.DY,
		Targets: s.Targets, Probs: s.Probs}
	c.CE.IgnoreIndex = -100
	c.CE.Weights = s.Weights
	for key, val := range s.Params {
		switch key {
		case "ignore_index":
			n, err := strconv.Atoi(val)
			if err != nil {
				return c, fmt.Errorf("bad ignore_index %q", val)
			}
			c.CE.IgnoreIndex = n
		case "label_smoothing":
			x, err := strconv.ParseFloat(val, 64)
			if err != nil || x < 0 || x > 1 {
				return c, fmt.Errorf("bad label_smoothing %q", val)
			}
			c.CE.LabelSmoothing = x
		case "reduction":
			r, err := loss.ParseReduction(val)
			if err != nil {
				return c, fmt.Errorf("bad case parameter: %w", err)
			}
			c.CE.Reduction = r
		case "p", "max_norm", "clip_value", "error_if_nonfinite":
			if err := setNormParam(&c.Norm, key, val); err != nil {
				return c, err
			}
		default:
			return c, fmt.Errorf("unknown case parameter %q", key)
		}
	}
	for r := 0; r < c.Rows; r++ {
		c.RowClasses = append(c.RowClasses, "replay")
	}
	return c, nil
}

// failsLike returns the shrinking predicate for property prop of kernel k: the case fails prop,
// with the first such failure's class, and its largest ulp error is at least minULP. It
// evaluates under properties.Focus(prop) and properties.FirstFailures(): a shrink asks that one
// question hundreds of times.
func failsLike(ctx context.Context, k *kernels.Kernel, prop string, minULP float64, opts ...properties.Option) shrinking.Predicate {
	ev := properties.NewEvaluator(append(opts[:len(opts):len(opts)], properties.Focus(prop), properties.FirstFailures())...)
	return func(s shrinking.Case) (bool, string) {
		c, err := fromShrinking(s)
		if err != nil {
			return false, ""
		}
		v := ev.Evaluate(ctx, k, c)
		if v.MaxUlp < minULP {
			return false, ""
		}
		for _, f := range v.Failures {
			if f.Property == prop {
				return true, string(f.Class)
			}
		}
		return false, ""
	}
}

// shrinkExamples minimises every kept counterexample of r on the given number of workers and
// refreshes each record. Each shrink is deterministic and independent of the others, so shards
// and worker counts shrink the same case the same way.
func shrinkExamples(ctx context.Context, r *reports.Report, ks []*kernels.Kernel, workers int, opts ...properties.Option) {
	byName := map[string]*kernels.Kernel{}
	for _, k := range ks {
		byName[k.Name] = k
	}
	type task struct{ cell, ex int }
	tasks := make(chan task)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tasks {
				cell := &r.Cells[t.cell]
				if nx := shrinkOne(ctx, byName[cell.Kernel], &cell.Examples[t.ex], opts...); nx != nil {
					cell.Examples[t.ex] = *nx
				}
			}
		}()
	}
	for ci := range r.Cells {
		if byName[r.Cells[ci].Kernel] == nil {
			continue
		}
		for ei := range r.Cells[ci].Examples {
			tasks <- task{ci, ei}
		}
	}
	close(tasks)
	wg.Wait()
	for ci := range r.Cells {
		ex := r.Cells[ci].Examples
		sort.Slice(ex, func(a, b int) bool { return ex[a].Class < ex[b].Class })
	}
}

// shrinkOne returns the shrunk record of ex, or nil when it cannot be shrunk (the case no longer
// fails the same property, or the record cannot be parsed).
func shrinkOne(ctx context.Context, k *kernels.Kernel, ex *reports.Counterexample, opts ...properties.Option) *reports.Counterexample {
	orig, err := shrinking.ParseCase(ex.Input)
	if err != nil {
		return nil
	}
	pred := failsLike(ctx, k, ex.Property, 0, opts...)
	if ex.Worst {
		// The worst case shrinks only as far as it stays at least half as wrong, so that it
		// keeps showing the failure at its largest (a saturated fp16 sum, not a rounding slip).
		pred = failsLike(ctx, k, ex.Property, float64(ex.ULP)/2, opts...)
	}
	small, st, err := shrinking.Minimize(orig, pred, shrinking.Options{MaxCalls: shrinkBudget(orig)})
	if err != nil {
		return nil
	}
	c, err := fromShrinking(small)
	if err != nil {
		return nil
	}
	v := properties.Evaluate(ctx, k, c, opts...)
	var f *properties.Failure
	for j := range v.Failures {
		if v.Failures[j].Property == ex.Property {
			f = &v.Failures[j]
			break
		}
	}
	if f == nil {
		return nil
	}
	worst, _ := worstOutput(&v)
	nx := counterexample(k, ex.Case, c, &v, f, worst)
	nx.Original, nx.ShrinkCalls = ex.Input, st.Calls
	if ex.Worst {
		nx.Worst, nx.ULP = true, reports.Float(v.MaxUlp)
	}
	if nx.Input == nx.Original {
		nx.Original = ""
	}
	if src, err := shrinking.GoTest(k.Name, ex.Property, nx.Class, small, shrinking.GoTestOptions{}); err == nil {
		nx.GoTest = src
	}
	return nx
}

// shrinkBudget is the predicate-call budget for shrinking c: enough for the value passes on a
// short case and, on a long one, for the removal passes that make it 1-minimal (one call per
// remaining row and column, and ddmin's halvings before them).
func shrinkBudget(c shrinking.Case) int {
	return 1500 + 3*(c.Rows+c.Cols)
}

// format names for flags.
func formatNames(fs []fp.Format) []string {
	var s []string
	for _, f := range fs {
		s = append(s, f.String())
	}
	return s
}

// rapidGen draws the cases of one kernel from the properties package's generator.
type rapidGen struct {
	gen interface{ Example(...int) generators.Case }
}

// The campaign draws by Example and shrinks with the shrinking package, never with rapid's
// shrinker, so it draws Flat: the same cases without rapid's per-element groups.
func newRapidGen(k *kernels.Kernel, maxLen int) *rapidGen {
	g := []generators.Option{generators.Flat()}
	if maxLen > 0 {
		g = append(g, generators.MaxLen(maxLen))
	}
	return &rapidGen{gen: properties.CaseGen(k, properties.WithGenerators(g...))}
}

// draw returns the case for seed; a generator that cannot produce one (rapid gives up after many
// rejected draws) is an error, not a panic.
func (g *rapidGen) draw(seed int) (c generators.Case, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("generating case with seed %d: %v", seed, r)
		}
	}()
	return g.gen.Example(seed), nil
}
