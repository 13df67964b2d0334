package main

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line   string
		want   []float64 // float64 values (NaN matches NaN, ±0 distinguished)
		exact  []bool    // literal exactly a float64
		err    string    // substring of the error; "" = no error
		reason string
	}{
		{"", nil, nil, "", "blank line: no numbers"},
		{"  \t ", nil, nil, "", "white space only"},
		{"1 2.5 -3", []float64{1, 2.5, -3}, []bool{true, true, true}, "", "decimal integers and fractions"},
		{"0x1.8p+3\t-0x1p-1074", []float64{12, -math.SmallestNonzeroFloat64}, []bool{true, true}, "", "Go hex floats, smallest subnormal"},
		{"inf -inf +Inf nan NaN Infinity", []float64{math.Inf(1), math.Inf(-1), math.Inf(1), math.NaN(), math.NaN(), math.Inf(1)}, []bool{true, true, true, true, true, true}, "", "specials in any case"},
		{"-0 0 -0x0p+0", []float64{math.Copysign(0, -1), 0, math.Copysign(0, -1)}, []bool{true, true, true}, "", "signed zeros survive"},
		{"0.1", []float64{0.1}, []bool{false}, "", "0.1 is not a float64: nearest kept, flagged inexact"},
		{"1e-400", []float64{0}, []bool{false}, "", "underflows float64: not the exact value 0"},
		{"1e400", []float64{math.Inf(1)}, []bool{false}, "", "overflows float64: not an infinity literal"},
		{"0e99999", []float64{0}, []bool{true}, "", "zero mantissa with a huge exponent is exactly 0"},
		{"1_000", []float64{1000}, []bool{true}, "", "strconv's underscores"},
		{"1 abc 3", nil, nil, `field 2 "abc": not a number`, "unparsable field named"},
		{"1/2", nil, nil, "not a number", "fractions are not numbers here"},
		{"0x1.8", nil, nil, "not a number", "hex float without exponent (strconv refuses it)"},
		{"1e", nil, nil, "not a number", "truncated exponent"},
		{"1,2", nil, nil, "not a number", "commas do not separate"},
		{strings.Repeat("1", maxFieldLen+1), nil, nil, "longer than", "over-long field refused before exact parsing"},
	}
	for _, tc := range tests {
		got, err := parseLine(tc.line)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseLine(%.40q) error = %v, want one containing %q (%s)", tc.line, err, tc.err, tc.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseLine(%.40q): %v (%s)", tc.line, err, tc.reason)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("parseLine(%q) gave %d numbers, want %d (%s)", tc.line, len(got), len(tc.want), tc.reason)
			continue
		}
		for i, n := range got {
			w := tc.want[i]
			same := math.Float64bits(n.val) == math.Float64bits(w) || (math.IsNaN(n.val) && math.IsNaN(w))
			if !same {
				t.Errorf("parseLine(%q)[%d] = %v (%#016x), want %v (%#016x) (%s)", tc.line, i,
					n.val, math.Float64bits(n.val), w, math.Float64bits(w), tc.reason)
			}
			if n.isFloat64() != tc.exact[i] {
				t.Errorf("parseLine(%q)[%d].isFloat64() = %v, want %v (%s)", tc.line, i, n.isFloat64(), tc.exact[i], tc.reason)
			}
		}
	}
}

