// This file implements Gen, the options, the class weights and the weighted class choice.

package generators

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// A Gen is a rapid generator with a readable String. It embeds *rapid.Generator, so Draw,
// Example and Filter work on it directly; pass g.Generator to rapid's combinators
// (rapid.OneOf(a.Generator, b.Generator), rapid.SliceOfN(g.Generator, 1, 4)).
type Gen[V any] struct {
	*rapid.Generator[V]
	name string
}

// String returns the generator's description, such as "Row(fp16)".
func (g *Gen[V]) String() string { return g.name }

func newGen[V any](name string, fn func(*rapid.T) V) *Gen[V] {
	return &Gen[V]{Generator: rapid.Custom(fn), name: name}
}

// An Option configures a generator.
type Option func(*config)

type config struct {
	weights      Weights
	maxLen       int
	maxRows      int
	streamMin    int
	streamMax    int
	scale        float64
	scaled       fp.Format
	maxTensors   int
	maxTensorLen int
	lengths      []int
	shape        []int
	flat         bool
}

func newConfig(opts []Option) *config {
	c := &config{
		weights:      DefaultWeights(),
		maxLen:       4096,
		maxRows:      4,
		streamMin:    1,
		streamMax:    32,
		scale:        65536,
		scaled:       fp.FP16,
		maxTensors:   3,
		maxTensorLen: 16,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// WithWeights sets the weights of the named classes; classes it does not name keep theirs.
// A weight of 0 disables a class. Weights are relative within a family (the classes sharing a
// prefix such as "row/"), and are quantised to multiples of 1/4096 of the family's total.
func WithWeights(w Weights) Option {
	return func(c *config) {
		for k, v := range w {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				panic(fmt.Sprintf("generators: weight of %s is %v, want a finite value ≥ 0", k, v))
			}
			c.weights[k] = v
		}
	}
}

// Only disables every class of the named classes' families except the named ones: Row(f,
// Only(RowFullyMasked)) draws fully masked rows only (at every length), and
// Only(RowHuge, LenShort) draws huge rows of 1 to 8 elements.
func Only(classes ...Class) Option {
	return func(c *config) {
		keep := map[Class]bool{}
		fams := map[string]bool{}
		for _, k := range classes {
			keep[k] = true
			fams[k.Family()] = true
		}
		for k := range c.weights {
			if fams[k.Family()] && !keep[k] {
				c.weights[k] = 0
			}
		}
		for k := range keep {
			if c.weights[k] == 0 {
				c.weights[k] = 1
			}
		}
	}
}

// MaxLen bounds the length of rows (default 4096): length buckets and block lengths above n are
// dropped, and classes whose shortest row is longer (RowLongFlat) get weight 0. n must be ≥ 2.
func MaxLen(n int) Option {
	if n < 2 {
		panic(fmt.Sprintf("generators: MaxLen(%d), want ≥ 2", n))
	}
	return func(c *config) { c.maxLen = n }
}

// Lengths makes rows draw their length from ns (the first shrink-preferred) instead of the
// length buckets; a class still gets at least its shortest length (2 for RowMaskedInf, for
// example), RowEmpty is drawn only if ns holds 0, and RowLongFlat only with the lengths of ns
// that are long enough. MaxLen does not apply. Every n must be in [0, 1<<20].
func Lengths(ns ...int) Option {
	if len(ns) == 0 {
		panic("generators: Lengths() needs at least one length")
	}
	for _, n := range ns {
		if n < 0 || n > 1<<20 {
			panic(fmt.Sprintf("generators: Lengths(%v): %d is out of [0, 1<<20]", ns, n))
		}
	}
	return func(c *config) { c.lengths = append([]int(nil), ns...) }
}

// Flat draws every row element, and every further row of a batch, without a rapid group of its
// own: the same bits make the same values, so Example(seed) returns what it returns without
// Flat, but rapid's shrinker can no longer delete one element or one row at a time. Rapid
// allocates a T for every grouped draw (tens per case); a campaign, which draws by Example and
// shrinks with the shrinking package, passes Flat and allocates none of them.
func Flat() Option { return func(c *config) { c.flat = true } }

// MaxRows bounds the number of rows of a batch: batches have 1 to n rows (default 4).
func MaxRows(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("generators: MaxRows(%d), want ≥ 1", n))
	}
	return func(c *config) { c.maxRows = n }
}

// WithStreamLen sets the number of steps of a GradStream (default 1 to 32).
func WithStreamLen(min, max int) Option {
	if min < 1 || max < min {
		panic(fmt.Sprintf("generators: WithStreamLen(%d, %d), want 1 ≤ min ≤ max", min, max))
	}
	return func(c *config) { c.streamMin, c.streamMax = min, max }
}

