// This file implements the reference model of a dynamic loss scaler: the scale and counters a
// correct scaler has after any sequence of overflow flags (NUMERICS §9).

package scalerprop

import (
	"math"

	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
)

// Model is the reference state machine of a dynamic loss scaler with PyTorch GradScaler
// semantics and the options of lossscale.Options. It is driven only by the overflow flag of each
// iteration, so the expected scale after any stream of gradients is a function of the sequence
// of flags.
//
// Update(overflow) is, with every product formed exactly and rounded once to fp32:
//
//	overflow: tracker = 0; left = left − 1;
//	          if left ≤ 0 { scale = max(Floor, fp32(scale·Backoff)); left = 1 }   (left ≥ 1 after)
//	clean:    tracker = tracker + 1;
//	          if tracker == Interval { tracker = 0; left = Hysteresis;
//	                                   s = fp32(scale·Growth); if s finite { scale = min(Cap, s) } }
//
// left starts at Hysteresis (1 = no hysteresis, every overflow backs off).
type Model struct {
	Options lossscale.Options
	Scale   float32
	Tracker int
	Left    int // overflows until a backoff, counting the one that backs off
}

// NewModel returns the model of a fresh scaler configured with o.
func NewModel(o lossscale.Options) Model {
	return Model{Options: o, Scale: o.Init, Left: o.Hysteresis}
}

// Update advances the model by one iteration and reports whether an overflow was absorbed by
// hysteresis (the step is skipped but the scale kept).
func (m *Model) Update(overflow bool) (absorbed bool) {
	o := m.Options
	if overflow {
		m.Tracker = 0
		m.Left--
		if m.Left > 0 {
			return true
		}
		m.Left = 1
		s := roundFP32(float64(m.Scale) * o.Backoff)
		if !(s >= o.Floor) {
			s = o.Floor
		}
		m.Scale = s
		return false
	}
	m.Tracker++
	if m.Tracker == o.Interval {
		m.Tracker = 0
		m.Left = o.Hysteresis
		if s := roundFP32(float64(m.Scale) * o.Growth); !math.IsInf(float64(s), 0) {
			m.Scale = min(s, o.Cap)
		}
	}
	return false
}

// roundFP32 rounds x·y, formed in float64, to fp32. The products the model forms (an fp32 scale
// times a factor) are exact in float64 when the factor has at most 29 significant bits, which
// every factor used by the generators has; for others this rounds twice, as PyTorch's kernel
// does (it multiplies in double and stores a float).
func roundFP32(x float64) float32 { return float32(x) }
