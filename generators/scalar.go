// This file implements Scalar, one value by scalar class.

package generators

import (
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// A Value is one drawn value of a format with the class that produced it.
type Value struct {
	Format fp.Format
	X      float64 // a member of Format
	Class  Class
}

// String returns the class and the value as a hex float, a decimal and its encoding.
func (v Value) String() string {
	return fmt.Sprintf("%s %s %s", v.Format, v.Class, fmtValue(v.Format, v.X))
}

// GoString returns String, so that rapid's log of a draw is replayable.
func (v Value) GoString() string { return v.String() }

// Scalar returns a generator of single values of f, by the scalar classes (ScalarZero …
// ScalarNaN) with their weights (DefaultWeights, WithWeights, Only).
//
// Special cases are:
//
//	ScalarInf has weight 0 in E4M3 (no infinities); E4M3's only NaNs are ±S.1111.111
//	ScalarUniformBits draws all Width bits, so it produces NaN and ±Inf at the format's own rate
func Scalar(f fp.Format, opts ...Option) *Gen[Value] {
	cfg := newConfig(opts)
	p := newPicker("scalar", scalarOrder, cfg.weights, formatAllows(f))
	return newGen(fmt.Sprintf("Scalar(%s)", f), func(t *rapid.T) Value {
		c := p.draw(t)
		return Value{Format: f, X: drawScalar(t, f, c), Class: c}
	})
}

// formatAllows returns the filter of the classes f can produce.
func formatAllows(f fp.Format) func(Class) bool {
	return func(c Class) bool { return f.HasInf() || !needsInf(c) }
}

// drawScalar draws a value of f of class c.
func drawScalar(t *rapid.T, f fp.Format, c Class) float64 {
	switch c {
	case ScalarZero:
		return withSign(t, 0)
	case ScalarSmallInt:
		return smallInt(t, f, 16)
	case ScalarLogit:
		return logit(t, f, 20)
	case ScalarMinNormal:
		return withSign(t, step(f, f.MinNormal(), intIn(t, -3, 3)))
	case ScalarSubnormal:
		return withSign(t, subnormal(t, f))
	case ScalarMaxFinite:
		return withSign(t, step(f, f.MaxFinite(), -intIn(t, 0, 3)))
	case ScalarExpThreshold:
		return expThreshold(t, f)
	case ScalarUniformBits:
		return uniformBits(t, f)
	case ScalarInf:
		return withSign(t, math.Inf(1))
	case ScalarNaN:
		return nan(t, f)
	}
	panic("generators: unknown scalar class " + string(c))
}
