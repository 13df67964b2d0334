package oraclecmd

import (
	"math"
	"math/big"
	"math/rand/v2"
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

// TestParseExact checks the fast path against strconv.ParseFloat and big.Rat: whenever
// parseExact accepts a literal, ParseFloat must accept it with the same bits and big.Rat must
// find the literal exactly equal to them; and it must accept every float64's shortest hex form
// (the CLI's own output), so that the fast path is taken where it matters.
func TestParseExact(t *testing.T) {
	check := func(s string) bool {
		v, ok := parseExact(s)
		if !ok {
			return false
		}
		w, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(v) != math.Float64bits(w) {
			t.Errorf("parseExact(%q) = %v (%#016x), ParseFloat gives %v (%#016x), %v", s, v, math.Float64bits(v), w, math.Float64bits(w), err)
			return true
		}
		r, rok := new(big.Rat).SetString(s)
		if !rok || v != 0 && r.Cmp(new(big.Rat).SetFloat64(v)) != 0 || v == 0 && r.Sign() != 0 {
			t.Errorf("parseExact(%q) = %v, but the literal is not exactly that float64", s, v)
		}
		return true
	}
	fixed := []struct {
		s      string
		ok     bool
		reason string
	}{
		{"0x1p+00", true, "one"},
		{"-0x1.8p+03", true, "negative, fraction"},
		{"+0X1.8P3", true, "upper case, plus sign, short exponent"},
		{"0x1p-1074", true, "smallest subnormal"},
		{"0x0.0000000000001p-1022", true, "smallest subnormal, unnormalised"},
		{"0x1p-1075", false, "below the smallest subnormal: rounds"},
		{"0x1.fffffffffffffp+1023", true, "largest finite"},
		{"0x1p+1024", false, "overflow: strconv's range error"},
		{"0x1.00000000000008p0", false, "54 significant bits"},
		{"0x1.00000000000000000000p0", true, "trailing zeros beyond 64 bits"},
		{"0x0000000000000000000001p0", true, "leading zeros beyond 64 bits"},
		{"0x100000000000000000000p-80", true, "2^80 · 2^−80"},
		{"-0x0p+00", true, "negative zero"},
		{"0x0p99999999", false, "huge exponent left to strconv"},
		{"0x1.8", false, "no exponent"},
		{"0x1.p0", false, "point without fraction digits left to strconv"},
		{"0x.8p1", false, "no integer digit left to strconv"},
		{"0x1_0p0", false, "underscores left to strconv"},
		{"0x1p", false, "empty exponent"},
		{"0x1p+", false, "sign without exponent digits"},
		{"0xp0", false, "no digits"},
		{"1.5", false, "decimal fraction left to strconv"},
		{"-0", true, "negative zero integer"},
		{"+0012", true, "leading zeros"},
		{"999999999999999", true, "15 digits"},
		{"1000000000000000", false, "16 digits left to the general path"},
		{"1e3", false, "decimal exponent left to strconv"},
		{"-", false, "sign only"},
		{"", false, "empty"},
		{"0x1g", false, "not a hex digit"},
		{"0x1p0 ", false, "trailing junk"},
	}
	for _, tc := range fixed {
		if got := check(tc.s); got != tc.ok {
			t.Errorf("parseExact(%q) ok = %v, want %v (%s)", tc.s, got, tc.ok, tc.reason)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for range n {
		var v float64
		switch r.IntN(3) {
		case 0:
			v = math.Float64frombits(r.Uint64())
		case 1:
			v = float64(math.Float32frombits(r.Uint32()))
		default:
			v = math.Float64frombits(r.Uint64() & 0x000fffffffffffff) // subnormal
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		s := strconv.FormatFloat(v, 'x', -1, 64)
		if !check(s) {
			t.Fatalf("parseExact(%q) refused a float64's shortest hex form", s)
		}
		// Other spellings of the same or nearby values: fixed digit counts (13 digits is exact,
		// fewer may round in FormatFloat but the literal is still checked for what it says).
		check(strconv.FormatFloat(v, 'X', r.IntN(20), 64))
		// Random strings over the literal's alphabet.
		b := make([]byte, 1+r.IntN(12))
		const alpha = "0x1.fp+-8aX_P0"
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		check(string(b))
		check("0x" + string(b))
	}
}

// TestFastRowMatchesGeneral draws lines from tokens that exercise every branch of fastRow and
// the general path (members and non-members of each format, specials in several spellings,
// decimal and hex literals, Unicode and ASCII white space, over-long fields) and requires that
// wherever fastRow accepts a line, parseLine and inFormat (with and without -round) accept it
// too and give the same values, bit for bit.
func TestFastRowMatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	tokens := []string{"0", "-0", "1", "-3", "12", "0x1p+00", "0x1.8p+03", "-0x1.8p-01", "0x1p-24", "0x1p-149",
		"0x1p-1074", "0x1.ffep+15", "0x1.ffcp+15", "0x1.fep+127", "0x1.fffffep+127", "0x1p+128", "0x1.002p+00",
		"0x1.000002p+00", "0x1.0000000000001p+00", "nan", "NaN", "inf", "+inf", "-inf", "Inf", "infinity",
		"0.5", "0.1", "1e3", "1_0", "abc", "0x1.8", "448", "464", "57344", "0x1p-9", "0x1p-16",
		"0x" + strings.Repeat("0", maxFieldLen) + "1p0",
		// literals with more after them, which the row parser reads in place and must refuse
		"12a", "1x", "0x1p3x", "0x1p", "0x1p+", "1.", "-", "+", "--1", "0x", "0x.8p1", "0x1..8p1", "0x1.8.p1",
		"123456789012345", "1234567890123456", "0x1p+1000000", "0x1p+1000001", "nan1", "inf-", "-nan", "0x1p3\u00a0",
		"1-1", "2inf", "0x1p3nan", "1+2", "0x1p+3-0x1p+3", "-0x1.8p-01+inf"}
	seps := []string{" ", "  ", "\t", "\v", "\f", "\r", "\u00a0", "\u0085", "\u2003"}
	accepted := 0
	// Each token alone and beside a plain value, then random lines of tokens and separators.
	var lines []string
	for _, tok := range tokens {
		lines = append(lines, tok, "1 "+tok, tok+"\t1")
	}
	for n := range 20000 + len(lines) {
		line := ""
		if n < len(lines) {
			line = lines[n]
		} else {
			line = randomLine(r, tokens, seps)
		}
		for _, f := range fp.Formats() {
			x, ok := fastRow([]byte(line), f, nil)
			if !ok {
				continue
			}
			accepted++
			nums, err := parseLine(line)
			if err != nil || len(nums) != len(x) {
				t.Fatalf("fastRow(%q, %v) accepted %d values; parseLine gives %d, %v", line, f, len(x), len(nums), err)
			}
			for _, round := range []bool{false, true} {
				for i, n := range nums {
					v, err := n.inFormat(f, round)
					same := math.Float64bits(v) == math.Float64bits(x[i]) || math.IsNaN(v) && math.IsNaN(x[i])
					if err != nil || !same {
						t.Fatalf("fastRow(%q, %v)[%d] = %v (%#016x); inFormat(round %v) gives %v (%#016x), %v",
							line, f, i, x[i], math.Float64bits(x[i]), round, v, math.Float64bits(v), err)
					}
				}
			}
		}
	}
	if accepted < 1000 {
		t.Errorf("fastRow accepted only %d lines: the fast path is not exercised", accepted)
	}
}

// randomLine joins one to five of tokens (or, one time in three, a random float64 or float32 in
// hex) with separators from seps, sometimes after a leading separator.
func randomLine(r *rand.Rand, tokens, seps []string) string {
	k := 1 + r.IntN(5)
	var sb strings.Builder
	if r.IntN(4) == 0 {
		sb.WriteString(seps[r.IntN(len(seps))])
	}
	for j := range k {
		if j > 0 {
			sb.WriteString(seps[r.IntN(len(seps))])
		}
		tok := tokens[r.IntN(len(tokens))]
		if r.IntN(3) == 0 {
			v := math.Float64frombits(r.Uint64())
			if r.IntN(2) == 0 {
				v = float64(math.Float32frombits(r.Uint32()))
			}
			tok = strconv.FormatFloat(v, 'x', -1, 64)
		}
		sb.WriteString(tok)
	}
	return sb.String()
}
