package training

import "testing"

// TestSeeds checks the five outcomes for 10 data sets (skipped under -short: about 15 s).
func TestSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("10 seeds × 5 runs")
	}
	for seed := uint64(0); seed < 10; seed++ {
		for i, cfg := range Runs(seed) {
			r, err := Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(i, r); err != nil {
				t.Errorf("seed %d run %s: %v", seed, RunNames[i], err)
			}
		}
	}
}
