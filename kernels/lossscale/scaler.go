// This file implements Dynamic, the bundled dynamic loss scaler.

package lossscale

import (
	"errors"
	"fmt"
	"math"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
)

// ErrOptions is wrapped by the error New and Restore return for inconsistent options.
var ErrOptions = errors.New("lossscale: invalid options")

// MinFloor is the smallest floor a Dynamic accepts, 2^-127: the smallest power of two whose fp32
// reciprocal (2^127) is finite.
const MinFloor = 0x1p-127

// Options configure a Dynamic. The zero value is not valid; start from DefaultOptions.
type Options struct {
	Init       float32 // initial scale; PyTorch 2^16
	Growth     float64 // growth factor, > 1; PyTorch 2
	Backoff    float64 // backoff factor, in (0, 1); PyTorch 0.5
	Interval   int     // clean steps between growths, in [1, 2^31−1]; PyTorch 2000
	Floor      float32 // the scale never backs off below it, in [MinFloor, MaxFloat32]; default 2^-126 (PyTorch: none)
	Cap        float32 // the scale never grows above it, ≥ Floor, +Inf for none; default +Inf
	Hysteresis int     // overflows since the last growth before a backoff, ≥ 1; default 1 (none)
}

// DefaultOptions returns PyTorch GradScaler's defaults with the floor 2^-126, no cap and no
// hysteresis.
func DefaultOptions() Options {
	return Options{
		Init:       65536,
		Growth:     2,
		Backoff:    0.5,
		Interval:   2000,
		Floor:      0x1p-126,
		Cap:        float32(math.Inf(1)),
		Hysteresis: 1,
	}
}

// Validate reports whether o is consistent; the error wraps ErrOptions.
func (o Options) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrOptions}, a...)...)
	}
	f32 := func(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }
	switch {
	case !(o.Floor >= MinFloor) || !f32(o.Floor):
		return bad("floor %g (%#x) must be finite and ≥ 2^-127", o.Floor, math.Float32bits(o.Floor))
	case !(o.Cap >= o.Floor):
		return bad("cap %g must be ≥ floor %g (+Inf for none)", o.Cap, o.Floor)
	case !f32(o.Init) || !(o.Init >= o.Floor) || !(o.Init <= o.Cap):
		return bad("init %g (%#x) must be finite and in [floor %g, cap %g]", o.Init, math.Float32bits(o.Init), o.Floor, o.Cap)
	case !(o.Growth > 1) || math.IsInf(o.Growth, 0):
		return bad("growth factor %g must be finite and > 1", o.Growth)
	case !(o.Backoff > 0 && o.Backoff < 1):
		return bad("backoff factor %g must be in (0, 1)", o.Backoff)
	case o.Interval < 1 || o.Interval > math.MaxInt32:
		return bad("growth interval %d must be in [1, 2^31-1]", o.Interval)
	case o.Hysteresis < 1 || o.Hysteresis > math.MaxInt32:
		return bad("hysteresis %d must be in [1, 2^31-1]", o.Hysteresis)
	}
	return nil
}

// Dynamic is the bundled dynamic loss scaler (see the package documentation for its semantics).
// It is not safe for concurrent use.
type Dynamic struct {
	opt     Options
	scale   float32
	tracker int  // clean steps since the last growth or overflow, in [0, Interval)
	hyst    int  // overflows left before a backoff, in [1, Hysteresis]
	found   bool // a non-finite gradient was seen since the last Update
}

// New returns a scaler with the given options, or an error wrapping ErrOptions.
func New(o Options) (*Dynamic, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Dynamic{opt: o, scale: o.Init, hyst: o.Hysteresis}, nil
}

// Options returns the scaler's options.
func (d *Dynamic) Options() Options { return d.opt }

// Scale returns the current scale, a finite fp32 value in [Floor, Cap].
func (d *Dynamic) Scale() float32 { return d.scale }

// Tracker returns the growth tracker: the clean steps since the last growth or overflow.
func (d *Dynamic) Tracker() int { return d.tracker }

// HysteresisLeft returns h in [1, Hysteresis]: the h-th overflow from now backs off (if no growth
// comes first); 1 means the next overflow does.
func (d *Dynamic) HysteresisLeft() int { return d.hyst }

// ScaleLoss returns loss·scale rounded to fp32, the value to backpropagate.
//
// Special cases are:
//
//	ScaleLoss(±Inf) = ±Inf
//	ScaleLoss(NaN) = NaN
//	ScaleLoss(x) = ±Inf when |x·scale| overflows fp32
func (d *Dynamic) ScaleLoss(loss float32) float32 {
	return float32(float64(loss) * float64(d.scale))
}

// inv returns fp32(1/fp64(scale)), the reciprocal Unscale multiplies by. It is finite because
// scale ≥ Floor ≥ 2^-127.
func (d *Dynamic) inv() float64 {
	return float64(float32(1 / float64(d.scale)))
}

