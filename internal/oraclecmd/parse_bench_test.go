package oraclecmd

import (
	"strconv"
	"testing"
)

// BenchmarkParseExact times the fast path on a typical fp32 hex literal, beside strconv.
func BenchmarkParseExact(b *testing.B) {
	s := []byte("-0x1.3c9f2ep+03")
	b.Run("parseExact", func(b *testing.B) {
		for b.Loop() {
			if _, ok := parseExact(s); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("ParseFloat", func(b *testing.B) {
		for b.Loop() {
			if _, err := strconv.ParseFloat(string(s), 64); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendFloat", func(b *testing.B) {
		buf := make([]byte, 0, 64)
		for b.Loop() {
			buf = strconv.AppendFloat(buf[:0], -9.8943, 'x', -1, 64)
		}
	})
}
