package fp

import (
	"math"
	"math/big"
	"runtime"
	"sync"
	"testing"

	"github.com/x448/float16"
)

// narrow are the formats small enough to enumerate.
var narrow = []Format{FP16, BF16, E4M3, E5M2}

// TestAllBitPatterns decodes every encoding of the 8- and 16-bit formats, encodes it back, and
// checks that the value rounds to itself exactly and that Next and Prev walk the encodings in
// order.
func TestAllBitPatterns(t *testing.T) {
	for _, f := range narrow {
		n := uint64(1) << f.Width()
		for b := uint64(0); b < n; b++ {
			v := f.Decode(b)
			if got := f.Encode(v); got != b {
				t.Fatalf("%v: Encode(Decode(%#x)) = %#x (value %x)", f, b, got, v)
			}
			if math.IsNaN(v) {
				continue
			}
			if !f.Contains(v) {
				t.Fatalf("%v: Decode(%#x) = %x is not Contained", f, b, v)
			}
			r, fl := f.Round(new(big.Float).SetFloat64(v))
			if !same(r, v) || fl != Exact {
				t.Fatalf("%v: Round(%x) = %x, %v", f, v, r, fl)
			}
			if math.IsInf(v, 0) {
				continue
			}
			// Next and Prev against the encoding order (positive values count up in bits).
			mag := b & (n/2 - 1)
			if math.Signbit(v) && mag != 0 {
				if got := f.Next(v); !same(got, f.Decode(b-1)) && !(mag == 1 && got == 0) {
					t.Fatalf("%v: Next(%x) = %x, want %x", f, v, got, f.Decode(b-1))
				}
			} else if !math.Signbit(v) && v != f.MaxFinite() {
				if got := f.Next(v); !same(got, f.Decode(b+1)) {
					t.Fatalf("%v: Next(%x) = %x, want %x", f, v, got, f.Decode(b+1))
				}
				if got := f.Prev(f.Next(v)); got != v {
					t.Fatalf("%v: Prev(Next(%x)) = %x", f, v, got)
				}
			}
		}
	}
}

// TestTiesAndNeighbours rounds, for every pair of neighbours v < w of the narrow formats, the
// midpoint (which must go to the one with an even significand) and the reals just above and below
// it (which must go to w and v). The perturbed values are not float64s, so this exercises the
// big.Float path of Round; the midpoints exercise the float64 path.
func TestTiesAndNeighbours(t *testing.T) {
	tiny := new(big.Float).SetMantExp(big.NewFloat(1), -3000)
	for _, f := range narrow {
		for v := 0.0; v < f.MaxFinite(); v = f.Next(v) {
			w := f.Next(v)
			var m big.Float
			m.SetPrec(200).SetFloat64(v)
			m.Add(&m, new(big.Float).SetPrec(200).SetFloat64(w))
			m.Quo(&m, big.NewFloat(2))
			even := v
			if f.Encode(w)&1 == 0 {
				even = w
			}
			if got, _ := f.Round(&m); got != even {
				t.Fatalf("%v: Round(midpoint of %x and %x) = %x, want %x", f, v, w, got, even)
			}
			var lo, hi big.Float
			lo.SetPrec(4000).Sub(&m, new(big.Float).SetPrec(4000).Mul(&m, tiny))
			hi.SetPrec(4000).Add(&m, new(big.Float).SetPrec(4000).Mul(&m, tiny))
			if got, _ := f.Round(&lo); got != v {
				t.Fatalf("%v: Round(just below midpoint of %x and %x) = %x", f, v, w, got)
			}
			if got, _ := f.Round(&hi); got != w {
				t.Fatalf("%v: Round(just above midpoint of %x and %x) = %x", f, v, w, got)
			}
			// The negative side mirrors the positive one.
			if got, _ := f.Round(lo.Neg(&lo)); got != -v {
				t.Fatalf("%v: Round(−(just below midpoint of %x and %x)) = %x", f, v, w, got)
			}
		}
	}
}

// TestRoundPathsAgree checks that the float64 path and the big.Float path of Round give the same
// answer on float64 inputs spread over every binade that matters for each format, by rounding x
// both directly and as x·(1 + 2^−2000) ∓ correction: a float64 that is not a tie rounds the same
// as a real infinitesimally above it.
func TestRoundPathsAgree(t *testing.T) {
	eps := new(big.Float).SetMantExp(big.NewFloat(1), -2000)
	seed := uint64(0x9e3779b97f4a7c15)
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for _, f := range Formats() {
		for i := 0; i < n; i++ {
			seed = seed*6364136223846793005 + 1442695040888963407
			// Exponents within the format's range ± a margin, random significand, random sign.
			e := f.EMin() - f.Precision() - 4 + int(seed>>40)%(f.EMax()-f.EMin()+f.Precision()+8)
			x := math.Ldexp(1+float64(seed>>11&(1<<40-1))/(1<<40), e)
			if math.IsInf(x, 0) {
				continue // beyond float64 (FP64's margin)
			}
			if seed&1 == 1 {
				x = -x
			}
			r1, fl1 := f.RoundFloat64(x)
			var up big.Float
			up.SetPrec(2100).SetFloat64(x)
			up.Add(&up, new(big.Float).Mul(new(big.Float).SetPrec(2100).SetFloat64(x), eps)) // away from 0
			r2, fl2 := f.Round(&up)
			if fl1 == Exact {
				// x is a member: a real just beyond it still rounds to x.
				if !same(r2, r1) {
					t.Fatalf("%v: member %x: Round(x(1+ε)) = %x", f, x, r2)
				}
				continue
			}
			// A tie rounds to even, the real just beyond it away from zero.
			if !same(r2, r1) && !(math.Abs(r2) > math.Abs(r1) && isTie(f, x)) {
				t.Fatalf("%v: %x: float64 path %x (%v), big path %x (%v)", f, x, r1, fl1, r2, fl2)
			}
			if fl1 != fl2 && !(fl1 == Inexact && fl2 == Overflow) {
				t.Fatalf("%v: %x: flags differ: %v and %v", f, x, fl1, fl2)
			}
		}
	}
}

