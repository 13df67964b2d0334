package scalerprop

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
)

func TestBundled(t *testing.T) {
	Check(t, Bundled())
}

// FuzzMachine drives the state machine with the fuzzer's bytes (go test -fuzz=FuzzMachine).
func FuzzMachine(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(Machine(Bundled())))
}

// FuzzRescue drives the underflow-rescue property with the fuzzer's bytes.
func FuzzRescue(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(Rescue(Bundled())))
}

// TestModelMatchesTable pins the model to hand-derived sequences, so that the model itself is
// checked independently of the scaler it judges.
func TestModelMatchesTable(t *testing.T) {
	o := lossscale.DefaultOptions()
	o.Init, o.Interval, o.Hysteresis = 16, 2, 2
	m := NewModel(o)
	// o: absorbed (16); o: back off (8); c, c: grow (16), replenish; o: absorbed (16); o: 8.
	seq := "ooccoo"
	want := []float32{16, 8, 8, 16, 16, 8}
	absorbedWant := []bool{true, false, false, false, true, false}
	for i, c := range seq {
		absorbed := m.Update(c == 'o')
		if m.Scale != want[i] || absorbed != absorbedWant[i] {
			t.Fatalf("after %q: scale %v absorbed %v, want %v %v", seq[:i+1], m.Scale, absorbed, want[i], absorbedWant[i])
		}
	}
}
