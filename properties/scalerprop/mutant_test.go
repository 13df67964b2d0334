package scalerprop

import (
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/x448/float16"
	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
)

// mutant is a test-only scaler with one deliberate bug, written independently of
// lossscale.Dynamic so that the properties are shown to catch real kinds of broken scalers.
type mutant struct {
	bug      string
	o        lossscale.Options
	scale    float32
	tracker  int
	hyst     int
	found    bool
	unscaled bool // an Unscale call came since the last Update
}

// The mutants: each bug, the property that must catch it, and why.
var mutants = []struct {
	bug, property, reason string
}{
	{"no-finite-guard", ScaleValid, "growth without the finite check: the scale reaches +Inf"},
	{"no-skip", SkipOnOverflow, "the optimizer step runs on overflowed gradients"},
	{"nan-not-overflow", OverflowDetected, "only ±Inf counts as overflow; NaN reaches the optimizer"},
	{"no-floor", ScaleValid, "backoff without a floor: 166 backoffs from 2^16 reach 0"},
	{"tracker-not-reset", GrowthCadence, "an overflow does not reset the growth tracker: growth comes early"},
	{"growth-early", GrowthCadence, "growth after Interval−1 clean steps"},
	{"hysteresis-no-skip", HysteresisSkips, "an overflow absorbed by hysteresis does not skip the step (the DeepSpeed-style bug)"},
	{"unscale-fp16-div", UnscaleExact, "unscale as g/scale computed in fp16: rescued gradients flush again"},
	{"unscale-fp16-div", UnderflowRescue, "unscale in fp16 loses exactly what scaling rescued"},
	{"skip-not-reported", SkipReported, "Step never reports a skip (schedulers advance on skipped steps)"},
	{"state-drops-tracker", StateRoundTrip, "the saved state omits the growth tracker"},
	{"reset-at-floor", Monotone, "an overflow at the floor resets the scale to its initial value instead of staying (it grows on an overflow)"},
	{"found-last-call", SkipOnOverflow, "each Unscale call overwrites the overflow flag: an overflow seen by an earlier call of the iteration is forgotten"},
	{"no-unscale-skips", GrowthCadence, "Step skips an iteration in which nothing was unscaled (PyTorch's 'no inf checks were recorded' turned into a skip)"},
	{"tracker-on-step", GrowthCadence, "the growth tracker counts optimizer steps, not iterations: iterations that end with Update alone do not count"},
	{"state-drops-found", StateRoundTrip, "the saved state omits the pending overflow flag: a scaler restored mid-iteration steps on overflowed gradients"},
}

func newMutant(bug string) func(lossscale.Options) (lossscale.Scaler, error) {
	return func(o lossscale.Options) (lossscale.Scaler, error) {
		if err := o.Validate(); err != nil {
			return nil, err
		}
		return &mutant{bug: bug, o: o, scale: o.Init, hyst: o.Hysteresis}, nil
	}
}

func (m *mutant) Scale() float32 { return m.scale }

func (m *mutant) Unscale(dst []float32, g lossscale.Grads) bool {
	inv := float64(float32(1 / float64(m.scale)))
	found := false
	for i, x := range g.Values {
		if math.IsInf(x, 0) || (math.IsNaN(x) && m.bug != "nan-not-overflow") {
			found = true
		}
		if m.bug == "unscale-fp16-div" {
			q := float16.Fromfloat32(float32(x)).Float32() / float16.Fromfloat32(m.scale).Float32()
			dst[i] = float16.Fromfloat32(q).Float32()
			continue
		}
		dst[i] = float32(x * inv)
	}
	if m.bug == "found-last-call" {
		m.found = found
	} else {
		m.found = m.found || found
	}
	m.unscaled = true
	return found
}

func (m *mutant) Step(apply func()) bool {
	skip := m.found
	if m.bug == "hysteresis-no-skip" && m.found && m.hyst > 1 {
		skip = false
	}
	if m.bug == "no-skip" {
		skip = false
	}
	if m.bug == "no-unscale-skips" && !m.unscaled {
		skip = true
	}
	if !skip {
		apply()
		if m.bug == "tracker-on-step" {
			m.tracker++
		}
	}
	if m.bug == "skip-not-reported" {
		return false
	}
	return skip
}

func (m *mutant) Update() {
	o := m.o
	m.unscaled = false
	if m.found {
		m.found = false
		if m.bug != "tracker-not-reset" {
			m.tracker = 0
		}
		if m.hyst--; m.hyst > 0 {
			return
		}
		m.hyst = 1
		s := float32(float64(m.scale) * o.Backoff)
		if m.bug == "reset-at-floor" && m.scale == o.Floor {
			s = o.Init
		} else if m.bug != "no-floor" {
			s = max(s, o.Floor)
		}
		m.scale = s
		return
	}
	if m.bug != "tracker-on-step" {
		m.tracker++
	}
	limit := o.Interval
	if m.bug == "growth-early" && limit > 1 {
		limit--
	}
	if m.tracker < limit {
		return
	}
	m.tracker = 0
	m.hyst = o.Hysteresis
	s := float32(float64(m.scale) * o.Growth)
	if math.IsInf(float64(s), 0) && m.bug != "no-finite-guard" {
		return
	}
	m.scale = min(s, o.Cap)
}

