// This file implements the Format type and the constants of each format (NUMERICS §1).

package fp

import (
	"fmt"
	"math"
	"strings"
)

// A Format is one binary floating-point format. Formats are comparable values; the zero Format is
// invalid.
type Format struct {
	id uint8
}

const (
	idInvalid uint8 = iota
	idFP16
	idBF16
	idFP32
	idFP64
	idE4M3
	idE5M2
)

// The formats.
var (
	FP16 = Format{idFP16} // IEEE 754 binary16: p = 11, e_min = −14, e_max = 15, max 65504.
	BF16 = Format{idBF16} // bfloat16: p = 8, e_min = −126, e_max = 127, with subnormals.
	FP32 = Format{idFP32} // IEEE 754 binary32: p = 24, e_min = −126, e_max = 127.
	FP64 = Format{idFP64} // IEEE 754 binary64: p = 53, e_min = −1022, e_max = 1023.
	E4M3 = Format{idE4M3} // OCP FP8 E4M3: p = 4, e_min = −6, max 448, no Inf, NaN only at S.1111.111.
	E5M2 = Format{idE5M2} // OCP FP8 E5M2: p = 3, e_min = −14, e_max = 15, max 57344, IEEE-like.
)

// ExpThresholds are the arguments at which exp changes behaviour in a format under round to
// nearest even (NUMERICS §1). The values are float64 approximations of the real thresholds, except
// LargestFinite, which is a member of the format.
type ExpThresholds struct {
	Overflow       float64 // exp(x) rounds to +Inf for every real x above this.
	LargestFinite  float64 // the largest member x of the format with finite exp(x) in the format.
	SubnormalBelow float64 // exp(x) is subnormal for every real x below this (log of min normal).
	ZeroAtOrBelow  float64 // exp(x) rounds to 0 at or below this (log of half the min subnormal).
}

type spec struct {
	name     string
	aliases  []string
	width    uint    // bits in the encoding
	p        int     // precision, counting the hidden bit
	emin     int     // exponent of the smallest normal
	emax     int     // exponent of the largest finite value
	bias     int     // exponent bias of the encoding
	hasInf   bool    // the all-ones exponent with zero significand is ±Inf
	nanBits  uint64  // the canonical quiet NaN, positive
	maxBits  uint64  // the largest finite value
	maxFin   float64 // the largest finite value, decoded once (init)
	minNorm  float64 // the smallest normal, 2^emin (init)
	thresh   ExpThresholds
	atolRTol [2]float64 // torch.testing.assert_close defaults (rtol, atol)
}

var specs = [...]spec{
	idFP16: {name: "fp16", aliases: []string{"float16", "half", "binary16", "f16"}, width: 16, p: 11,
		emin: -14, emax: 15, bias: 15, hasInf: true, nanBits: 0x7e00, maxBits: 0x7bff,
		thresh:   ExpThresholds{11.0901107, 11.0859375, -9.7040605, -17.3286795},
		atolRTol: [2]float64{1e-3, 1e-5}},
	idBF16: {name: "bf16", aliases: []string{"bfloat16", "bf"}, width: 16, p: 8,
		emin: -126, emax: 127, bias: 127, hasInf: true, nanBits: 0x7fc0, maxBits: 0x7f7f,
		thresh:   ExpThresholds{88.7208841, 88.5, -87.3365448, -92.8817222},
		atolRTol: [2]float64{1.6e-2, 1e-5}},
	idFP32: {name: "fp32", aliases: []string{"float32", "single", "binary32", "f32"}, width: 32, p: 24,
		emin: -126, emax: 127, bias: 127, hasInf: true, nanBits: 0x7fc00000, maxBits: 0x7f7fffff,
		thresh:   ExpThresholds{88.7228391, 88.72283172607421875, -87.3365448, -103.9720771},
		atolRTol: [2]float64{1.3e-6, 1e-5}},
	idFP64: {name: "fp64", aliases: []string{"float64", "double", "binary64", "f64"}, width: 64, p: 53,
		emin: -1022, emax: 1023, bias: 1023, hasInf: true, nanBits: 0x7ff8000000000000,
		maxBits:  0x7fefffffffffffff,
		thresh:   ExpThresholds{709.78271289338399678, 709.782712893383973, -708.3964185, -745.1332191},
		atolRTol: [2]float64{1e-7, 1e-7}},
	idE4M3: {name: "e4m3", aliases: []string{"fp8e4m3", "float8_e4m3fn", "e4m3fn"}, width: 8, p: 4,
		emin: -6, emax: 8, bias: 7, hasInf: false, nanBits: 0x7f, maxBits: 0x7e,
		thresh:   ExpThresholds{6.1398845522, 6.0, -4.1588830834, -6.9314718056},
		atolRTol: [2]float64{1.25e-1, 1e-5}},
	idE5M2: {name: "e5m2", aliases: []string{"fp8e5m2", "float8_e5m2"}, width: 8, p: 3,
		emin: -14, emax: 15, bias: 15, hasInf: true, nanBits: 0x7e, maxBits: 0x7b,
		thresh:   ExpThresholds{11.0258163678, 10.0, -9.7040605278, -11.7835020695},
		atolRTol: [2]float64{2.5e-1, 1e-5}},
}

