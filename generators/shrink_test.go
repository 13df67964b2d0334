package generators

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// recorder is a rapid.TB that records a property's failure instead of failing the test, so
// that a test can look at the minimal case rapid shrank to.
type recorder struct {
	name   string
	failed bool
	log    strings.Builder
}

func (r *recorder) Helper()                         {}
func (r *recorder) Name() string                    { return r.name }
func (r *recorder) Logf(format string, args ...any) { fmt.Fprintf(&r.log, format+"\n", args...) }
func (r *recorder) Log(args ...any)                 { fmt.Fprintln(&r.log, args...) }
func (r *recorder) Skipf(format string, args ...any) {
	panic("recorder: skip")
}
func (r *recorder) Skip(args ...any) { panic("recorder: skip") }
func (r *recorder) SkipNow()         { panic("recorder: skip") }
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.Logf(format, args...)
}
func (r *recorder) Error(args ...any)                 { r.failed = true; r.Log(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...) }
func (r *recorder) FailNow()                          { r.failed = true }
func (r *recorder) Fail()                             { r.failed = true }
func (r *recorder) Failed() bool                      { return r.failed }

// withRapidFlags sets rapid's flags for the duration of fn: no fail files in the source tree,
// and enough checks (divided by 5 under -short, as rapid does) to find a failure that one
// draw in a hundred exhibits with probability 1 − 0.99^1000 > 0.9999.
func withRapidFlags(t *testing.T, checks int, fn func()) {
	t.Helper()
	old := map[string]string{}
	for name, v := range map[string]string{"rapid.nofailfile": "true", "rapid.checks": fmt.Sprint(checks)} {
		old[name] = flag.Lookup(name).Value.String()
		if err := flag.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for name, v := range old {
			_ = flag.Set(name, v)
		}
	}()
	fn()
}

// overflowsScaled reports whether x is finite and RN_f(s·x) overflows: "some element ≥ 65520
// after scaling" for fp16.
func overflowsScaled(f fp.Format, x, s float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return false
	}
	_, fl := f.RoundFloat64(s * x) // s·x is exact in float64 for the s used here
	return fl == fp.Overflow && x > 0
}

// boundary returns the smallest positive fp16 value x with overflowsScaled(x, s), by scanning
// every encoding (independently of the generators).
func boundary(s float64) float64 {
	for b := uint64(0); b < 0x7c00; b++ {
		if x := fp.FP16.Decode(b); overflowsScaled(fp.FP16, x, s) {
			return x
		}
	}
	return math.NaN()
}

// TestShrinkToBoundary runs a failing property ("some element overflows fp16 after scaling by
// 3", i.e. 3x ≥ 65520) through rapid.Check and checks that rapid shrinks it to the minimal case
// in fp16's own space: one element, equal to the boundary value 21840 (0x7555).
func TestShrinkToBoundary(t *testing.T) {
	const s = 3
	want := boundary(s)
	if want != 21840 {
		t.Fatalf("boundary(%v) = %v, want 21840 (65520/3)", s, want)
	}
	cases := []struct {
		name    string
		gen     *Gen[Case]
		maxSize int // the most elements the shrunk case may keep
		reason  string
	}{
		{"row-huge", Row(fp.FP16, Only(RowHuge, LenShort)), 1,
			"huge values are one offset in fp16's ordered values; short lengths shrink to 1"},
		{"row-default-short", Row(fp.FP16, MaxLen(8), WithWeights(Weights{RowMaxFinite: 0, RowUniformBits: 0, RowMixedMagnitude: 0})), 2,
			"default weights but for the classes whose failing values are drawn bit by bit, as exponent and significand, or near MaxFinite"},
		{"batch-huge", Batch(fp.FP16, Only(RowHuge, LenShort)), 16,
			"rows after the first are deletable groups; the first row is not, so two rows may stay"},
		{"row-huge-block", Row(fp.FP16, Only(RowHuge)), 32,
			"a length bucket is kept, as a class is: block-32 rows shrink to 32 elements at most"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			last := shrunk(t, tc.gen, s)
			var bad []float64
			for _, x := range last.X {
				if overflowsScaled(fp.FP16, x, s) {
					bad = append(bad, x)
				}
			}
			if len(bad) != 1 || bad[0] != want || len(last.X) > tc.maxSize {
				t.Errorf("%s: shrank to\n%s want exactly one failing element, %x (%g) [0x%04x], and at most %d elements (%s)",
					tc.gen, last, want, want, fp.FP16.Encode(want), tc.maxSize, tc.reason)
			} else {
				t.Logf("%s shrank to %s", tc.gen, strings.TrimSpace(last.String()))
			}
		})
	}
}

// shrunk runs "no element overflows fp16 after scaling by s" on g through rapid.Check and
// returns the minimal failing case, which rapid replays last.
func shrunk(t *testing.T, g *Gen[Case], s float64) Case {
	t.Helper()
	var last Case
	rec := &recorder{name: t.Name()}
	withRapidFlags(t, 5000, func() {
		rapid.Check(rec, func(rt *rapid.T) {
			c := g.Draw(rt, "case")
			last = c
			for _, x := range c.X {
				if overflowsScaled(fp.FP16, x, s) {
					rt.Fatalf("%x overflows after scaling by %v", x, s)
				}
			}
		})
	})
	if !rec.failed {
		t.Fatalf("%s: rapid found no failing case in 5000 checks (1000 under -short)", g)
	}
	if strings.Contains(rec.log.String(), "[rapid] panic") || strings.Contains(rec.log.String(), "[rapid] flaky") {
		t.Fatalf("%s: the property did not fail cleanly:\n%s", g, rec.log.String())
	}
	if os.Getenv("GENERATORS_SHRINK_LOG") != "" {
		t.Log(rec.log.String())
	}
	return last
}

// TestShrinkUniformBits checks what shrinking achieves on patterns drawn bit by bit (the
// uniform classes): a single element that fails and that no longer fails when any one of its
// set bits is cleared (a bitwise minimum, not necessarily the numeric boundary).
func TestShrinkUniformBits(t *testing.T) {
	last := shrunk(t, Row(fp.FP16, Only(RowUniformBits, LenShort)), 3)
	var bad []float64
	for _, x := range last.X {
		if overflowsScaled(fp.FP16, x, 3) {
			bad = append(bad, x)
		}
	}
	if len(bad) != 1 {
		t.Fatalf("shrank to\n%s want one failing element", last)
	}
	b := fp.FP16.Encode(bad[0])
	for k := range 16 {
		if c := b &^ (1 << k); c != b && overflowsScaled(fp.FP16, fp.FP16.Decode(c), 3) {
			t.Errorf("shrank to [0x%04x]; clearing bit %d gives [0x%04x], which still fails", b, k, c)
		}
	}
}

// TestShrinkScalar checks the same for scalars drawn as uniform bit patterns, with the
// boundary of scaling by 2 (x ≥ 32760, so 32768 = 0x7800).
func TestShrinkScalar(t *testing.T) {
	want := boundary(2)
	var last Value
	rec := &recorder{name: t.Name()}
	withRapidFlags(t, 5000, func() {
		rapid.Check(rec, func(rt *rapid.T) {
			v := Scalar(fp.FP16, Only(ScalarUniformBits)).Draw(rt, "v")
			last = v
			if overflowsScaled(fp.FP16, v.X, 2) {
				rt.Fatalf("overflow")
			}
		})
	})
	if !rec.failed || last.X != want {
		t.Errorf("failed=%v, shrank to %s, want %x (%g) [0x%04x]", rec.failed, last, want, want, fp.FP16.Encode(want))
	}
}
