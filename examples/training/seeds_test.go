package training

import "testing"

func TestSeeds(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		for i, cfg := range []Config{{Stable: false, Scaling: true}, {Stable: true, Scaling: false}, {Stable: true, Scaling: true}} {
			cfg.Seed = seed
			r, _ := Run(cfg)
			if err := Check(i, r); err != nil {
				t.Errorf("seed %d run %d: %v", seed, i, err)
			} else if i == 0 {
				t.Logf("seed %d: NaN at %d", seed, r.FirstNaN)
			}
		}
	}
}