// Formats returns every format, narrowest first within each family: FP16, BF16, FP32, FP64, E4M3,
// E5M2.
func Formats() []Format { return []Format{FP16, BF16, FP32, FP64, E4M3, E5M2} }

// ParseFormat returns the format with the given name ("fp16", "bf16", "fp32", "fp64", "e4m3",
// "e5m2", or a common alias such as "float16", "bfloat16", "half"), case-insensitively.
func ParseFormat(name string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for id := idFP16; id <= idE5M2; id++ {
		s := &specs[id]
		if n == s.name {
			return Format{id}, nil
		}
		for _, a := range s.aliases {
			if n == a {
				return Format{id}, nil
			}
		}
	}
	return Format{}, fmt.Errorf("fp: unknown format %q (want fp16, bf16, fp32, fp64, e4m3 or e5m2)", name)
}

func (f Format) s() *spec {
	if f.id == idInvalid || int(f.id) >= len(specs) {
		panic("fp: use of the zero Format")
	}
	return &specs[f.id]
}

// Valid reports whether f is one of the formats (the zero Format is not).
func (f Format) Valid() bool { return f.id != idInvalid && int(f.id) < len(specs) }

// String returns the format's short name, such as "fp16".
func (f Format) String() string {
	if !f.Valid() {
		return "invalid"
	}
	return f.s().name
}

// GoString returns the Go expression for f, such as "fp.FP16", for %#v and rapid's logs.
func (f Format) GoString() string {
	if !f.Valid() {
		return "fp.Format{}"
	}
	return "fp." + strings.ToUpper(f.s().name)
}

// Width returns the number of bits in the format's encoding.
func (f Format) Width() uint { return f.s().width }

// Precision returns p, the number of significand bits counting the hidden bit.
func (f Format) Precision() int { return f.s().p }

// EMin returns the exponent of the smallest normal value, 2^EMin.
func (f Format) EMin() int { return f.s().emin }

// EMax returns the exponent of the largest finite value.
func (f Format) EMax() int { return f.s().emax }

// HasInf reports whether the format has infinities (all but E4M3).
func (f Format) HasInf() bool { return f.s().hasInf }

// MaxFinite returns the largest finite value.
func (f Format) MaxFinite() float64 { return f.s().maxFin }

// init decodes each format's largest finite value and computes its smallest normal once: both sit
// on the rounding and judging paths.
func init() {
	for id := idFP16; id <= idE5M2; id++ {
		specs[id].maxFin = Format{id}.Decode(specs[id].maxBits)
		specs[id].minNorm = math.Ldexp(1, specs[id].emin)
	}
}

// MinNormal returns the smallest positive normal value, 2^EMin.
func (f Format) MinNormal() float64 { return f.s().minNorm }

// MinSubnormal returns the smallest positive subnormal value, 2^(EMin−p+1).
func (f Format) MinSubnormal() float64 { return math.Ldexp(1, f.s().emin-f.s().p+1) }

// UnitRoundoff returns u = 2^−p, the relative error bound of rounding to nearest.
func (f Format) UnitRoundoff() float64 { return math.Ldexp(1, -f.s().p) }

// Epsilon returns the gap between 1 and the next value, 2^(1−p).
func (f Format) Epsilon() float64 { return math.Ldexp(1, 1-f.s().p) }

// Exp returns the exp thresholds of the format (NUMERICS §1).
func (f Format) Exp() ExpThresholds { return f.s().thresh }

// AssertCloseTolerance returns the rtol and atol that torch.testing.assert_close uses by default
// for the format (fp64: rtol 1e-7, atol 1e-7; fp8: ulpcheck's choice of two ulps of 1).
func (f Format) AssertCloseTolerance() (rtol, atol float64) {
	t := f.s().atolRTol
	return t[0], t[1]
}
