// This file implements Case, its validation and its canonical text form.

package shrinking

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ulpcheck/ulpcheck/fp"
)

// A Case is the domain-level form of one call of a kernel: Rows rows of Cols logits in row-major
// order, with the optional companions an operation needs. Every float in a Case is a value of
// Format. A nil slice means the operation does not use it.
type Case struct {
	Format     fp.Format
	Rows, Cols int
	X          []float64         // logits, Rows*Cols values
	DY         []float64         // upstream gradient of a backward operation, Rows*Cols values or nil
	Targets    []int             // class targets, Rows values or nil; negative values (ignore_index) are kept
	Probs      []float64         // probability targets, Rows*Cols values or nil
	Weights    []float64         // per-class weights, Cols values or nil
	Params     map[string]string // operation options carried through unchanged (reduction, smoothing…)
}

// Clone returns a deep copy of c.
func (c Case) Clone() Case {
	d := c
	d.X = cloneF(c.X)
	d.DY = cloneF(c.DY)
	d.Probs = cloneF(c.Probs)
	d.Weights = cloneF(c.Weights)
	if c.Targets != nil {
		d.Targets = append([]int{}, c.Targets...)
	}
	if c.Params != nil {
		d.Params = make(map[string]string, len(c.Params))
		for k, v := range c.Params {
			d.Params[k] = v
		}
	}
	return d
}

func cloneF(s []float64) []float64 {
	if s == nil {
		return nil
	}
	return append([]float64{}, s...)
}

// Validate reports whether c is well formed: a valid format, non-negative shape, slice lengths
// that match it, every float a value of the format, and targets below Cols.
func (c Case) Validate() error {
	if !c.Format.Valid() {
		return fmt.Errorf("shrinking: invalid format")
	}
	if c.Rows < 0 || c.Cols < 0 {
		return fmt.Errorf("shrinking: negative shape %dx%d", c.Rows, c.Cols)
	}
	n := c.Rows * c.Cols
	check := func(name string, s []float64, want int) error {
		if s == nil {
			return nil
		}
		if len(s) != want {
			return fmt.Errorf("shrinking: %s has %d values, want %d", name, len(s), want)
		}
		for i, v := range s {
			if !c.Format.Contains(v) {
				return fmt.Errorf("shrinking: %s[%d] = %v (%x) is not a value of %s", name, i, v, v, c.Format)
			}
		}
		return nil
	}
	if c.X == nil && n > 0 {
		return fmt.Errorf("shrinking: X is nil for shape %dx%d", c.Rows, c.Cols)
	}
	for _, e := range []error{check("X", c.X, n), check("DY", c.DY, n), check("Probs", c.Probs, n),
		check("Weights", c.Weights, c.Cols)} {
		if e != nil {
			return e
		}
	}
	if c.Targets != nil {
		if len(c.Targets) != c.Rows {
			return fmt.Errorf("shrinking: Targets has %d values, want %d", len(c.Targets), c.Rows)
		}
		for i, t := range c.Targets {
			if t >= c.Cols {
				return fmt.Errorf("shrinking: Targets[%d] = %d is not below Cols = %d", i, t, c.Cols)
			}
		}
	}
	return nil
}

// key returns a compact binary form of c for the shrinker's memo: two cases have equal keys
// exactly when they have equal String forms (the same format, shape, slices present, bit
// patterns of the format, targets and params), without formatting each bit pattern in hex.
func (c Case) key() string {
	b := make([]byte, 0, 32+8*(len(c.X)+len(c.DY)+len(c.Probs)+len(c.Weights))+4*len(c.Targets))
	b = appendString(b, c.Format.String())
	b = binary.AppendUvarint(b, uint64(c.Rows))
	b = binary.AppendUvarint(b, uint64(c.Cols))
	floats := func(s []float64) {
		if s == nil {
			b = append(b, 0)
			return
		}
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(s)))
		for _, v := range s {
			b = binary.LittleEndian.AppendUint64(b, c.Format.Encode(v))
		}
	}
	floats(c.X)
	floats(c.DY)
	if c.Targets == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(c.Targets)))
		for _, t := range c.Targets {
			b = binary.AppendVarint(b, int64(t))
		}
	}
	floats(c.Probs)
	floats(c.Weights)
	keys := slices.Sorted(maps.Keys(c.Params))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, c.Params[k])
	}
	return string(b)
}