// WithScale sets the reference loss scale that the gradient-step classes refer to (default
// 2^16, PyTorch's initial scale). s must be finite and > 0.
func WithScale(s float64) Option {
	if !(s > 0) || math.IsInf(s, 0) {
		panic(fmt.Sprintf("generators: WithScale(%v), want a finite value > 0", s))
	}
	return func(c *config) { c.scale = s }
}

// WithScaledFormat sets the format in which scaled gradients are said to overflow or
// underflow (default fp16).
func WithScaledFormat(f fp.Format) Option {
	return func(c *config) { c.scaled = f }
}

// WithTensors sets the number of tensors in a GradStep (1 to maxTensors, default 3) and the
// length of each (1 to maxLen, default 16).
func WithTensors(maxTensors, maxLen int) Option {
	if maxTensors < 1 || maxLen < 1 {
		panic(fmt.Sprintf("generators: WithTensors(%d, %d), want both ≥ 1", maxTensors, maxLen))
	}
	return func(c *config) { c.maxTensors, c.maxTensorLen = maxTensors, maxLen }
}

// WithShape fixes the tensor lengths of every GradStep (one tensor per length), as a model's
// parameters fix them across steps: use it with GradStepGen inside a state machine. Every
// length must be ≥ 1.
func WithShape(lens ...int) Option {
	if len(lens) == 0 {
		panic("generators: WithShape() needs at least one tensor")
	}
	for _, n := range lens {
		if n < 1 {
			panic(fmt.Sprintf("generators: WithShape(%v): lengths must be ≥ 1", lens))
		}
	}
	return func(c *config) { c.shape = append([]int(nil), lens...) }
}

// group draws fn's value as one group of rapid's bitstream, as gen.Draw(t, label) does where gen
// is rapid.Custom(fn); under Flat it calls fn directly. The two draw the same bits and return the
// same value: rapid's bitstreams only record where groups begin and end, for its shrinker. A
// Custom draw calls fn again, at most customTries times in all, when fn gives up (a Filter
// inside it found no value, rapid's invalidData panic), and then gives up itself; the direct
// call does the same, so that the bits drawn after a retry are the same too.
func group[V any](flat bool, t *rapid.T, gen *rapid.Generator[V], fn func(*rapid.T) V, label string) V {
	if !flat {
		return gen.Draw(t, label)
	}
	var last any
	for range customTries {
		v, gaveUp := tryDraw(t, fn)
		if gaveUp == nil {
			return v
		}
		last = gaveUp
	}
	panic(last)
}

// customTries is how many times a rapid.Custom draw calls its function before it gives up
// (rapid's "small"; TestGroupRetriesAsCustom fails if it differs).
const customTries = 5

// tryDraw calls fn, and returns rapid's invalidData panic instead of the value if fn gives up;
// other panics go on.
func tryDraw[V any](t *rapid.T, fn func(*rapid.T) V) (v V, gaveUp any) {
	defer func() {
		if r := recover(); r != nil {
			if reflect.TypeOf(r) != invalidData {
				panic(r)
			}
			gaveUp = r
			flatRetries.Add(1)
		}
	}()
	return fn(t), nil
}

// invalidData is the type of the value rapid panics with when a draw gives up: found once, by a
// Filter that accepts nothing.
var invalidData = func() (typ reflect.Type) {
	rapid.Custom(func(t *rapid.T) bool {
		defer func() { typ = reflect.TypeOf(recover()) }()
		return rapid.Bool().Filter(func(bool) bool { return false }).Draw(t, "never")
	}).Example(0)
	return typ
}()

// flatRetries counts the retries of group under Flat, for the tests.
var flatRetries atomic.Int64

// pickBits is the resolution of a class choice: 2^pickBits slots shared by the classes of a
// family in proportion to their weights.
const pickBits = 12

var bitGen = rapid.Bool()

// drawBits draws n unbiased bits, one rapid.Bool per bit, most significant first, so that the
// result is uniform on [0, 2^n) and shrinks toward 0 one bit at a time.
func drawBits(t *rapid.T, n int) uint64 {
	var u uint64
	for range n {
		u <<= 1
		if bitGen.Draw(t, "bit") {
			u |= 1
		}
	}
	return u
}

// A picker chooses one class of a family with the probabilities of its weights.
type picker struct {
	classes []Class  // in family order, simplest first; only classes with slots
	cum     []uint64 // cum[i]: slots of classes[0..i], cum[len-1] = 2^pickBits
}

// newPicker builds the picker of the classes in order with weights w; classes whose weight is 0
// or that have no slot are left out. It panics when no class has a positive weight.
func newPicker(family string, order []Class, w Weights, allowed func(Class) bool) picker {
	total := 0.0
	for _, c := range order {
		if allowed(c) {
			total += w[c]
		}
	}
	if !(total > 0) {
		panic(fmt.Sprintf("generators: every %s class has weight 0", family))
	}
	var p picker
	acc, prev := 0.0, uint64(0)
	for _, c := range order {
		if !allowed(c) || w[c] == 0 {
			continue
		}
		acc += w[c]
		s := uint64(math.Round(acc / total * (1 << pickBits)))
		if s > prev {
			p.classes = append(p.classes, c)
			p.cum = append(p.cum, s)
			prev = s
		}
	}
	p.cum[len(p.cum)-1] = 1 << pickBits
	return p
}

