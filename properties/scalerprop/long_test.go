package scalerprop

import (
	"flag"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestBundledLong runs the state machine with every property against the bundled scaler: 10,000
// runs of up to DefaultMaxSteps iterations (200 under -short).
func TestBundledLong(t *testing.T) {
	want := 10000
	if testing.Short() {
		want = 200
	}
	checks := want
	if testing.Short() {
		checks *= 5 // rapid runs a fifth of -rapid.checks under -short
	}
	old := flag.Lookup("rapid.checks").Value.String()
	if err := flag.Set("rapid.checks", strconv.Itoa(checks)); err != nil {
		t.Fatal(err)
	}
	defer flag.Set("rapid.checks", old)
	r0, i0 := Counts()
	start := time.Now()
	rapid.Check(t, Machine(Bundled()))
	r1, i1 := Counts()
	runs, iters := r1-r0, i1-i0
	if runs < int64(want) {
		t.Fatalf("%d runs, want %d", runs, want)
	}
	dt := time.Since(start)
	t.Logf("%d runs, %d iterations (%.0f per run), %v (%.0f ns per iteration)",
		runs, iters, float64(iters)/float64(runs), dt, float64(dt.Nanoseconds())/float64(iters))
}
