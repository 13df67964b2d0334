package loss

import (
	"math"
	"strings"
	"testing"
)

func TestParseReductionRoundTrip(t *testing.T) {
	for _, r := range Reductions {
		got, err := ParseReduction(strings.ToUpper(r.String()))
		if err != nil || got != r {
			t.Errorf("ParseReduction(%q) = %v, %v", r, got, err)
		}
	}
	if _, err := ParseReduction("avg"); err == nil || !strings.Contains(err.Error(), `"avg"`) {
		t.Errorf("ParseReduction(avg): %v, want an error naming it", err)
	}
	if s := Reduction(7).String(); s != "Reduction(7)" || Reduction(7).Valid() {
		t.Errorf("Reduction(7): %q, valid %v", s, Reduction(7).Valid())
	}
}

func TestCEOptionsCheck(t *testing.T) {
	ok := DefaultCEOptions()
	if ok.IgnoreIndex != -100 || ok.Reduction != ReduceMean || ok.Check(3) != nil {
		t.Fatalf("defaults %+v: %v", ok, ok.Check(3))
	}
	for _, c := range []struct {
		o    CEOptions
		want string
	}{
		{CEOptions{Weights: []float64{1, 2}}, "2 weights for 3 classes"},
		{CEOptions{Weights: []float64{1, math.NaN(), 1}}, "weight 1 is NaN"},
		{CEOptions{Weights: []float64{1, 1, math.Inf(-1)}}, "weight 2 is -Inf"},
		{CEOptions{LabelSmoothing: 1.5}, "label smoothing 1.5"},
		{CEOptions{LabelSmoothing: math.NaN()}, "label smoothing NaN"},
		{CEOptions{Reduction: 3}, "invalid Reduction(3)"},
	} {
		if err := c.o.Check(3); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
	if err := (CEOptions{Weights: []float64{math.MaxFloat64, -math.MaxFloat64, 0}}).Check(3); err != nil {
		t.Errorf("±max weights: %v", err)
	}
}
