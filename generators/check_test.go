package generators

import (
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// TestDrawUnderCheck draws every generator of every format under rapid.Check, which (unlike
// Example) enforces rapid's bitstream contract: every rapid.Custom group must draw at least
// once, or rapid panics with "group did not use any data from bitstream". Regression: the
// CEZeroWeights class once filled an all-zero weight row with an element function that drew
// nothing, so every CrossEntropy Check panicked within a few dozen draws. Each CE class is
// also checked alone (Only), so that a rare class cannot hide behind the class weights.
func TestDrawUnderCheck(t *testing.T) {
	for _, f := range fp.Formats() {
		draw := func(g *rapid.Generator[Case]) func(*rapid.T) {
			return func(rt *rapid.T) { g.Draw(rt, "c") }
		}
		sg, st, ss := Scalar(f), GradStepGen(f), GradStream(f, WithStreamLen(1, 4))
		gens := map[string]func(*rapid.T){
			"scalar":   func(rt *rapid.T) { sg.Draw(rt, "v") },
			"row":      draw(Row(f, MaxLen(64)).Generator),
			"batch":    draw(Batch(f, MaxLen(64)).Generator),
			"backward": draw(Backward(f, MaxLen(64)).Generator),
			"ce":       draw(CrossEntropy(f, MaxLen(64)).Generator),
			"ce-long":  draw(CrossEntropy(f, Lengths(65, 129)).Generator),
			"step":     func(rt *rapid.T) { st.Draw(rt, "s") },
			"stream":   func(rt *rapid.T) { ss.Draw(rt, "s") },
		}
		for _, c := range ceOrder {
			if formatAllows(f)(c) {
				gens[string(c)] = draw(CrossEntropy(f, Only(c), MaxLen(64)).Generator)
			}
		}
		for name, prop := range gens {
			t.Run(f.String()+"/"+name, func(t *testing.T) {
				t.Parallel()
				rapid.Check(t, prop)
			})
		}
	}
}
