package lossscale

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
)

var inf32 = float32(math.Inf(1))

func TestDefaultOptionsArePyTorchs(t *testing.T) {
	o := DefaultOptions()
	rows := []struct {
		name      string
		got, want float64
		reason    string
	}{
		{"Init", float64(o.Init), 65536, "GradScaler init_scale=2.0**16"},
		{"Growth", o.Growth, 2, "GradScaler growth_factor=2.0"},
		{"Backoff", o.Backoff, 0.5, "GradScaler backoff_factor=0.5"},
		{"Interval", float64(o.Interval), 2000, "GradScaler growth_interval=2000"},
		{"Floor", float64(o.Floor), 0x1p-126, "our addition: smallest normal fp32, so the scale never reaches 0"},
		{"Cap", float64(o.Cap), math.Inf(1), "no cap, as PyTorch"},
		{"Hysteresis", float64(o.Hysteresis), 1, "no hysteresis, as PyTorch"},
	}
	for _, r := range rows {
		if r.got != r.want {
			t.Errorf("%s = %v, want %v (%s)", r.name, r.got, r.want, r.reason)
		}
	}
	if err := o.Validate(); err != nil {
		t.Errorf("DefaultOptions().Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	rows := []struct {
		edit   func(*Options)
		reason string
	}{
		{func(o *Options) { o.Floor = 0 }, "a zero floor lets the scale reach 0"},
		{func(o *Options) { o.Floor = 0x1p-128 }, "1/2^-128 overflows fp32"},
		{func(o *Options) { o.Floor = float32(math.NaN()) }, "NaN floor"},
		{func(o *Options) { o.Cap = 0.5; o.Init = 0.5; o.Floor = 1 }, "cap below floor"},
		{func(o *Options) { o.Init = inf32 }, "infinite initial scale"},
		{func(o *Options) { o.Init = 0 }, "zero initial scale"},
		{func(o *Options) { o.Init = 0.5; o.Floor = 1 }, "initial scale below the floor"},
		{func(o *Options) { o.Growth = 1 }, "growth factor must exceed 1"},
		{func(o *Options) { o.Growth = math.Inf(1) }, "infinite growth factor"},
		{func(o *Options) { o.Backoff = 1 }, "backoff factor must be below 1"},
		{func(o *Options) { o.Backoff = 0 }, "zero backoff factor"},
		{func(o *Options) { o.Interval = 0 }, "zero interval"},
		{func(o *Options) { o.Hysteresis = 0 }, "zero hysteresis"},
	}
	for i, r := range rows {
		o := DefaultOptions()
		r.edit(&o)
		err := o.Validate()
		if !errors.Is(err, ErrOptions) {
			t.Errorf("row %d (%s): Validate(%+v) = %v, want ErrOptions", i, r.reason, o, err)
		}
		if _, err := New(o); err == nil {
			t.Errorf("row %d (%s): New accepted %+v", i, r.reason, o)
		}
	}
}

// run feeds a sequence of iterations ('c' clean, 'o' overflow) and returns the scale after each.
func run(t *testing.T, d *Dynamic, seq string) []float32 {
	t.Helper()
	var out []float32
	dst := make([]float32, 1)
	for _, c := range seq {
		g := float32(1)
		if c == 'o' {
			g = inf32
		}
		found := d.UnscaleFloat32(dst, []float32{g})
		applied := false
		skipped := d.Step(func() { applied = true })
		if found != (c == 'o') || skipped != found || applied == skipped {
			t.Fatalf("iteration %q: found %v, skipped %v, applied %v", c, found, skipped, applied)
		}
		d.Update()
		out = append(out, d.Scale())
	}
	return out
}

func TestUpdateCadence(t *testing.T) {
	p := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	rows := []struct {
		edit   func(*Options)
		seq    string
		want   []float32
		reason string
	}{
		{func(o *Options) { o.Init = 8; o.Interval = 3 }, "cccocccoccc",
			[]float32{8, 8, 16, 8, 8, 8, 16, 8, 8, 8, 16}, "growth on every 3rd consecutive clean step; overflow halves and restarts the count"},
		{func(o *Options) { o.Init = 8; o.Interval = 3 }, "ccocccc",
			[]float32{8, 8, 4, 4, 4, 8, 8}, "two clean steps before an overflow do not count toward growth"},
		{func(o *Options) { o.Init = p(127); o.Interval = 1 }, "cc",
			[]float32{p(127), p(127)}, "2^128 overflows fp32: the finite-growth guard keeps the scale"},
		{func(o *Options) { o.Init = 1; o.Floor = 0.25 }, "oooo",
			[]float32{0.5, 0.25, 0.25, 0.25}, "backoff stops at the floor"},
		{func(o *Options) { o.Init = 4; o.Cap = 6; o.Interval = 1 }, "ccoc",
			[]float32{6, 6, 3, 6}, "growth stops at the cap (apex max_loss_scale)"},
		{func(o *Options) { o.Init = 16; o.Interval = 2; o.Hysteresis = 2 }, "ooocco",
			[]float32{16, 8, 4, 4, 8, 8}, "hysteresis 2: the first overflow is absorbed, then each backs off until growth replenishes"},
		{func(o *Options) { o.Init = 3; o.Interval = 1; o.Backoff = 0.75; o.Growth = 1.5 }, "co",
			[]float32{4.5, 3.375}, "non-power-of-two factors, exact in fp32"},
	}
	for i, r := range rows {
		o := DefaultOptions()
		r.edit(&o)
		d, err := New(o)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		got := run(t, d, r.seq)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(r.want[j]) {
				t.Errorf("row %d (%s): after %q scale = %g (%#08x), want %g (%#08x)", i, r.reason, r.seq[:j+1],
					got[j], math.Float32bits(got[j]), r.want[j], math.Float32bits(r.want[j]))
				break
			}
		}
	}
}

