package main

// This file implements the grammar of the rows that "fuzz oracle" reads.

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/ulpcheck/ulpcheck/fp"
)

// maxFieldLen bounds one number's text. Longer literals are refused rather
// than parsed: a decimal literal's cost in exact arithmetic grows with its
// length, and no format needs more than 767 significant decimal digits.
const maxFieldLen = 1024

// A number is one parsed field of a row.
//
// Special cases are:
//
//	"nan", "inf", "-inf", "+inf", "infinity" (any case): special set, val NaN or ±Inf, rat nil
//	a finite literal beyond float64's range: val ±Inf (overflow) or ±0 (underflow), rat nil
//	any other finite literal: rat its exact value, val the nearest float64
type number struct {
	text    string
	val     float64  // strconv.ParseFloat's correctly rounded float64
	rat     *big.Rat // exact value; nil for specials and out-of-range literals
	special bool     // NaN or an infinity written as such
}

// isFloat64 reports whether the literal is exactly a float64 (specials included).
func (n number) isFloat64() bool {
	if n.special {
		return true
	}
	if n.rat == nil {
		return false
	}
	if n.val == 0 {
		return n.rat.Sign() == 0
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(n.val, 'x', -1, 64))
	return ok && r.Cmp(n.rat) == 0
}

// A fieldError names the offending field of a line.
type fieldError struct {
	field int    // 1-based
	text  string // the field, shortened for the message
	msg   string
}

func (e *fieldError) Error() string {
	return fmt.Sprintf("field %d %q: %s", e.field, e.text, e.msg)
}

func newFieldError(i int, text, msg string) *fieldError {
	if len(text) > 40 {
		text = text[:37] + "..."
	}
	return &fieldError{field: i + 1, text: text, msg: msg}
}

// parseLine splits line at white space and parses every field as a number:
// a decimal or Go hexadecimal floating-point literal (strconv.ParseFloat's
// grammar, underscores included), "inf", "-inf", "+inf", "infinity" or "nan"
// in any case. It returns no numbers and no error for a blank line.
func parseLine(line string) ([]number, error) {
	fields := strings.Fields(line)
	out := make([]number, 0, len(fields))
	for i, s := range fields {
		n, err := parseNumber(s)
		if err != nil {
			return nil, newFieldError(i, s, err.Error())
		}
		out = append(out, n)
	}
	return out, nil
}

// parseNumber parses one field; see parseLine for the grammar.
func parseNumber(s string) (number, error) {
	if len(s) > maxFieldLen {
		return number{}, fmt.Errorf("longer than %d bytes", maxFieldLen)
	}
	v, err := strconv.ParseFloat(s, 64)
	rangeErr := false
	if err != nil {
		if !errors.Is(err, strconv.ErrRange) {
			return number{}, errors.New("not a number")
		}
		rangeErr = true // finite literal that overflows float64: v is ±Inf
	}
	n := number{text: s, val: v}
	if !rangeErr && (math.IsNaN(v) || math.IsInf(v, 0)) {
		n.special = true
		return n, nil
	}
	if rangeErr || (v == 0 && !mantissaIsZero(s)) {
		return n, nil // beyond float64's range: no exact value kept
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return number{}, errors.New("not a number")
	}
	n.rat = r
	return n, nil
}

// mantissaIsZero reports whether the digits of a syntactically valid finite
// literal, before its exponent, are all zero.
func mantissaIsZero(s string) bool {
	s = strings.TrimLeft(s, "+-")
	exp := "eE"
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s, exp = s[2:], "pP"
	}
	if i := strings.IndexAny(s, exp); i >= 0 {
		s = s[:i]
	}
	for _, c := range s {
		if c != '0' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

// inFormat returns n as a value of f. Without round, n must be a member of f
// (NaN is a member of every format; ±Inf of every format but E4M3). With
// round, n's exact value is rounded straight to f (nearest, ties to even,
// never through float64 first; ±Inf and overflow become NaN in E4M3).
func (n number) inFormat(f fp.Format, round bool) (float64, error) {
	if n.isFloat64() && f.Contains(n.val) {
		return n.val, nil
	}
	if !round {
		return 0, fmt.Errorf("%s is not a value of %v (use -round to round inputs)", n.text, f)
	}
	if n.special || n.isFloat64() {
		r, _ := f.RoundFloat64(n.val)
		return r, nil
	}
	var x *big.Float
	switch {
	case n.rat == nil && math.IsInf(n.val, 0): // overflows every format
		x = new(big.Float).SetMantExp(big.NewFloat(math.Copysign(1, n.val)), 1<<20)
	case n.rat == nil: // underflows every format: |n| ≤ 2^-1075 (ties to even = 0)
		x = new(big.Float).SetMantExp(big.NewFloat(math.Copysign(1, n.val)), -(1 << 20))
	default:
		x = roundToOdd(n.rat, 64+uint(f.Precision()))
	}
	r, _ := f.Round(x)
	return r, nil
}

// roundToOdd returns r rounded to prec bits with round-to-odd (truncate, then
// set the last bit if anything was lost), as a Float of precision prec+1 whose
// extra bit is set when inexact. Rounding it to nearest at any precision
// ≤ prec-2 gives the same result as rounding r itself (Boldo & Melquiond,
// "Emulation of FMA and correctly rounded sums: proved algorithms using
// rounding to odd", IEEE TC 57(4), 2008).
func roundToOdd(r *big.Rat, prec uint) *big.Float {
	x := new(big.Float).SetPrec(prec).SetMode(big.ToZero)
	x.SetRat(r)
	if x.Acc() == big.Exact {
		return x
	}
	// |r| lies strictly between |x| and |x| + ulp: move to the middle,
	// which is off every coarser rounding boundary.
	half := new(big.Float).SetMantExp(big.NewFloat(1), x.MantExp(nil)-int(prec)-1)
	if x.Sign() < 0 {
		half.Neg(half)
	}
	y := new(big.Float).SetPrec(prec + 1).Set(x)
	return y.Add(y, half)
}
