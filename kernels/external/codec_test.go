package external

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

func frame(payload []byte) []byte {
	var b bytes.Buffer
	if err := WriteFrame(&b, payload, 0); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func header(n uint64) []byte {
	return binary.LittleEndian.AppendUint64(nil, n)
}

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		in     []byte
		max    int
		want   []byte
		check  func(error) bool
	}{
		{"ok", "one frame", frame([]byte("Hi")), 0, []byte("Hi"), nil},
		{"eof", "a clean end before any byte", nil, 0, nil, func(err error) bool { return err == io.EOF }},
		{"short-header", "3 bytes of a header", []byte{1, 0, 0}, 0, nil, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"short-payload", "header claims 5, 2 follow", append(header(5), 1, 2), 0, nil, func(err error) bool {
			var fe *FrameError
			return errors.As(err, &fe) && fe.Got == 2 && errors.Is(err, io.ErrUnexpectedEOF)
		}},
		{"zero", "length 0 is no frame", header(0), 0, nil, func(err error) bool {
			var fe *FrameError
			return errors.As(err, &fe) && fe.Length == 0 && fe.Err == nil
		}},
		{"2^40", "refused before allocating a terabyte", header(1 << 40), 0, nil, func(err error) bool {
			var fe *FrameError
			return errors.As(err, &fe) && fe.Length == 1<<40 && fe.Max == DefaultMaxFrame
		}},
		{"2^64-1", "the largest length", header(math.MaxUint64), 0, nil, func(err error) bool {
			var fe *FrameError
			return errors.As(err, &fe) && fe.Length == math.MaxUint64
		}},
		{"bound", "one byte over a custom bound", append(header(5), "hello"...), 4, nil, func(err error) bool {
			var fe *FrameError
			return errors.As(err, &fe) && fe.Max == 4
		}},
		{"at-bound", "exactly at the bound", append(header(4), "four"...), 4, []byte("four"), nil},
	}
	for _, tt := range tests {
		got, err := ReadFrame(bytes.NewReader(tt.in), tt.max)
		if tt.check != nil {
			if !tt.check(err) {
				t.Errorf("%s (%s): err = %v (%#v)", tt.name, tt.reason, err, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%s (%s): ReadFrame = %q, %v; want %q", tt.name, tt.reason, got, err, tt.want)
		}
	}
	if err := WriteFrame(io.Discard, nil, 0); err == nil {
		t.Error("WriteFrame of an empty payload succeeded")
	}
	if err := WriteFrame(io.Discard, make([]byte, 5), 4); err == nil {
		t.Error("WriteFrame over the bound succeeded")
	}
}

// TestReadFrameHugeNoAlloc: a header claiming 2^40 bytes allocates nothing of that size.
func TestReadFrameHugeNoAlloc(t *testing.T) {
	in := header(1 << 40)
	allocs := testing.AllocsPerRun(10, func() {
		ReadFrame(bytes.NewReader(in), 0)
	})
	if allocs > 3 {
		t.Errorf("%v allocations per refused frame", allocs)
	}
}

func sampleHello() *Hello {
	return &Hello{Protocol: Protocol, Client: "test ✓", Kernels: []Entry{
		{Name: "a", Doc: "softmax", Op: kernels.OpSoftmax, In: fp.FP16},
		{Name: "b", Op: kernels.OpCrossEntropy, In: fp.BF16, Out: fp.FP32, Acc: fp.FP64, Algorithm: kernels.AlgOnline,
			Mask: fp.MaskZero, Saturating: true, FlushToZero: true, ProbTargets: true,
			CEModes: []kernels.Reduction{kernels.ReduceMean, kernels.ReduceNone}},
		{Name: "c", Op: kernels.OpSoftmaxBackward, In: fp.E4M3, Algorithm: kernels.AlgExpLSE},
		{Name: "d", Op: kernels.OpCrossEntropyGrad, In: fp.E5M2, Algorithm: kernels.AlgUnshifted},
	}}
}

func TestHelloRoundTrip(t *testing.T) {
	h := sampleHello()
	b, err := EncodeHello(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHello(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(h, got, cmp.Comparer(func(a, b fp.Format) bool { return a == b })); d != "" {
		t.Errorf("hello round trip (-want +got):\n%s", d)
	}
}

// specials returns awkward members of f: ±0, the smallest subnormal, ±max, ±Inf and a NaN with
// a payload where the format has them.
func specials(f fp.Format) []float64 {
	xs := []float64{0, math.Copysign(0, -1), f.MinSubnormal(), -f.MinSubnormal(), f.MinNormal(), f.MaxFinite(), -f.MaxFinite(), 1, -1.5}
	if f.HasInf() {
		xs = append(xs, math.Inf(1), math.Inf(-1))
	}
	return append(xs, f.Decode(f.Encode(f.NaN())|1))
}

func TestRequestResponseRoundTrip(t *testing.T) {
	for _, f := range fp.Formats() {
		x := specials(f)
		n := len(x)
		req := &Request{ID: 7, Kernel: 3, Op: kernels.OpCrossEntropy, In: f, Out: f, Rows: 1, Cols: n,
			Reduction: kernels.ReduceSum, IgnoreIndex: -100, LabelSmoothing: 0.1,
			X: x, DY: x, Targets: []int64{math.MinInt64}, Probs: x, Weights: x}
		b, err := EncodeRequest(req)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(b) != requestHead+4*n*byteWidth(f)+8 {
			t.Errorf("%s: request of %d bytes, want %d", f, len(b), requestHead+4*n*byteWidth(f)+8)
		}
		got, err := DecodeRequest(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d := cmp.Diff(req, got, bitwise); d != "" {
			t.Errorf("%s: request round trip (-want +got):\n%s", f, d)
		}
		resp := &Response{ID: 9, Out: x}
		rb, err := EncodeResponse(resp, f)
		if err != nil {
			t.Fatal(err)
		}
		gotResp, err := DecodeResponse(rb, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d := cmp.Diff(resp, gotResp, bitwise); d != "" {
			t.Errorf("%s: response round trip (-want +got):\n%s", f, d)
		}
	}
	e := &Response{ID: 1, Status: StatusUnsupported, Message: "no"}
	b, _ := EncodeResponse(e, fp.FP32)
	if got, err := DecodeResponse(b, fp.FP32); err != nil || got.Message != "no" || got.Status != StatusUnsupported {
		t.Errorf("unsupported response: %+v, %v", got, err)
	}
	if _, err := EncodeRequest(&Request{Op: kernels.OpSoftmax, In: fp.FP32, Out: fp.FP32, Rows: 1, Cols: 1, X: []float64{0.1}}); err == nil {
		t.Error("a non-member of fp32 was encoded")
	}
}

// bitwise compares float64 values by their bits (NaN payloads and −0 included).
var bitwise = cmp.Options{
	cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }),
	cmp.Comparer(func(a, b fp.Format) bool { return a == b }),
}

func TestDecodeErrors(t *testing.T) {
	hello, _ := EncodeHello(sampleHello())
	mut := func(b []byte, i int, v byte) []byte {
		c := append([]byte(nil), b...)
		c[i] = v
		return c
	}
	// Offset of the first entry: 'H', two strings, the count.
	e0 := 1 + 4 + len(Protocol) + 4 + len("test ✓") + 2
	dup, _ := EncodeHello(&Hello{Protocol: Protocol, Kernels: []Entry{{Name: "x", Op: kernels.OpLSE, In: fp.FP32}, {Name: "x", Op: kernels.OpLSE, In: fp.FP64}}})
	none, _ := EncodeHello(&Hello{Protocol: Protocol})
	tests := []struct {
		name, reason, words string
		in                  []byte
	}{
		{"type", "a request where a hello belongs", "message type", mut(hello, 0, 'Q')},
		{"op", "operation code 9", "unknown operation code 9", mut(hello, e0, 9)},
		{"format", "format code 0 for the input", "input format code 0", mut(hello, e0+1, 0)},
		{"out", "output format code 7", "unknown format code 7", mut(hello, e0+2, 7)},
		{"alg", "algorithm code 4", "unknown algorithm code 4", mut(hello, e0+4, 4)},
		{"mask", "mask code 2", "unknown mask policy code 2", mut(hello, e0+5, 2)},
		{"flags", "flag bit 3", "unknown flag bits", mut(hello, e0+6, 8)},
		{"modes", "reduction bit 3", "unknown reduction bits", mut(hello, e0+7, 8)},
		{"trailing", "one byte too many", "1 trailing bytes", append(append([]byte(nil), hello...), 0)},
		{"truncated", "cut in the middle", "remain", hello[:len(hello)/2]},
		{"string", "a string claiming 4 GiB", "string of 4294967295 bytes", append([]byte{'H'}, 0xff, 0xff, 0xff, 0xff)},
		{"utf8", "invalid UTF-8 in the client name", "not UTF-8", append([]byte{'H', 0, 0, 0, 0, 1, 0, 0, 0}, 0xff)},
		{"dup", "two kernels named x", "duplicate name", dup},
		{"none", "no kernels", "0 kernels", none},
		{"empty", "an empty payload", "needs 1 bytes", nil},
	}
	for _, tt := range tests {
		_, err := DecodeHello(tt.in)
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.words) {
			t.Errorf("%s (%s): err = %v, want a *DecodeError containing %q", tt.name, tt.reason, err, tt.words)
		}
	}
	ok, _ := EncodeResponse(&Response{ID: 1, Out: []float64{1, 2}}, fp.FP32)
	count := mut(ok, 6, 3) // count 3, two elements sent
	if _, err := DecodeResponse(count, fp.FP32); err == nil || !strings.Contains(err.Error(), "3 fp32 elements need 12 bytes, 8 remain") {
		t.Errorf("response with a wrong count: err = %v", err)
	}
	huge, _ := EncodeRequest(&Request{Op: kernels.OpSoftmax, In: fp.FP64, Out: fp.FP64, Rows: 1, Cols: 1, X: []float64{1}})
	binary.LittleEndian.PutUint32(huge[10:], math.MaxUint32)
	binary.LittleEndian.PutUint32(huge[14:], math.MaxUint32)
	if _, err := DecodeRequest(huge); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("request of 2^32×2^32: err = %v", err)
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in, reason string
		want       []string
	}{
		{"python3 k.py", "blanks separate", []string{"python3", "k.py"}},
		{"  a \t b\n", "runs of blanks count once", []string{"a", "b"}},
		{`'a b' c`, "single quotes keep blanks", []string{"a b", "c"}},
		{`"a b" "c\"d" "e\\f" "g\h"`, `in double quotes \ escapes " and \ only`, []string{"a b", `c"d`, `e\f`, `g\h`}},
		{`a\ b`, "backslash escapes a blank", []string{"a b"}},
		{`a'b c'd`, "quotes join a word", []string{"ab cd"}},
		{`'' ""`, "empty quotes make empty arguments", []string{"", ""}},
		{`$HOME ~ * > | #x`, "no expansions, no redirection, no comments", []string{"$HOME", "~", "*", ">", "|", "#x"}},
		{`'it'\''s'`, "the sh idiom for a quote inside single quotes", []string{"it's"}},
		{"a\\\nb", "backslash-newline is removed", []string{"ab"}},
	}
	for _, tt := range tests {
		got, err := SplitArgs(tt.in)
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("SplitArgs(%q) (%s) = %q, %v; want %q", tt.in, tt.reason, got, err, tt.want)
		}
		// quoteArg is SplitArgs's inverse.
		q := make([]string, len(tt.want))
		for i, a := range tt.want {
			q[i] = quoteArg(a)
		}
		if back, err := SplitArgs(strings.Join(q, " ")); err != nil || !cmp.Equal(back, tt.want) {
			t.Errorf("SplitArgs(quoted %q) = %q, %v", tt.want, back, err)
		}
	}
	for _, bad := range []string{"", "   ", `a 'b`, `a "b`, `a \`, `"a\"`} {
		if got, err := SplitArgs(bad); err == nil {
			t.Errorf("SplitArgs(%q) = %q, want an error", bad, got)
		}
	}
}
