package training

import (
	"os"
	"testing"
)

func TestOutcomes(t *testing.T) {
	names := []string{"naive softmax + scaler goes NaN", "no scaling stalls", "stable + scaler trains"}
	cfgs := []Config{{Stable: false, Scaling: true}, {Stable: true, Scaling: false}, {Stable: true, Scaling: true}}
	for i, cfg := range cfgs {
		t.Run(names[i], func(t *testing.T) {
			r, err := Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(i, r); err != nil {
				t.Fatalf("%v\nresult: first NaN %d, max logit %g (at NaN %g), skipped %d, nonzero grads %d/%d, accuracy %g, loss %g → %g, scale %g",
					err, r.FirstNaN, r.MaxLogit, r.MaxLogitAtNaN, r.Skipped, r.NonzeroGrads, r.ExactNonzero, r.Accuracy,
					r.Losses[0], r.Losses[len(r.Losses)-1], r.FinalScale)
			}
		})
	}
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("TestOutcomes covers seed 0")
	}
	if err := Demo(os.Stdout, 1); err != nil {
		t.Fatal(err)
	}
}
