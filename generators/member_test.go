package generators

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// draws returns how many examples a membership test draws per (format, class).
func draws() int {
	if testing.Short() {
		return 20
	}
	return 200
}

// checkMembers fails unless every value of xs is a member of f.
func checkMembers(t *testing.T, f fp.Format, what string, xs []float64) {
	t.Helper()
	for i, x := range xs {
		if !f.Contains(x) {
			t.Fatalf("%s[%d] = %x (%g) [bits %#016x] is not a value of %s", what, i, x, x, math.Float64bits(x), f)
		}
	}
}

func countIf(xs []float64, p func(float64) bool) int {
	n := 0
	for _, x := range xs {
		if p(x) {
			n++
		}
	}
	return n
}

func isSubnormal(f fp.Format, x float64) bool { return x != 0 && math.Abs(x) < f.MinNormal() }

// checkRow checks what class c promises about a row x of f (the class's contract, beyond
// membership); it returns a description of the first broken promise, or "".
func checkRow(f fp.Format, c Class, x []float64) string {
	n := len(x)
	finite := countIf(x, func(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) })
	negInf := countIf(x, func(v float64) bool { return math.IsInf(v, -1) })
	nans := countIf(x, math.IsNaN)
	if c != RowEmpty && n == 0 {
		return "empty row"
	}
	if c != RowUniformBits && c != RowNaN && nans > 0 {
		return "NaN outside row/nan and row/uniform-bits"
	}
	switch c {
	case RowEmpty:
		if n != 0 {
			return "not empty"
		}
	case RowSmallInt:
		for _, v := range x {
			if v != math.Trunc(v) || math.Abs(v) > 8 {
				return fmt.Sprintf("%g is not an integer in [−8, 8]", v)
			}
		}
	case RowEqual, RowLongFlat:
		m := map[float64]int{}
		for _, v := range x {
			m[v]++
		}
		if len(m) > 3 {
			return fmt.Sprintf("%d distinct values", len(m))
		}
		if c == RowLongFlat && n < min(1<<f.Precision(), 4096) {
			return fmt.Sprintf("length %d < min(2^p, 4096)", n)
		}
	case RowAscending:
		if !slices.IsSorted(x) {
			return "not ascending"
		}
	case RowDescending:
		if !slices.IsSortedFunc(x, func(a, b float64) int { return cmpFloat(b, a) }) {
			return "not descending"
		}
	case RowTiny:
		for _, v := range x {
			if math.Abs(v) > 1.0/16 {
				return fmt.Sprintf("%g > 2^-4", v)
			}
		}
	case RowHuge:
		lo := math.Ldexp(1, exponent(f.Exp().Overflow))
		for _, v := range x {
			if math.Abs(v) < lo/2 || math.IsInf(v, 0) {
				return fmt.Sprintf("%g is not huge", v)
			}
		}
	case RowMaxFinite:
		if countIf(x, func(v float64) bool { return math.Abs(v) >= f.Prev(f.Prev(f.Prev(f.MaxFinite()))) }) == 0 && n > 0 {
			// a row of logit-like values only is possible but rare; accept it
			return ""
		}
	case RowDominant:
		s := slices.Clone(x)
		slices.Sort(s)
		if s[n-1]-s[n-2] <= -f.Exp().ZeroAtOrBelow {
			return fmt.Sprintf("top two %g, %g are closer than the exp range %g", s[n-1], s[n-2], -f.Exp().ZeroAtOrBelow)
		}
	case RowSubnormal:
		if countIf(x, func(v float64) bool { return isSubnormal(f, v) }) == 0 {
			return "no subnormal"
		}
	case RowMixedMagnitude:
		if slices.Max(x)-slices.Min(x) <= -2*f.Exp().ZeroAtOrBelow {
			return "spread within the exp range"
		}
	case RowMaskedInf:
		if negInf == 0 || finite == 0 {
			return fmt.Sprintf("%d −Inf and %d finite entries", negInf, finite)
		}
	case RowMaskedSentinel:
		ss := sentinels(f)
		k := countIf(x, func(v float64) bool { return slices.Contains(ss, v) })
		if k == 0 || k == n {
			return fmt.Sprintf("%d of %d entries are sentinels", k, n)
		}
	case RowStartsNegInf:
		if !math.IsInf(x[0], -1) || finite == 0 {
			return "does not start with −Inf then finite"
		}
	case RowFullyMasked:
		if negInf != n {
			return "not every entry −Inf"
		}
	case RowPosInf:
		if countIf(x, func(v float64) bool { return math.IsInf(v, 1) }) != 1 {
			return "not exactly one +Inf"
		}
	case RowNaN:
		if nans != 1 {
			return fmt.Sprintf("%d NaNs", nans)
		}
	}
	if c != RowUniformBits && c != RowPosInf && countIf(x, func(v float64) bool { return math.IsInf(v, 1) }) > 0 {
		return "+Inf outside row/pos-inf and row/uniform-bits"
	}
	return ""
}

