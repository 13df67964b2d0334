// This file implements the go test entry points.

package scalerprop

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

var sprintf = fmt.Sprintf

// Prop returns the rapid property for one named property (Machine restricted to it, or Rescue).
func Prop(tg Target, name string) func(*rapid.T) {
	if _, ok := lookup(name); !ok {
		panic("scalerprop: unknown property " + name)
	}
	if name == UnderflowRescue {
		return Rescue(tg)
	}
	return Machine(tg, name)
}

// Check runs every property against tg, each as a subtest named after it, through rapid.Check
// (-rapid.checks runs each, a fifth of them under -short).
//
//	func TestMyScaler(t *testing.T) {
//	    scalerprop.Check(t, scalerprop.Target{Name: "mylib.Scaler", New: newMyScalerAdapter})
//	}
func Check(t *testing.T, tg Target) {
	t.Helper()
	for _, p := range properties {
		t.Run(p.Name, func(t *testing.T) {
			rapid.Check(t, Prop(tg, p.Name))
		})
	}
}
