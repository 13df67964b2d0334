package training

import "testing"

// TestSeeds checks the three outcomes for 10 data sets (skipped under -short: about 10 s).
func TestSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("10 seeds × 3 runs")
	}
	for seed := uint64(0); seed < 10; seed++ {
		for i, cfg := range []Config{{Stable: false, Scaling: true}, {Stable: true, Scaling: false}, {Stable: true, Scaling: true}} {
			cfg.Seed = seed
			r, err := Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(i, r); err != nil {
				t.Errorf("seed %d run %d: %v", seed, i, err)
			}
		}
	}
}
