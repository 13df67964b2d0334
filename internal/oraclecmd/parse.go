package oraclecmd

// This file implements the grammar of the rows that the oracle command reads.

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
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
	rat     *big.Rat // exact value; nil for specials, out-of-range literals and exact64 ones
	special bool     // NaN or an infinity written as such
	exact64 bool     // the literal is exactly val (found by parseExact; rat left nil)
}

// isFloat64 reports whether the literal is exactly a float64 (specials included).
func (n number) isFloat64() bool {
	if n.special || n.exact64 {
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
	if v, ok := parseExact(s); ok {
		return number{text: s, val: v, exact64: true}, nil
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

// parseExact parses s when it is a literal of one of the plain forms
//
//	[+-] D{1,15}                    (a decimal integer below 10^15)
//	[+-] 0x H+ [. H+] p [+-] D+     (x or X, p or P; H a hex digit, D a decimal digit)
//
// whose value is exactly a float64, and returns that value: the value strconv.ParseFloat returns
// for it, since ParseFloat rounds correctly and the literal needs no rounding. Anything else
// (underscores, decimal fractions or exponents, more than 53 significant bits, bits below
// 2^−1074, overflow, a binary exponent beyond ±10^6) gives ok = false and is left to the general
// path, so that the grammar and the error messages stay strconv's and big.Rat's alone. It reads
// the digits once and allocates nothing: the fast path for the CLI's own output format.
func parseExact[T string | []byte](s T) (v float64, ok bool) {
	v, end, ok := scanExact(s, 0)
	return v, ok && end == len(s)
}

// scanExact reads a literal of parseExact's forms from s[i] on, as far as it goes, and returns
// its value and the index of the first byte after it; ok is false when s[i:] does not start with
// such a literal whose value is exactly a float64. The row parser (fastRow) calls it on the line
// itself and then checks that the literal ends the field, so that each byte is read once.
func scanExact[T string | []byte](s T, i int) (v float64, end int, ok bool) {
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i+1 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' {
		return scanHex(s, i+2, neg)
	}
	start, n := i, 0
	for ; i < len(s) && s[i]-'0' <= 9; i++ {
		if i-start == 15 {
			return 0, i, false // 10^15 or more: may need rounding, left to the general path
		}
		n = n*10 + int(s[i]-'0')
	}
	if i == start {
		return 0, i, false
	}
	v = float64(n) // exact: n < 10^15 < 2^53
	if neg {
		v = -v
	}
	return v, i, true
}

// hexDigit maps a byte to its hexadecimal digit value, or to 0xff.
var hexDigit = func() (t [256]uint8) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = uint8(c-'a') + 10
		t[c-'a'+'A'] = uint8(c-'a') + 10
	}
	return t
}()

// scanHex is scanExact's hexadecimal case, from s[i] on (the sign and the 0x consumed).
func scanHex[T string | []byte](s T, i int, neg bool) (v float64, end int, ok bool) {
	// value = mant · 16^extra · 2^(pexp − 4·frac): mant takes every digit while it is below 2^60;
	// past that, a zero digit only counts in extra, and a nonzero one would make the significant
	// bits span more than 56, so the literal is not a float64.
	var mant uint64
	extra, frac, digits := 0, 0, 0
	point := false
	for ; i < len(s); i++ {
		c := s[i]
		d := uint64(hexDigit[c])
		if d > 15 {
			if c == '.' && !point && digits > 0 {
				point = true
				if i+1 >= len(s) || s[i+1]|0x20 == 'p' {
					return 0, i, false // "0x1.p0": valid for strconv, but left to it
				}
				continue
			}
			break
		}
		digits++
		if point {
			frac++
		}
		switch {
		case mant < 1<<60:
			mant = mant<<4 | d
		case d == 0:
			extra++
		default:
			return 0, i, false
		}
	}
	if digits == 0 || i+1 >= len(s) || s[i]|0x20 != 'p' {
		return 0, i, false
	}
	i++
	eneg := false
	if s[i] == '+' || s[i] == '-' {
		eneg = s[i] == '-'
		i++
	}
	pexp, start := 0, i
	for ; i < len(s) && s[i]-'0' <= 9; i++ {
		if pexp > 1e6 {
			return 0, i, false
		}
		pexp = pexp*10 + int(s[i]-'0')
	}
	if i == start {
		return 0, i, false
	}
	if eneg {
		pexp = -pexp
	}
	if mant == 0 {
		if neg {
			return math.Copysign(0, -1), i, true
		}
		return 0, i, true
	}
	e := pexp - 4*frac + 4*extra // value = mant · 2^e
	tz := bits.TrailingZeros64(mant)
	mant >>= uint(tz)
	e += tz
	bl := bits.Len64(mant)
	if bl > 53 || e < -1074 || e+bl-1 > 1023 {
		return 0, i, false
	}
	// mant · 2^e is a float64 (at most 53 bits, the lowest at or above 2^−1074, the highest at or
	// below 2^1023), so each product by a power of two below is exact; e ≤ 1023 since bl ≥ 1.
	v = float64(mant)
	if e < -1022 {
		v *= math.Float64frombits(uint64(1023+e+64) << 52)
		v *= 0x1p-64
	} else {
		v *= math.Float64frombits(uint64(1023+e) << 52)
	}
	if neg {
		v = -v
	}
	return v, i, true
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