func (m *mutant) State() ([]byte, error) {
	tr := m.tracker
	if m.bug == "state-drops-tracker" {
		tr = 0
	}
	st := lossscale.State{Options: m.o, Scale: m.scale, Tracker: min(tr, m.o.Interval-1), HysteresisLeft: m.hyst, Found: m.found && m.bug != "state-drops-found"}
	if m.bug == "no-floor" || m.bug == "no-finite-guard" || m.bug == "reset-at-floor" {
		return []byte(fmt.Sprint(st)), nil // the codec validates the scale; these bugs break it
	}
	return st.MarshalBinary()
}

func (m *mutant) Restore(b []byte) error {
	var st lossscale.State
	if err := st.UnmarshalBinary(b); err != nil {
		return err
	}
	m.o, m.scale, m.tracker, m.hyst, m.found = st.Options, st.Scale, st.Tracker, st.HysteresisLeft, st.Found
	return nil
}

// recorder is a rapid.TB that records a failure instead of failing the test.
type recorder struct {
	name   string
	failed bool
	log    strings.Builder
}

type stopNow struct{}

func (r *recorder) Helper()                  {}
func (r *recorder) Name() string             { return r.name }
func (r *recorder) Logf(f string, a ...any)  { fmt.Fprintf(&r.log, f+"\n", a...) }
func (r *recorder) Log(a ...any)             { fmt.Fprintln(&r.log, a...) }
func (r *recorder) Skipf(f string, a ...any) { r.Logf(f, a...); panic(stopNow{}) }
func (r *recorder) Skip(a ...any)            { r.Log(a...); panic(stopNow{}) }
func (r *recorder) SkipNow()                 { panic(stopNow{}) }
func (r *recorder) Errorf(f string, a ...any) {
	r.failed = true
	r.Logf(f, a...)
}
func (r *recorder) Error(a ...any)            { r.failed = true; r.Log(a...) }
func (r *recorder) Fatalf(f string, a ...any) { r.Errorf(f, a...); panic(stopNow{}) }
func (r *recorder) Fatal(a ...any)            { r.Error(a...); panic(stopNow{}) }
func (r *recorder) FailNow()                  { r.failed = true; panic(stopNow{}) }
func (r *recorder) Fail()                     { r.failed = true }
func (r *recorder) Failed() bool              { return r.failed }

// quietRapid turns off fail files and bounds shrinking while mutants fail on purpose.
func quietRapid(t *testing.T) {
	checks := "100" // rapid's default, also under -short (where rapid runs a fifth of -rapid.checks)
	if testing.Short() {
		checks = "500"
	}
	for name, v := range map[string]string{"rapid.nofailfile": "true", "rapid.shrinktime": "2s", "rapid.checks": checks} {
		old := flag.Lookup(name).Value.String()
		if err := flag.Set(name, v); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { flag.Set(name, old) })
	}
}

// catches runs one property against a target with the default number of checks and reports
// whether it failed, with rapid's output.
func catches(tg Target, property string) (bool, string) {
	r := &recorder{name: "mutant/" + tg.Name + "/" + property}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(stopNow); !ok {
					panic(p)
				}
			}
		}()
		rapid.Check(r, Prop(tg, property))
	}()
	return r.failed, r.log.String()
}

// TestMutants checks that each mutant is caught by its named property within rapid's default 100
// checks (also under -short), and that the failure names that property.
func TestMutants(t *testing.T) {
	quietRapid(t)
	for _, mu := range mutants {
		t.Run(mu.bug+"/"+mu.property, func(t *testing.T) {
			tg := Target{Name: "mutant/" + mu.bug, New: newMutant(mu.bug)}
			failed, out := catches(tg, mu.property)
			if !failed {
				t.Fatalf("%s (%s) was not caught by %s", mu.bug, mu.reason, mu.property)
			}
			if !strings.Contains(out, "fails "+mu.property+" ") {
				t.Fatalf("%s: the failure does not name %s:\n%s", mu.bug, mu.property, out)
			}
			i := strings.Index(out, "scalerprop: ")
			t.Logf("caught: %s", firstLine(out[max(i, 0):]))
		})
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

var matrix = flag.Bool("scalerprop.matrix", false, "run every property against every mutant and log which catch it")

// TestMutantMatrix measures which properties catch which mutant (slow: -scalerprop.matrix).
func TestMutantMatrix(t *testing.T) {
	if !*matrix {
		t.Skip("run with -scalerprop.matrix")
	}
	quietRapid(t)
	seen := map[string]bool{}
	for _, mu := range mutants {
		if seen[mu.bug] {
			continue
		}
		seen[mu.bug] = true
		tg := Target{Name: "mutant/" + mu.bug, New: newMutant(mu.bug)}
		var caught []string
		for _, p := range properties {
			if failed, _ := catches(tg, p.Name); failed {
				caught = append(caught, p.Name)
			}
		}
		t.Logf("%-20s caught by %v", mu.bug, caught)
	}
}

// fpUnused keeps the fp import for helpers shared with other test files.
var _ = fp.FP16