// appendString appends s to b, length first.
func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// String returns the canonical text form of c, which ParseCase reads back exactly:
//
//	v1;fmt=fp16;shape=1x2;x=4d8c,3c00;dy=…;t=0,-100;p=…;w=…;k:reduction=mean
//
// Floats are written as the format's bit patterns in lowercase hex without a prefix (so NaN
// payloads and −0 survive); absent slices are omitted; params come last, sorted by key, each as
// k:key=value with key and value percent-escaped.
func (c Case) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "v1;fmt=%s;shape=%dx%d", c.Format, c.Rows, c.Cols)
	bits := func(name string, s []float64) {
		if s == nil {
			return
		}
		b.WriteString(";" + name + "=")
		for i, v := range s {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatUint(c.Format.Encode(v), 16))
		}
	}
	bits("x", c.X)
	bits("dy", c.DY)
	if c.Targets != nil {
		b.WriteString(";t=")
		for i, t := range c.Targets {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(t))
		}
	}
	bits("p", c.Probs)
	bits("w", c.Weights)
	keys := slices.Sorted(maps.Keys(c.Params))
	for _, k := range keys {
		b.WriteString(";k:" + escape(k) + "=" + escape(c.Params[k]))
	}
	return b.String()
}

// escape percent-encodes the bytes that the text form uses as separators, '%' itself, and
// anything outside printable ASCII (so that the form is safe inside single quotes).
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == ';' || ch == '=' || ch == ',' || ch == '%' || ch == '\'' || ch <= ' ' || ch >= 0x7f {
			fmt.Fprintf(&b, "%%%02X", ch)
		} else {
			b.WriteByte(ch)
		}
	}
	return b.String()
}

func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 > len(s) {
			return "", fmt.Errorf("shrinking: bad escape in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("shrinking: bad escape in %q", s)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// ParseCase reads the canonical text form written by Case.String. It accepts the fields in any
// order and validates the result.
func ParseCase(s string) (Case, error) {
	var c Case
	parts := strings.Split(strings.TrimSpace(s), ";")
	if len(parts) == 0 || parts[0] != "v1" {
		return c, fmt.Errorf("shrinking: case text must start with \"v1;\": %q", s)
	}
	var haveFmt, haveShape bool
	type pending struct {
		dst  *[]float64
		vals string
	}
	var floats []pending
	for _, p := range parts[1:] {
		if strings.HasPrefix(p, "k:") {
			kv := strings.SplitN(p[2:], "=", 2)
			if len(kv) != 2 {
				return c, fmt.Errorf("shrinking: bad param %q", p)
			}
			k, err := unescape(kv[0])
			if err != nil {
				return c, err
			}
			v, err := unescape(kv[1])
			if err != nil {
				return c, err
			}
			if c.Params == nil {
				c.Params = map[string]string{}
			}
			c.Params[k] = v
			continue
		}
		kv := strings.SplitN(p, "=", 2)
		if len(kv) != 2 {
			return c, fmt.Errorf("shrinking: bad field %q", p)
		}
		switch kv[0] {
		case "fmt":
			f, err := fp.ParseFormat(kv[1])
			if err != nil {
				return c, err
			}
			c.Format, haveFmt = f, true
		case "shape":
			if _, err := fmt.Sscanf(kv[1], "%dx%d", &c.Rows, &c.Cols); err != nil {
				return c, fmt.Errorf("shrinking: bad shape %q", kv[1])
			}
			haveShape = true
		case "x":
			floats = append(floats, pending{&c.X, kv[1]})
		case "dy":
			floats = append(floats, pending{&c.DY, kv[1]})
		case "p":
			floats = append(floats, pending{&c.Probs, kv[1]})
		case "w":
			floats = append(floats, pending{&c.Weights, kv[1]})
		case "t":
			c.Targets = []int{}
			if kv[1] != "" {
				for _, f := range strings.Split(kv[1], ",") {
					t, err := strconv.Atoi(f)
					if err != nil {
						return c, fmt.Errorf("shrinking: bad target %q", f)
					}
					c.Targets = append(c.Targets, t)
				}
			}
		default:
			return c, fmt.Errorf("shrinking: unknown field %q", kv[0])
		}
	}
	if !haveFmt || !haveShape {
		return c, fmt.Errorf("shrinking: case text lacks fmt= or shape=: %q", s)
	}
	for _, p := range floats {
		*p.dst = []float64{}
		if p.vals == "" {
			continue
		}
		for _, f := range strings.Split(p.vals, ",") {
			b, err := strconv.ParseUint(f, 16, 64)
			if err != nil || (c.Format.Width() < 64 && b>>c.Format.Width() != 0) {
				return c, fmt.Errorf("shrinking: bad %s bit pattern %q", c.Format, f)
			}
			*p.dst = append(*p.dst, c.Format.Decode(b))
		}
	}
	return c, c.Validate()
}