// TestScalarMembership draws every scalar class in every format and checks that each value
// is a member of its format and has its class's property.
func TestScalarMembership(t *testing.T) {
	for _, f := range fp.Formats() {
		for _, c := range scalarOrder {
			if !formatAllows(f)(c) {
				continue
			}
			g := Scalar(f, Only(c))
			for i := range draws() {
				v := g.Example(i)
				x := v.X
				if v.Class != c || v.Format != f {
					t.Fatalf("%s: drew class %s format %s", g, v.Class, v.Format)
				}
				checkMembers(t, f, string(c), []float64{x})
				bad := false
				switch c {
				case ScalarZero:
					bad = x != 0
				case ScalarSubnormal:
					bad = !isSubnormal(f, x)
				case ScalarMaxFinite:
					bad = math.Abs(x) > f.MaxFinite() || math.Abs(x) < f.Prev(f.Prev(f.Prev(f.MaxFinite())))
				case ScalarMinNormal:
					bad = f.UlpDistance(math.Abs(x), f.MinNormal()) > 3
				case ScalarInf:
					bad = !math.IsInf(x, 0)
				case ScalarNaN:
					bad = !math.IsNaN(x)
				case ScalarExpThreshold:
					bad = true
					for _, th := range thresholds(f) {
						if f.UlpDistance(x, rn(f, th)) <= 4 {
							bad = false
						}
					}
				}
				if bad {
					t.Fatalf("%s draw %d: %s", g, i, v)
				}
			}
		}
	}
}

// TestRowMembership draws every row class in every format (Row and Batch) and checks
// membership and each class's contract (checkRow).
func TestRowMembership(t *testing.T) {
	for _, f := range fp.Formats() {
		for _, c := range rowOrder {
			if !formatAllows(f)(c) {
				continue
			}
			maxLen := 1100
			if c == RowLongFlat {
				maxLen = 4096
			}
			for _, g := range []*Gen[Case]{Row(f, Only(c)), Batch(f, Only(c), MaxLen(maxLen))} {
				for i := range draws() / 2 {
					cs := g.Example(i)
					if len(cs.X) != cs.Rows*cs.Cols || len(cs.RowClasses) != cs.Rows || cs.Rows < 1 {
						t.Fatalf("%s draw %d: shape rows=%d cols=%d len(X)=%d len(RowClasses)=%d", g, i, cs.Rows, cs.Cols, len(cs.X), len(cs.RowClasses))
					}
					checkMembers(t, f, string(c), cs.X)
					for r := range cs.Rows {
						if cs.RowClasses[r] != c {
							t.Fatalf("%s draw %d: row %d has class %s", g, i, r, cs.RowClasses[r])
						}
						if msg := checkRow(f, c, cs.Row(r)); msg != "" {
							t.Fatalf("%s draw %d row %d: %s\n%s", g, i, r, msg, cs)
						}
					}
				}
			}
		}
	}
}

// TestBatchMixed checks that batches with default weights carry per-row classes that keep
// their contracts, and that mixed batches are common.
func TestBatchMixed(t *testing.T) {
	for _, f := range fp.Formats() {
		g := Batch(f, MaxLen(200))
		mixed := 0
		for i := range draws() {
			cs := g.Example(i)
			checkMembers(t, f, "x", cs.X)
			for r := range cs.Rows {
				if msg := checkRow(f, cs.RowClasses[r], cs.Row(r)); msg != "" {
					t.Fatalf("%s draw %d row %d (%s): %s\n%s", g, i, r, cs.RowClasses[r], msg, cs)
				}
			}
			if cs.Class == BatchMixed {
				mixed++
			}
		}
		if mixed < draws()/4 {
			t.Errorf("%s: %d mixed batches in %d draws, want ≥ a quarter", g, mixed, draws())
		}
	}
}