func TestDefaultFloorKeepsUnscaleFinite(t *testing.T) {
	d, err := New(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// 166 backoffs from 2^16 reach 0 without a floor (NUMERICS §9); do 200.
	run(t, d, strings.Repeat("o", 200))
	if s := d.Scale(); s != 0x1p-126 {
		t.Fatalf("after 200 overflows scale = %g (%#08x), want the floor 2^-126", s, math.Float32bits(s))
	}
	dst := make([]float32, 2)
	found := d.UnscaleFloat32(dst, []float32{0, 0x1p-140})
	if found || dst[0] != 0 || dst[1] != 0x1p-14 {
		t.Fatalf("Unscale([0, 2^-140]) at the floor = %v (%#08x, %#08x), found %v; want [0, 2^-14], not found",
			dst, math.Float32bits(dst[0]), math.Float32bits(dst[1]), found)
	}
}

func TestUnscaleSpecialValues(t *testing.T) {
	negz := float32(math.Copysign(0, -1))
	nan := float32(math.NaN())
	rows := []struct {
		in     float32
		want   float32
		found  bool
		reason string
	}{
		{0, 0, false, "+0 is finite"},
		{negz, negz, false, "−0 keeps its sign and is finite"},
		{65504, 65504 * 0x1p-16, false, "fp16 max finite is not overflow"},
		{-0x1.fep127, -0x1.fep111, false, "bf16 max finite is not overflow"},
		{inf32, inf32, true, "+Inf is overflow"},
		{-inf32, -inf32, true, "−Inf is overflow"},
		{nan, nan, true, "NaN is overflow"},
		{0x1p-24, 0x1p-40, false, "fp16 min subnormal is finite; unscaled exactly"},
	}
	for _, r := range rows {
		for _, f := range []fp.Format{fp.FP32, fp.FP16, fp.BF16} {
			if r.in == r.in && !f.Contains(float64(r.in)) {
				continue // e.g. 65504 is not a bf16 value, bf16 max is not an fp16 value
			}
			d, _ := New(DefaultOptions()) // scale 2^16
			dst := []float32{42}
			var found bool
			switch f {
			case fp.FP32:
				found = d.UnscaleFloat32(dst, []float32{r.in})
			case fp.FP16:
				found = d.UnscaleFloat16(dst, []float16.Float16{float16.Fromfloat32(r.in)})
			case fp.BF16:
				found = d.UnscaleBFloat16(dst, []uint16{uint16(math.Float32bits(r.in) >> 16)})
			}
			same := math.Float32bits(dst[0]) == math.Float32bits(r.want) || (r.want != r.want && dst[0] != dst[0])
			if found != r.found || !same || d.Found() != r.found {
				t.Errorf("%v: Unscale(%g = %#08x) = %g (%#08x), found %v; want %g (%#08x), found %v (%s)", f,
					r.in, math.Float32bits(r.in), dst[0], math.Float32bits(dst[0]), found, r.want, math.Float32bits(r.want), r.found, r.reason)
			}
			// The harness entry point agrees with the native one.
			d2, _ := New(DefaultOptions())
			dst2 := []float32{42}
			found2 := d2.Unscale(dst2, Grads{Format: f, Values: []float64{float64(r.in)}})
			if found2 != found || (math.Float32bits(dst2[0]) != math.Float32bits(dst[0]) && dst[0] == dst[0]) {
				t.Errorf("%v: Unscale(Grads{%g}) = %g, %v; native gave %g, %v", f, r.in, dst2[0], found2, dst[0], found)
			}
		}
	}
}

// TestUnderflowRescue: an fp16 gradient of 2^-30 flushes to 0 unscaled; with the default scale
// 2^16 it is stored as the fp16 normal 2^-14 and unscaled in fp32 to exactly 2^-30 (NUMERICS §9).
func TestUnderflowRescue(t *testing.T) {
	const g = 0x1.5p-30 // 1.3125·2^-30: needs 3 significant bits
	if h, _ := fp.FP16.RoundFloat64(g); h != 0 {
		t.Fatalf("setup: fp16(%g) = %g, want 0", g, h)
	}
	d, _ := New(DefaultOptions())
	h := float16.Fromfloat32(float32(g * 65536))
	if float64(h.Float32()) != g*65536 {
		t.Fatalf("setup: g·2^16 = %g not an fp16 value", g*65536)
	}
	dst := make([]float32, 1)
	if d.UnscaleFloat16(dst, []float16.Float16{h}) || float64(dst[0]) != g {
		t.Fatalf("Unscale(fp16 %#04x) = %g (%#08x), want %g (%#08x)", h.Bits(), dst[0], math.Float32bits(dst[0]), g, math.Float32bits(float32(g)))
	}
}

func TestStateRoundTrip(t *testing.T) {
	o := DefaultOptions()
	o.Init, o.Interval, o.Hysteresis, o.Cap = 3, 5, 3, 1e30
	d, _ := New(o)
	run(t, d, "ccocc")
	d.UnscaleFloat32(make([]float32, 1), []float32{inf32}) // mid-iteration: Found is part of the state
	b, err := d.State()
	if err != nil {
		t.Fatal(err)
	}
	e, _ := New(DefaultOptions())
	if err := e.Restore(b); err != nil {
		t.Fatal(err)
	}
	if e.Snapshot() != d.Snapshot() {
		t.Fatalf("restored %+v, want %+v", e.Snapshot(), d.Snapshot())
	}
	b2, _ := e.State()
	if string(b2) != string(b) {
		t.Fatalf("State after Restore = %x, want %x", b2, b)
	}
	// The two scalers now behave identically.
	for _, s := range [2]*Dynamic{d, e} {
		s.Update()
	}
	if got, want := run(t, e, "ccccco"), run(t, d, "ccccco"); got[len(got)-1] != want[len(want)-1] {
		t.Fatalf("restored scaler diverged: %v vs %v", got, want)
	}
	bad := [][]byte{nil, b[:len(b)-1], append([]byte("XXXX"), b[4:]...)}
	corrupt := append([]byte(nil), b...)
	corrupt[len(corrupt)-1] = 7 // found byte
	bad = append(bad, corrupt)
	tracker := append([]byte(nil), b...)
	tracker[4+4+8+8+4+4+4+4+4] = 9 // tracker 9 ≥ interval 5
	bad = append(bad, tracker)
	for i, x := range bad {
		if err := e.Restore(x); !errors.Is(err, ErrState) {
			t.Errorf("bad state %d (%x): Restore = %v, want ErrState", i, x, err)
		}
	}
}

// BenchmarkUnscaleFloat16 measures the unscale of a 4096-element fp16 gradient tensor.
func BenchmarkUnscaleFloat16(b *testing.B) {
	d, _ := New(DefaultOptions())
	src := make([]float16.Float16, 4096)
	for i := range src {
		src[i] = float16.Frombits(uint16(i * 7 % 0x7c00))
	}
	dst := make([]float32, len(src))
	b.ResetTimer()
	for b.Loop() {
		d.UnscaleFloat16(dst, src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/elem")
}
