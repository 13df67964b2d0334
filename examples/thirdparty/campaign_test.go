package thirdparty

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/properties"
)

// TestCampaign evaluates every adapter on -campaign=N generated cases (rows and batches of the
// adapter's input format, all generator classes) and logs the failures by class, with the first
// failing verdict of each class. It asserts nothing: the findings it surfaces are confirmed by hand
// and pinned by the TestFinding_* tests. Run with
//
//	cd examples/thirdparty && go test -run TestCampaign -campaign 300 -v
func TestCampaign(t *testing.T) {
	if *campaignCases <= 0 {
		t.Skip("set -campaign N to run the campaign")
	}
	for _, k := range All() {
		t.Run(k.Name, func(t *testing.T) {
			gen := properties.CaseGen(k)
			var vs []properties.Verdict
			first := map[properties.Class]bool{}
			rapid.Check(t, func(rt *rapid.T) {
				c := gen.Draw(rt, "case")
				v := evaluate(k, c)
				vs = append(vs, v)
				for _, cl := range v.Classes() {
					if !first[cl] && len(c.X) <= 16 {
						first[cl] = true
						t.Logf("first %s:\n%s", cl, v.Report())
					}
				}
			})
			t.Logf("%s: %s", k.Name, tally(vs))
		})
	}
}