// TestBackwardMembership checks DY's shape, membership and classes.
func TestBackwardMembership(t *testing.T) {
	for _, f := range fp.Formats() {
		for _, c := range dyOrder {
			g := Backward(f, Only(c), MaxLen(300))
			for i := range draws() / 2 {
				cs := g.Example(i)
				if cs.DYClass != c || len(cs.DY) != len(cs.X) {
					t.Fatalf("%s draw %d: DYClass %s, len(DY) %d, len(X) %d", g, i, cs.DYClass, len(cs.DY), len(cs.X))
				}
				checkMembers(t, f, "dy", cs.DY)
				nans := countIf(cs.DY, math.IsNaN)
				if (c == DYNaN) != (nans == 1) && len(cs.DY) > 0 {
					t.Fatalf("%s draw %d: %d NaNs in DY\n%s", g, i, nans, cs)
				}
				if c == DYConstant {
					for r := range cs.Rows {
						row := cs.DY[r*cs.Cols : (r+1)*cs.Cols]
						if countIf(row, func(v float64) bool { return v != row[0] }) != 0 {
							t.Fatalf("%s draw %d: DY row %d is not constant\n%s", g, i, r, cs)
						}
					}
				}
			}
		}
	}
}

// TestCrossEntropyMembership checks targets, probabilities and options of every CE class.
func TestCrossEntropyMembership(t *testing.T) {
	for _, f := range fp.Formats() {
		for _, c := range ceOrder {
			if !formatAllows(f)(c) {
				continue
			}
			g := CrossEntropy(f, Only(c), MaxLen(300))
			for i := range draws() / 2 {
				cs := g.Example(i)
				fail := func(msg string) { t.Fatalf("%s draw %d: %s\n%s", g, i, msg, cs) }
				if cs.Class != c || cs.Cols < 1 {
					fail("class or cols")
				}
				checkMembers(t, f, "x", cs.X)
				checkMembers(t, f, "weights", cs.CE.Weights)
				checkMembers(t, f, "probs", cs.Probs)
				if cs.CE.Weights != nil && len(cs.CE.Weights) != cs.Cols {
					fail("len(weights) != cols")
				}
				if (cs.Targets == nil) == (cs.Probs == nil) {
					fail("want exactly one of Targets and Probs")
				}
				ignored := 0
				for _, tg := range cs.Targets {
					switch {
					case tg == cs.CE.IgnoreIndex:
						ignored++
					case tg < 0 || tg >= cs.Cols:
						fail(fmt.Sprintf("target %d out of [0, %d)", tg, cs.Cols))
					}
				}
				for _, p := range cs.Probs {
					if !(p >= 0) {
						fail(fmt.Sprintf("probability %g", p))
					}
				}
				switch c {
				case CEIgnoreSome:
					if ignored == 0 {
						fail("nothing ignored")
					}
				case CEIgnoreAll:
					if ignored != cs.Rows {
						fail("not every row ignored")
					}
				case CEZeroWeights:
					if countIf(cs.CE.Weights, func(w float64) bool { return w == 0 }) == 0 {
						fail("no zero weight")
					}
				case CEProbZeroNegInf:
					neg := 0
					for k, x := range cs.X {
						if math.IsInf(x, -1) {
							neg++
							if cs.Probs[k] != 0 {
								fail(fmt.Sprintf("probability %g on a −Inf logit at %d", cs.Probs[k], k))
							}
						}
					}
					if neg == 0 {
						fail("no −Inf logit")
					}
				case CEProbZeroMass:
					zeroRow := false
					for r := range cs.Rows {
						if countIf(cs.Probs[r*cs.Cols:(r+1)*cs.Cols], func(p float64) bool { return p != 0 }) == 0 {
							zeroRow = true
						}
					}
					if !zeroRow {
						fail("no row of zero mass")
					}
				}
			}
		}
	}
}

// scaled returns RN_sf(g·S) and its flag, computed exactly.
func scaled(sf fp.Format, g, s float64) (float64, fp.Flag) {
	x := new(big.Float).SetPrec(256).SetFloat64(g)
	x.Mul(x, big.NewFloat(s))
	return sf.Round(x)
}

// stepOverflows reports whether some gradient of st is non-finite or overflows when scaled.
func stepOverflows(st GradStep) (nonFinite, overflow, underflowSaved bool) {
	for _, g := range st.Grads {
		for _, x := range g {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				nonFinite = true
				continue
			}
			y, fl := scaled(st.ScaledFormat, x, st.Scale)
			if fl == fp.Overflow {
				overflow = true
			}
			if u, _ := st.ScaledFormat.RoundFloat64(x); u == 0 && x != 0 && y != 0 {
				underflowSaved = true
			}
		}
	}
	return
}

