package external

import (
	"bytes"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// FuzzDecodeFrame feeds arbitrary bytes to the harness's side of the protocol: the framing
// layer, then every decoder. None may panic or allocate beyond the frame bound, and whatever
// decodes must re-encode to a message that decodes to the same value (bitwise).
func FuzzDecodeFrame(f *testing.F) {
	hello, _ := EncodeHello(sampleHello())
	req, _ := EncodeRequest(&Request{ID: 1, Op: kernels.OpCrossEntropy, In: fp.FP16, Out: fp.FP16, Rows: 2, Cols: 2,
		X: []float64{1, math.Inf(-1), 0, 65504}, Targets: []int64{1, -100}, Weights: []float64{1, 0.5}})
	resp, _ := EncodeResponse(&Response{ID: 1, Out: []float64{0.5, math.NaN()}}, fp.FP16)
	bad, _ := EncodeResponse(&Response{ID: 2, Status: StatusError, Message: "boom"}, fp.FP32)
	f.Add(frame(hello))
	f.Add(append(frame(req), frame(resp)...))
	f.Add(frame(bad))
	f.Add(header(1 << 40))
	f.Add([]byte("Traceback (most recent call last):\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			p, err := ReadFrame(r, 1<<16)
			if err != nil {
				return
			}
			if h, err := DecodeHello(p); err == nil {
				b, err := EncodeHello(h)
				if err != nil {
					t.Fatalf("decoded hello does not encode: %v", err)
				}
				h2, err := DecodeHello(b)
				if err != nil || !cmp.Equal(h, h2, bitwise) {
					t.Fatalf("hello round trip: %v\n%s", err, cmp.Diff(h, h2, bitwise))
				}
			}
			if q, err := DecodeRequest(p); err == nil {
				b, err := EncodeRequest(q)
				if err != nil {
					t.Fatalf("decoded request does not encode: %v", err)
				}
				if !bytes.Equal(b, p) {
					t.Fatalf("request re-encodes differently:\n%x\n%x", p, b)
				}
			}
			for _, ff := range fp.Formats() {
				if a, err := DecodeResponse(p, ff); err == nil {
					b, err := EncodeResponse(a, ff)
					if err != nil {
						t.Fatalf("decoded %s response does not encode: %v", ff, err)
					}
					if !bytes.Equal(b, p) {
						t.Fatalf("%s response re-encodes differently:\n%x\n%x", ff, p, b)
					}
				}
			}
		}
	})
}