func TestInFormat(t *testing.T) {
	tests := []struct {
		text   string
		f      fp.Format
		round  bool
		want   float64
		err    bool
		reason string
	}{
		{"65504", fp.FP16, false, 65504, false, "fp16 max is a member"},
		{"65505", fp.FP16, false, 0, true, "not an fp16 value"},
		{"65519.99", fp.FP16, true, 65504, false, "below the overflow threshold 65520"},
		{"65520", fp.FP16, true, math.Inf(1), false, "fp16 overflow threshold rounds to Inf"},
		{"0.1", fp.FP16, false, 0, true, "0.1 is not exactly anything binary"},
		{"0.1", fp.FP16, true, 0x1.998p-04, false, "fp16(0.1), RNE"},
		{"0.1", fp.FP64, true, 0.1, false, "float64(0.1)"},
		// 1 + 2^-11 + 2^-60 is just above the fp16 midpoint between 1 and 1+2^-10;
		// through float64 it would first become the midpoint 1+2^-11 and tie to 1.
		{"1.000488281250000000867361737988403547205962240695953369140625", fp.FP16, true, 0x1.004p+00, false, "no double rounding through float64"},
		{"0x1p-25", fp.FP16, true, 0, false, "2^-25 ties to +0 in fp16"},
		{"-3e-8", fp.FP16, true, -0x1p-24, false, "above half the smallest subnormal"},
		{"-1e-400", fp.FP16, true, math.Copysign(0, -1), false, "beyond float64's range, underflows with its sign"},
		{"1e400", fp.BF16, true, math.Inf(1), false, "beyond float64's range, overflows"},
		{"-inf", fp.E4M3, false, 0, true, "E4M3 has no infinity"},
		{"-inf", fp.E4M3, true, math.NaN(), false, "E4M3 rounds ±Inf to NaN"},
		{"464", fp.E4M3, true, 448, false, "E4M3 tie at 464 goes to 448"},
		{"465", fp.E4M3, true, math.NaN(), false, "E4M3 overflow is NaN"},
		{"nan", fp.E5M2, false, math.NaN(), false, "NaN is in every format"},
		{"1e-40", fp.FP32, true, 71362 * 0x1p-149, false, "fp32 subnormal, not zero (NUMERICS §1)"},
	}
	for _, tc := range tests {
		n, err := parseNumber(tc.text)
		if err != nil {
			t.Fatalf("parseNumber(%q): %v", tc.text, err)
		}
		got, err := n.inFormat(tc.f, tc.round)
		if tc.err {
			if err == nil {
				t.Errorf("inFormat(%q, %v, round=%v) = %v, want an error (%s)", tc.text, tc.f, tc.round, got, tc.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("inFormat(%q, %v, round=%v): %v (%s)", tc.text, tc.f, tc.round, err, tc.reason)
			continue
		}
		same := math.Float64bits(got) == math.Float64bits(tc.want) || (math.IsNaN(got) && math.IsNaN(tc.want))
		if !same {
			t.Errorf("inFormat(%q, %v, round=%v) = %v (%#016x), want %v (%#016x) (%s)", tc.text, tc.f, tc.round,
				got, math.Float64bits(got), tc.want, math.Float64bits(tc.want), tc.reason)
		}
	}
}

// FuzzParseLine checks that parseLine never panics, that it accepts exactly
// what strconv.ParseFloat accepts field by field, and that every finite
// number's exact value rounds to the float64 strconv gives.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"", "1 2 3", "0x1.8p+3 -inf nan", "1e-400 1e400", "0.1 -0 +Inf", "1_0 0x_1p0", "abc", "\t1\n2", "0e99999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		nums, err := parseLine(line)
		fields := strings.Fields(line)
		if err != nil {
			for _, s := range fields {
				if _, perr := strconv.ParseFloat(s, 64); perr != nil && !strings.Contains(perr.Error(), "out of range") {
					return // a field strconv refuses too
				}
				if len(s) > maxFieldLen {
					return
				}
			}
			// strconv accepted every field: only big.Rat may disagree.
			for _, s := range fields {
				if _, ok := new(big.Rat).SetString(s); !ok {
					return
				}
			}
			t.Fatalf("parseLine(%q) refused a line strconv and big.Rat accept: %v", line, err)
		}
		if len(nums) != len(fields) {
			t.Fatalf("parseLine(%q) gave %d numbers for %d fields", line, len(nums), len(fields))
		}
		for i, n := range nums {
			v, _ := strconv.ParseFloat(fields[i], 64)
			if math.Float64bits(v) != math.Float64bits(n.val) && !(math.IsNaN(v) && math.IsNaN(n.val)) {
				t.Fatalf("field %q: val %v, strconv %v", fields[i], n.val, v)
			}
			if n.rat != nil && !math.IsInf(v, 0) {
				r, _ := n.rat.Float64() // correctly rounded, subnormals included
				if r != v && !(r == 0 && v == 0) {
					t.Fatalf("field %q: exact value rounds to %v, strconv gave %v", fields[i], r, v)
				}
			}
		}
	})
}