// TestGradStepClasses checks every step class's promise with exact arithmetic, for fp32 and
// fp64 master gradients against fp16 and bf16 scaled formats and two scales.
func TestGradStepClasses(t *testing.T) {
	for _, f := range fp.Formats() {
		for _, sf := range []fp.Format{fp.FP16, fp.BF16, fp.E5M2, fp.E4M3} {
			for _, s := range []float64{65536, 3, 0x1p100} {
				probe := newStepGen(f, newConfig([]Option{WithScale(s), WithScaledFormat(sf)}))
				for _, c := range stepOrder {
					if probe.p.share(c) == 0 {
						continue
					}
					g := GradStepGen(f, Only(c), WithScale(s), WithScaledFormat(sf))
					for i := range draws() / 4 {
						st := g.Example(i)
						for k := range st.Grads {
							checkMembers(t, f, "grad", st.Grads[k])
						}
						nf, ov, us := stepOverflows(st)
						bad := false
						switch c {
						case StepClean, StepExtremes:
							bad = nf || ov
						case StepUnderflowUnscaled:
							bad = nf || ov || !us
						case StepOverflowScaled:
							bad = nf || !ov
						case StepInf, StepNaN:
							bad = !nf
						}
						if bad {
							t.Fatalf("%s draw %d: nonFinite=%v overflow=%v underflowSaved=%v\n%s", g, i, nf, ov, us, st)
						}
					}
				}
			}
		}
	}
}

// TestWithShape checks that WithShape fixes every step's tensor lengths.
func TestWithShape(t *testing.T) {
	g := GradStepGen(fp.FP32, WithShape(3, 1, 7))
	for i := range draws() {
		st := g.Example(i)
		if len(st.Grads) != 3 || len(st.Grads[0]) != 3 || len(st.Grads[1]) != 1 || len(st.Grads[2]) != 7 {
			t.Fatalf("draw %d: shape %d tensors\n%s", i, len(st.Grads), st)
		}
	}
}

// TestClone checks that Clone copies every slice: writing to the copy leaves the original.
func TestClone(t *testing.T) {
	c := CrossEntropy(fp.FP16, Only(CEZeroWeights), MaxLen(8)).Example(1)
	before := c.String()
	d := c.Clone()
	if d.String() != before {
		t.Fatalf("Clone differs:\n%s\nwant\n%s", d, before)
	}
	d.X[0], d.CE.Weights[0], d.Targets[0], d.RowClasses[0] = d.X[0]+1, d.CE.Weights[0]+1, d.Targets[0]+1, "x"
	if after := c.String(); after != before {
		t.Errorf("Clone shares memory with the original: after writing to the copy\n%s\nwant\n%s", after, before)
	}
}

// TestGradStream checks stream shapes and that each stream class has the steps it promises.
func TestGradStream(t *testing.T) {
	for _, f := range []fp.Format{fp.FP32, fp.FP16} {
		for _, c := range streamOrder {
			g := GradStream(f, Only(c), WithStreamLen(2, 12))
			for i := range draws() / 4 {
				s := g.Example(i)
				if s.Class != c || len(s.Steps) < 2 || len(s.Steps) > 12 {
					t.Fatalf("%s draw %d: class %s, %d steps", g, i, s.Class, len(s.Steps))
				}
				bad := 0
				for k, st := range s.Steps {
					if len(st.Grads) != len(s.Steps[0].Grads) {
						t.Fatalf("%s draw %d: step %d has %d tensors, step 0 %d", g, i, k, len(st.Grads), len(s.Steps[0].Grads))
					}
					for j := range st.Grads {
						if len(st.Grads[j]) != len(s.Steps[0].Grads[j]) {
							t.Fatalf("%s draw %d: step %d tensor %d shape differs", g, i, k, j)
						}
					}
					nf, ov, _ := stepOverflows(st)
					if nf || ov {
						bad++
					}
				}
				switch {
				case c == StreamCleanRun && bad != 0, c == StreamOverflowRun && bad != len(s.Steps),
					c == StreamBurst && bad == 0, c == StreamAlternating && bad == 0 && len(s.Steps) > 6:
					t.Fatalf("%s draw %d: %d of %d steps overflow\n%s", g, i, bad, len(s.Steps), s)
				}
			}
		}
	}
}
