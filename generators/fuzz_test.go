package generators

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// fuzzProp draws a case of every generator from the fuzzer's bytes and checks membership and
// the row classes' contracts; got receives the Row case when it is drawn.
func fuzzProp(got *Case) func(*rapid.T) {
	rows := map[fp.Format]*Gen[Case]{}
	for _, f := range fp.Formats() {
		rows[f] = Row(f, MaxLen(300))
	}
	return func(t *rapid.T) {
		f := rapid.SampledFrom(fp.Formats()).Draw(t, "format")
		c := rows[f].Draw(t, "row")
		if got != nil {
			*got = c
		}
		for i, x := range c.X {
			if !f.Contains(x) {
				t.Fatalf("x[%d] = %x [bits %#x] is not a value of %s", i, x, math.Float64bits(x), f)
			}
		}
		if msg := checkRow(f, c.Class, c.X); msg != "" {
			t.Fatalf("%s: %s\n%s", c.Class, msg, c)
		}
	}
}

// FuzzRow runs the row generators of every format on the fuzzer's bytes (rapid.MakeFuzz):
// go test -fuzz=FuzzRow ./generators/
func FuzzRow(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 512))
	f.Add(pattern(4096, 1))
	f.Add(pattern(4096, 2))
	f.Fuzz(rapid.MakeFuzz(fuzzProp(nil)))
}

// pattern returns n bytes of a fixed pseudo-random sequence (SplitMix64 from seed).
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], mix(seed+uint64(i)))
	}
	return b
}

// TestMakeFuzz drives the property through rapid.MakeFuzz with byte slices, as the native
// fuzzer does: all-zero bytes must give the simplest case (format fp16, class row/small-int,
// one element, +0), and pseudo-random bytes cases of several classes.
func TestMakeFuzz(t *testing.T) {
	var got Case
	fz := rapid.MakeFuzz(fuzzProp(&got))
	t.Run("zeros", func(t *testing.T) {
		fz(t, make([]byte, 4096))
		if got.Format != fp.FP16 || got.Class != RowSmallInt || got.Cols != 1 || got.X[0] != 0 || math.Signbit(got.X[0]) {
			t.Errorf("zero bytes gave\n%s want fp16 row/small-int [+0]", got)
		}
	})
	classes := map[Class]bool{}
	n := 200
	if testing.Short() {
		n = 50
	}
	for i := range n {
		ok := t.Run("random", func(t *testing.T) {
			got = Case{}
			fz(t, pattern(8192, uint64(i)*7919))
		})
		if !ok {
			break
		}
		if got.Class != "" {
			classes[got.Class] = true
		}
	}
	if len(classes) < 10 {
		t.Errorf("%d random byte strings gave %d row classes, want ≥ 10: %v", n, len(classes), classes)
	}
}
