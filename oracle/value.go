package oracle

import (
	"errors"
	"math/big"

	"github.com/ulpcheck/ulpcheck/fp"
)

// errNotImplemented is returned by the API while it is being written.
var errNotImplemented = errors.New("oracle: not implemented")

// ErrPrecisionCap is wrapped by the error returned when the Ziv loop reaches its precision cap.
var ErrPrecisionCap = errors.New("oracle: precision cap reached")

// Value is one output element.
type Value struct {
	Format  fp.Format
	Rounded float64
	Flag    fp.Flag
	approx  *big.Float
}

// Exact returns the approximation.
func (v Value) Exact() *big.Float { return v.approx }

// IsNaN reports whether the exact value is NaN.
func (v Value) IsNaN() bool { return v.approx == nil }

// UlpError returns the ulp error of got.
func (v Value) UlpError(got float64) float64 { return v.Format.UlpError(got, v.approx) }

// UlpDistance returns the ulp distance.
func (v Value) UlpDistance(got float64) int64 { return v.Format.UlpDistance(got, v.Rounded) }

// Float64 returns the nearest float64.
func (v Value) Float64() float64 {
	if v.approx == nil {
		return v.Rounded
	}
	f, _ := v.approx.Float64()
	return f
}