// isTie reports whether x lies exactly halfway between two neighbours of f.
func isTie(f Format, x float64) bool {
	r, _ := f.RoundFloat64(x)
	other := f.Next(r)
	if math.Abs(x) < math.Abs(r) || (x < r) {
		other = f.Prev(r)
	}
	return x-r == -(x - other) // exact in float64 for these formats
}

// TestFloat32ToFP16Exhaustive rounds every float32 bit pattern into FP16 and compares with
// github.com/x448/float16's conversion. It takes about 63 s on two busy cores (4.3 billion
// conversions each way) and is skipped under -short.
func TestFloat32ToFP16Exhaustive(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive 2^32 conversion test; run without -short (about 63 s on two cores)")
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	const span = 1 << 32
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(lo, hi uint64) {
			defer wg.Done()
			for b := lo; b < hi; b++ {
				x := math.Float32frombits(uint32(b))
				want := float16.Fromfloat32(x)
				if x != x {
					continue // NaN payload mapping is checked in TestAllBitPatterns
				}
				got, _ := FP16.RoundFloat64(float64(x))
				if FP16.Encode(got) != uint64(want.Bits()) {
					errs <- "fp16 of float32 " + big.NewFloat(float64(x)).Text('x', -1)
					return
				}
			}
		}(span/uint64(workers)*uint64(w), span/uint64(workers)*uint64(w+1))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestFP32Shortcuts checks the float32-conversion shortcuts of RoundFloat64 and Contains against
// the big path (Round of the exact value) on random float32 bit patterns of every class and on
// their float64 neighbours, which are not float32 values; FP64's Contains is always true.
func TestFP32Shortcuts(t *testing.T) {
	fixed := []uint32{0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x3f800000}
	seed := uint64(0x2545f4914f6cdd1d)
	for i := 0; i < 300000+len(fixed); i++ {
		seed = seed*6364136223846793005 + 1442695040888963407
		u := uint32(seed >> 32)
		switch {
		case i < len(fixed):
			u = fixed[i]
		case i%4 == 0:
			u &= 0x807fffff // subnormals
		}
		x := float64(math.Float32frombits(u))
		if math.IsNaN(x) {
			continue
		}
		for k, y := range []float64{x, math.Nextafter(x, math.Inf(1)), math.Nextafter(x, math.Inf(-1))} {
			if math.IsInf(y, 0) && k > 0 {
				continue
			}
			r1, fl1 := FP32.RoundFloat64(y)
			r2, fl2 := FP32.Round(new(big.Float).SetFloat64(y))
			if math.IsInf(y, 0) {
				r2, fl2 = y, Exact // Round's ±Inf is the format's infinity, exactly
			}
			if !same(r1, r2) || fl1 != fl2 && !(fl1 == Inexact && fl2 == Overflow) {
				t.Fatalf("%x: RoundFloat64 %x %v, Round %x %v", y, r1, fl1, r2, fl2)
			}
			if member := fl2 == Exact && same(r2, y); FP32.Contains(y) != member || member != (k == 0) {
				t.Fatalf("%x: Contains %v, member %v", y, FP32.Contains(y), member)
			}
			if !FP64.Contains(y) {
				t.Fatalf("FP64.Contains(%x) = false", y)
			}
		}
	}
}

// TestFP16Contains checks FP16's membership shortcut (the float32 and float16 conversions keep
// the value) against the general test (RoundFloat64 leaves it exact and unchanged) on every fp16
// bit pattern and on its float64 and float32 neighbours, which are not fp16 values except where
// they are the next fp16 value itself, and on random float32 patterns.
func TestFP16Contains(t *testing.T) {
	general := func(x float64) bool {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return true
		}
		r, fl := FP16.RoundFloat64(x)
		return fl == Exact && r == x
	}
	check := func(y float64) {
		if got, want := FP16.Contains(y), general(y); got != want {
			t.Fatalf("%x (%v): Contains %v, RoundFloat64 says %v", y, y, got, want)
		}
	}
	members := 0
	for b := range 1 << 16 {
		x := FP16.Decode(uint64(b))
		if math.IsNaN(x) {
			continue
		}
		if !FP16.Contains(x) {
			t.Fatalf("fp16 %#04x (%v): Contains false", b, x)
		}
		members++
		for _, y := range []float64{math.Nextafter(x, math.Inf(1)), math.Nextafter(x, math.Inf(-1)),
			float64(math.Nextafter32(float32(x), float32(math.Inf(1)))), float64(math.Nextafter32(float32(x), float32(math.Inf(-1))))} {
			check(y)
		}
	}
	seed := uint64(0x9e3779b97f4a7c15)
	for range 200000 {
		seed = seed*6364136223846793005 + 1442695040888963407
		check(float64(math.Float32frombits(uint32(seed >> 32))))
	}
	if members != 1<<16-2046 {
		t.Fatalf("%d fp16 members, want %d", members, 1<<16-2046)
	}
}