func (p picker) draw(t *rapid.T) Class {
	u := drawBits(t, pickBits)
	i := sort.Search(len(p.cum), func(i int) bool { return u < p.cum[i] })
	return p.classes[i]
}

// share returns the probability that draw returns c.
func (p picker) share(c Class) float64 {
	lo := uint64(0)
	for i, k := range p.classes {
		if k == c {
			return float64(p.cum[i]-lo) / (1 << pickBits)
		}
		lo = p.cum[i]
	}
	return 0
}

// The integer draws below never use the value rapid's biased integer generators return when
// their geometric bit-length draw is large (the maximum of the range, from no bits at all):
// once the shrinker has zeroed the unused bits, that maximum cannot be lowered, which leaves
// shrinking stuck at the top of a range (MaxFinite instead of an overflow boundary). The range
// is widened by one at each end and the widened ends are filtered out, so every accepted value
// comes from ordinary bits, which rapid minimises by binary search.

// intIn draws an int in [lo, hi], shrinking toward 0 when the range holds it, else toward the
// end nearest 0.
func intIn(t *rapid.T, lo, hi int) int {
	return int(int64In(t, int64(lo), int64(hi)))
}

// int64In is intIn for int64; lo > math.MinInt64 and hi < math.MaxInt64.
func int64In(t *rapid.T, lo, hi int64) int64 {
	switch {
	case lo == hi:
		return lo
	case lo >= 0:
		return lo + int64(uint64In(t, 0, uint64(hi-lo)))
	case hi <= 0:
		return hi - int64(uint64In(t, 0, uint64(hi-lo)))
	}
	// A range around 0: rapid draws the sign with probability ½ each, then the magnitude.
	idx := -1
	if -64 <= lo && hi <= 64 {
		idx = int(-lo-1)*64 + int(hi-1)
	}
	return cachedGen(&int64Gens, [2]int64{lo, hi}, idx, func() *rapid.Generator[int64] {
		return rapid.Int64Range(lo-1, hi+1).Filter(func(v int64) bool { return v >= lo && v <= hi })
	}).Draw(t, "int")
}

// uint64In draws a uint64 in [lo, hi], shrinking toward lo; hi < math.MaxUint64.
func uint64In(t *rapid.T, lo, hi uint64) uint64 {
	if lo == hi {
		return lo
	}
	n := hi - lo
	idx := -1
	if n < smallGens {
		idx = int(n)
	}
	return lo + cachedGen(&uint64Gens, n, idx, func() *rapid.Generator[uint64] {
		return rapid.Uint64Range(0, n+1).Filter(func(v uint64) bool { return v <= n })
	}).Draw(t, "uint")
}

// The range generators of int64In and uint64In, kept by range: building one costs a few heap
// allocations, more than the draw itself, and a row draws one per element. A rapid generator
// holds no state between draws, so one serves every goroutine. A cache holds at most
// maxCachedGens ranges (the generators draw from a few dozen; ranges past the bound are built
// per draw, as before).
//
// The most common ranges (uint64In's of fewer than smallGens values; int64In's within ±64) are
// also kept in an array, by an index that the caller computes: an atomic load, where a sync.Map
// lookup hashes its key (5% of a 32-element case's time).
type genCache[K comparable, V any] struct {
	small [smallGens]atomic.Pointer[rapid.Generator[V]]
	m     sync.Map // K → *rapid.Generator[V]
	n     atomic.Int64
}

const (
	maxCachedGens = 4096
	smallGens     = 4096
)

var (
	uint64Gens genCache[uint64, uint64]
	int64Gens  genCache[[2]int64, int64]
)

// cachedGen returns the generator of range k, built by build the first time; idx is k's index
// in c.small, or −1.
func cachedGen[K comparable, V any](c *genCache[K, V], k K, idx int, build func() *rapid.Generator[V]) *rapid.Generator[V] {
	if idx >= 0 {
		if g := c.small[idx].Load(); g != nil {
			return g
		}
		g := build()
		if c.small[idx].CompareAndSwap(nil, g) {
			return g
		}
		return c.small[idx].Load()
	}
	if g, ok := c.m.Load(k); ok {
		return g.(*rapid.Generator[V])
	}
	g := build()
	if c.n.Load() < maxCachedGens {
		if prev, loaded := c.m.LoadOrStore(k, g); loaded {
			return prev.(*rapid.Generator[V])
		}
		c.n.Add(1)
	}
	return g
}

func sampled[E any](t *rapid.T, s []E) E { return s[intIn(t, 0, len(s)-1)] }