// UnscaleFloat32 sets dst[i] = fp32(src[i]·inv) with inv = fp32(1/fp64(scale)), and reports
// whether any src[i] is NaN or ±Inf, testing each element before it is multiplied. The result is
// recorded for Step and Update. dst and src must have the same length; they may be the same
// slice.
//
// Special cases are (for each element):
//
//	NaN → NaN, and found
//	±Inf → ±Inf, and found
//	±0 → ±0
//	x with |x·inv| beyond fp32's range → ±Inf (not found: the input was finite; impossible when scale ≥ 1)
//
// Accuracy: one rounding of the exact product (≤ ½ ulp of fp32); exact when the scale is a
// power of two and the result is not an fp32 subnormal.
func (d *Dynamic) UnscaleFloat32(dst, src []float32) (found bool) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("lossscale: UnscaleFloat32: len(dst) = %d, len(src) = %d", len(dst), len(src)))
	}
	inv := d.inv()
	for i, g := range src {
		if g != g || math.IsInf(float64(g), 0) {
			found = true
		}
		dst[i] = float32(float64(g) * inv) // exact product (24+24 bits), rounded once
	}
	d.found = d.found || found
	return found
}

// UnscaleFloat16 is UnscaleFloat32 for fp16 gradients: each element is widened exactly to fp32
// and the output is fp32.
func (d *Dynamic) UnscaleFloat16(dst []float32, src []float16.Float16) (found bool) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("lossscale: UnscaleFloat16: len(dst) = %d, len(src) = %d", len(dst), len(src)))
	}
	inv := d.inv()
	for i, h := range src {
		if h.IsNaN() || h.IsInf(0) {
			found = true
		}
		dst[i] = float32(float64(h.Float32()) * inv)
	}
	d.found = d.found || found
	return found
}

// UnscaleBFloat16 is UnscaleFloat32 for bfloat16 gradients given as their bits (the upper half of
// an fp32 encoding): each element is widened exactly to fp32 and the output is fp32.
func (d *Dynamic) UnscaleBFloat16(dst []float32, src []uint16) (found bool) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("lossscale: UnscaleBFloat16: len(dst) = %d, len(src) = %d", len(dst), len(src)))
	}
	inv := d.inv()
	for i, b := range src {
		g := math.Float32frombits(uint32(b) << 16)
		if g != g || math.IsInf(float64(g), 0) {
			found = true
		}
		dst[i] = float32(float64(g) * inv)
	}
	d.found = d.found || found
	return found
}

// Unscale implements Scaler: it is UnscaleFloat32 for gradients in the harness representation.
// Values of g must be members of g.Format, which must be FP16, BF16 or FP32 (it panics
// otherwise: every such value is exactly an fp32 value).
func (d *Dynamic) Unscale(dst []float32, g Grads) (found bool) {
	if err := g.check(); err != nil {
		panic(err)
	}
	if len(dst) != len(g.Values) {
		panic(fmt.Sprintf("lossscale: Unscale: len(dst) = %d, len(g.Values) = %d", len(dst), len(g.Values)))
	}
	inv := d.inv()
	for i, x := range g.Values {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			found = true
		}
		dst[i] = float32(float64(float32(x)) * inv)
	}
	d.found = d.found || found
	return found
}

// Found reports whether a non-finite gradient was seen since the last Update.
func (d *Dynamic) Found() bool { return d.found }

// Step runs apply, the optimizer step, unless a non-finite gradient was seen since the last
// Update, and reports whether it skipped it. A nil apply is allowed.
func (d *Dynamic) Step(apply func()) (skipped bool) {
	if d.found {
		return true
	}
	if apply != nil {
		apply()
	}
	return false
}

// Update ends the iteration. On overflow (a non-finite gradient since the last Update) the
// tracker is reset and, unless hysteresis absorbs it, the scale becomes max(Floor,
// fp32(scale·Backoff)). On a clean iteration the tracker counts up; when it reaches Interval
// the scale becomes min(Cap, fp32(scale·Growth)) if that product is finite (otherwise it stays),
// the tracker is reset and the hysteresis count is replenished.
func (d *Dynamic) Update() {
	o := &d.opt
	if d.found {
		d.found = false
		d.tracker = 0
		d.hyst--
		if d.hyst <= 0 {
			d.hyst = 1 // stays exhausted until growth replenishes it (Megatron)
			s := float32(float64(d.scale) * o.Backoff)
			if !(s >= o.Floor) { // also catches 0
				s = o.Floor
			}
			d.scale = s
		}
		return
	}
	d.tracker++
	if d.tracker < o.Interval {
		return
	}
	d.tracker = 0
	d.hyst = o.Hysteresis
	s := float32(float64(d.scale) * o.Growth)
	if math.IsInf(float64(s), 0) {
		return // finite-growth guard
	}
	if s > o.Cap {
		s = o.Cap
	}
	d.scale = s
}

// check verifies g's format.
func (g Grads) check() error {
	switch g.Format {
	case fp.FP16, fp.BF16, fp.FP32:
		return nil
	}
	return fmt.Errorf("lossscale: gradients in %v: want fp16, bf16 or fp32", g.Format)
}
