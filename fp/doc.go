// Package fp describes the floating-point formats that ulpcheck tests kernels in, and is the one
// place where exact values are rounded into them.
//
// The formats are IEEE 754 binary16 (FP16), bfloat16 (BF16), binary32 (FP32), binary64 (FP64) and
// the OCP 8-bit formats E4M3 and E5M2, each a value of the comparable type Format. Every value of
// every format is exactly a float64, so inside the harness a format value is a float64 that is a
// member of its format (Format.Contains).
//
// Rounding. Format.Round rounds an exact *big.Float to nearest, ties to even, straight into the
// format, with gradual underflow (subnormals) and overflow to ±Inf (E4M3, which has no Inf,
// overflows to NaN; Format.RoundSaturating gives ±max instead). It never rounds twice. The Flag it
// returns says whether the result is exact, inexact, underflowed or overflowed.
//
// Special values follow IEEE 754: ±0 compare equal in every measure of error, any NaN matches any
// NaN, and an Inf against a finite value is an infinite error. NaN payloads and signs survive
// Encode and Decode; they do not survive arithmetic.
//
// Error measures (NUMERICS §2):
//
//   - Ulp(y): 2^(max(e, e_min) − p + 1) where 2^e ≤ |y| < 2^(e+1); Ulp(0) is the smallest subnormal.
//   - UlpError(got, exact): |got − exact| / Ulp(exact), computed exactly.
//   - UlpDistance(a, b): the number of format values between two members (0 when equal).
//
// Index: Format, FP16, BF16, FP32, FP64, E4M3, E5M2, Formats, ParseFormat; Format methods Round,
// RoundSaturating, RoundFloat64, Contains, Encode, Decode, Next, Prev, Ulp, UlpExp, UlpError,
// UlpDistance; Flag.
package fp
