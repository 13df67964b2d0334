// This file implements the JSON form of schema v2: the wire types and their conversion to and
// from the model.

package reports

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ulpcheck/ulpcheck/fp"
)

// Schema v2 writes what v1 wrote, without the repetition (see docs/report-schema.md):
//
//	the histogram's bucket scheme and the scatter sample's sizes     once, at the top
//	counts that are 0, empty maps and lists, NaN ulp statistics     omitted
//	a cell's points and bound curve                                 columns (one list per field)
//	a value of a counterexample (v1: hex, bits and decimal)         one JSON number, the shortest
//	                                                                decimal that reads back to the
//	                                                                float64; "+Inf", "-Inf", and
//	                                                                "NaN:<bits>"; hex and bits follow
//	                                                                from the format
//	an original case or Go test longer than longText bytes          {"deflate": base64 of raw
//	                                                                DEFLATE (RFC 1951)}
//
// and one cell per line. Every value reads back exactly: a Num that its format does not
// reproduce from its decimal is written as the v1 object.

// longText is the length beyond which an original case text or a Go test is written deflated.
const longText = 4096

type reportV2 struct {
	Schema  string            `json:"schema"`
	Version string            `json:"version"`
	Seed    uint64            `json:"seed"`
	Shard   Shard             `json:"shard"`
	Cases   int64             `json:"cases"`
	Config  map[string]string `json:"config,omitempty"`
	Hist    histSchemeV2      `json:"hist_scheme"`
	Sample  sampleSchemeV2    `json:"sample"`
	Kernels []KernelInfo      `json:"kernels"`
	Cells   []cellV2          `json:"cells"`
	Timing  *Timing           `json:"timing,omitempty"`
}

type histSchemeV2 struct {
	MinExp int `json:"min_exp"`
	MaxExp int `json:"max_exp"`
	Sub    int `json:"sub"`
}

type sampleSchemeV2 struct {
	Hash  int `json:"smallest_hash"`
	Worst int `json:"largest_ulp"`
}

type cellV2 struct {
	Kernel        string           `json:"kernel"`
	Op            string           `json:"op"`
	Format        string           `json:"format"`
	Property      string           `json:"property"`
	Cases         int64            `json:"cases"`
	Failures      int64            `json:"failures,omitempty"`
	HarnessErrors int64            `json:"harness_errors,omitempty"`
	ByClass       map[string]int64 `json:"by_class,omitempty"`
	Hist          *histV2          `json:"hist,omitempty"`
	MaxULP        *Float           `json:"max_ulp,omitempty"` // absent: NaN (nothing measured)
	P50           *Float           `json:"p50_ulp,omitempty"`
	P99           *Float           `json:"p99_ulp,omitempty"`
	Examples      []exampleV2      `json:"examples,omitempty"`
	Points        *pointsV2        `json:"points,omitempty"`
	BoundCurve    *curveV2         `json:"bound_curve,omitempty"`
}

type histV2 struct {
	Zero    int64      `json:"zero,omitempty"`
	Below   int64      `json:"below,omitempty"`
	Buckets [][2]int64 `json:"buckets,omitempty"`
	Above   int64      `json:"above,omitempty"`
	Inf     int64      `json:"inf,omitempty"`
	NaN     int64      `json:"nan,omitempty"`
}

type pointsV2 struct {
	Case   []int64 `json:"case"`
	N      []int   `json:"n"`
	XRange []Float `json:"x_range"`
	ULP    []Float `json:"ulp"`
	Bound  []Float `json:"bound"`
}

type curveV2 struct {
	X []Float `json:"x"`
	Y []Float `json:"y"`
}

type exampleV2 struct {
	Case        int64             `json:"case"`
	Class       string            `json:"class"`
	Property    string            `json:"property"`
	Message     string            `json:"message,omitempty"`
	Format      string            `json:"format"`
	Rows        int               `json:"rows"`
	Cols        int               `json:"cols"`
	X           []json.RawMessage `json:"x"`
	DY          []json.RawMessage `json:"dy,omitempty"`
	Targets     []int             `json:"targets,omitempty"`
	Probs       []json.RawMessage `json:"probs,omitempty"`
	Weights     []json.RawMessage `json:"weights,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
	OutFormat   string            `json:"out_format"`
	Output      []json.RawMessage `json:"output"`
	Oracle      []json.RawMessage `json:"oracle"`
	Index       int               `json:"index"`
	ULP         Float             `json:"ulp"`
	Bound       Float             `json:"bound"`
	Input       string            `json:"input,omitempty"`
	Original    json.RawMessage   `json:"original,omitempty"`
	ShrinkCalls int               `json:"shrink_calls,omitempty"`
	Replay      string            `json:"replay,omitempty"`
	GoTest      json.RawMessage   `json:"go_test,omitempty"`
	Worst       bool              `json:"worst,omitempty"`
}

// marshalCompact is json.Marshal without HTML escaping and without the trailing newline.
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeV2 writes a normalised report in schema v2: the top-level fields one per line, and each
// kernel and each cell compact on a line of its own.
func writeV2(w io.Writer, r *Report) error {
	var b bytes.Buffer
	field := func(name string, v any, last bool) error {
		j, err := marshalCompact(v)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "  %q: %s", name, j)
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
		return nil
	}
	list := func(name string, n int, item func(i int) (any, error), last bool) error {
		fmt.Fprintf(&b, "  %q: [", name)
		for i := 0; i < n; i++ {
			v, err := item(i)
			if err != nil {
				return err
			}
			j, err := marshalCompact(v)
			if err != nil {
				return err
			}
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n    ")
			b.Write(j)
		}
		if n > 0 {
			b.WriteString("\n  ")
		}
		b.WriteString("]")
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
		return nil
	}
	b.WriteString("{\n")
	var cfg map[string]string
	if len(r.Config) > 0 {
		cfg = r.Config
	}
	steps := []func() error{
		func() error { return field("schema", Schema, false) },
		func() error { return field("version", r.Version, false) },
		func() error { return field("seed", r.Seed, false) },
		func() error { return field("shard", r.Shard, false) },
		func() error { return field("cases", r.Cases, false) },
		func() error {
			if cfg == nil {
				return nil
			}
			return field("config", cfg, false)
		},
		func() error {
			return field("hist_scheme", histSchemeV2{HistMinExp, HistMaxExp, HistSub}, false)
		},
		func() error {
			return field("sample", sampleSchemeV2{SampleSmallestHash, SampleLargestULP}, false)
		},
		func() error {
			return list("kernels", len(r.Kernels), func(i int) (any, error) { return r.Kernels[i], nil }, false)
		},
		func() error {
			return list("cells", len(r.Cells), func(i int) (any, error) { return cellToV2(&r.Cells[i]) }, r.Timing == nil)
		},
		func() error {
			if r.Timing == nil {
				return nil
			}
			return field("timing", r.Timing, true)
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

func floatPtr(f Float) *Float {
	if math.IsNaN(float64(f)) {
		return nil
	}
	return &f
}

func cellToV2(c *Cell) (cellV2, error) {
	o := cellV2{Kernel: c.Kernel, Op: c.Op, Format: c.Format, Property: c.Property, Cases: c.Cases,
		Failures: c.Failures, HarnessErrors: c.HarnessErrors, MaxULP: floatPtr(c.MaxULP),
		P50: floatPtr(c.P50), P99: floatPtr(c.P99)}
	if len(c.ByClass) > 0 {
		o.ByClass = c.ByClass
	}
	h := c.Hist
	hv := histV2{Zero: h.Zero, Below: h.Below, Above: h.Above, Inf: h.Inf, NaN: h.NaN}
	for _, b := range h.sortedBuckets() {
		hv.Buckets = append(hv.Buckets, [2]int64{int64(b), h.Buckets[b]})
	}
	if hv.Zero != 0 || hv.Below != 0 || hv.Above != 0 || hv.Inf != 0 || hv.NaN != 0 || len(hv.Buckets) > 0 {
		o.Hist = &hv
	}
	for i := range c.Examples {
		e, err := exampleToV2(&c.Examples[i])
		if err != nil {
			return o, fmt.Errorf("cell %v: %w", c.Key, err)
		}
		o.Examples = append(o.Examples, e)
	}
	if len(c.Points) > 0 {
		p := &pointsV2{}
		for _, q := range c.Points {
			p.Case = append(p.Case, q.Case)
			p.N = append(p.N, q.N)
			p.XRange = append(p.XRange, q.XRange)
			p.ULP = append(p.ULP, q.ULP)
			p.Bound = append(p.Bound, q.Bound)
		}
		o.Points = p
	}
	if len(c.BoundCurve) > 0 {
		cv := &curveV2{}
		for _, q := range c.BoundCurve {
			cv.X = append(cv.X, q.X)
			cv.Y = append(cv.Y, q.Y)
		}
		o.BoundCurve = cv
	}
	return o, nil
}

func exampleToV2(e *Counterexample) (exampleV2, error) {
	in, inOK := exactFormat(e.Format)
	out, outOK := exactFormat(e.OutFormat)
	o := exampleV2{Case: e.Case, Class: e.Class, Property: e.Property, Message: e.Message, Format: e.Format,
		Rows: e.Rows, Cols: e.Cols, Targets: e.Targets, OutFormat: e.OutFormat, Index: e.Index, ULP: e.ULP,
		Bound: e.Bound, Input: e.Input, ShrinkCalls: e.ShrinkCalls, Replay: e.Replay, Worst: e.Worst}
	if len(e.Params) > 0 {
		o.Params = e.Params
	}
	var err error
	nums := func(f fp.Format, ok bool, ns []Num) []json.RawMessage {
		if ns == nil || err != nil {
			return nil
		}
		out := make([]json.RawMessage, len(ns))
		for i, n := range ns {
			out[i], err = numToV2(f, ok, n)
			if err != nil {
				return nil
			}
		}
		return out
	}
	o.X, o.DY, o.Probs, o.Weights = nums(in, inOK, e.X), nums(in, inOK, e.DY), nums(in, inOK, e.Probs), nums(in, inOK, e.Weights)
	o.Output, o.Oracle = nums(out, outOK, e.Output), nums(out, outOK, e.Oracle)
	if err != nil {
		return o, err
	}
	if o.Original, err = textToV2(e.Original); err != nil {
		return o, err
	}
	if o.GoTest, err = textToV2(e.GoTest); err != nil {
		return o, err
	}
	return o, nil
}

// exactFormat returns the format named name, as Format.String writes it.
func exactFormat(name string) (fp.Format, bool) {
	f, err := fp.ParseFormat(name)
	return f, err == nil && f.String() == name
}

// numToV2 writes n, a value of format f (when ok), in its short form when reading that form back
// gives n again, and as the v1 object otherwise.
func numToV2(f fp.Format, ok bool, n Num) (json.RawMessage, error) {
	if ok {
		var short []byte
		switch {
		case n.Hex == "NaN" && n.Dec == "NaN":
			short, _ = json.Marshal("NaN:" + n.Bits)
		case n.Dec == "+Inf" || n.Dec == "-Inf":
			short, _ = json.Marshal(n.Dec)
		default:
			short = []byte(n.Dec)
		}
		if back, err := numFromV2(f, true, short); err == nil && back == n {
			return short, nil
		}
	}
	return marshalCompact(n)
}

// numFromV2 reads a value written by numToV2.
func numFromV2(f fp.Format, ok bool, raw json.RawMessage) (Num, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var n struct{ Hex, Bits, Dec *string }
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&n); err != nil {
			return Num{}, err
		}
		if n.Hex == nil || n.Bits == nil || n.Dec == nil {
			return Num{}, fmt.Errorf("value %s without hex, bits and dec", raw)
		}
		return Num{Hex: *n.Hex, Bits: *n.Bits, Dec: *n.Dec}, nil
	}
	if !ok {
		return Num{}, fmt.Errorf("value %s of an unknown format", raw)
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Num{}, err
		}
		switch {
		case s == "+Inf":
			return NewNum(f, math.Inf(1)), nil
		case s == "-Inf":
			return NewNum(f, math.Inf(-1)), nil
		case strings.HasPrefix(s, "NaN:"):
			return Num{Hex: "NaN", Bits: s[len("NaN:"):], Dec: "NaN"}, nil
		}
		return Num{}, fmt.Errorf("bad value %q", s)
	}
	x, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return Num{}, fmt.Errorf("bad value %s", raw)
	}
	return NewNum(f, x), nil
}

type deflatedV2 struct {
	Deflate string `json:"deflate"`
}

// textToV2 writes s as a JSON string, or deflated when it is longer than longText bytes.
func textToV2(s string) (json.RawMessage, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) <= longText {
		return marshalCompact(s)
	}
	var b bytes.Buffer
	zw, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write([]byte(s)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return marshalCompact(deflatedV2{base64.StdEncoding.EncodeToString(b.Bytes())})
}

// maxText bounds an inflated text, so that a crafted report cannot exhaust memory.
const maxText = 64 << 20

// textFromV2 reads a text written by textToV2.
func textFromV2(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var d deflatedV2
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return "", fmt.Errorf("text: %v", err)
	}
	z, err := base64.StdEncoding.DecodeString(d.Deflate)
	if err != nil {
		return "", fmt.Errorf("deflated text: %v", err)
	}
	b, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), maxText+1))
	if err != nil {
		return "", fmt.Errorf("deflated text: %v", err)
	}
	if len(b) > maxText {
		return "", fmt.Errorf("deflated text longer than %d bytes", maxText)
	}
	return string(b), nil
}

// readV2 reads a schema v2 report.
func readV2(data []byte) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w reportV2
	if err := dec.Decode(&w); err != nil {
		return nil, err
	}
	if w.Hist != (histSchemeV2{HistMinExp, HistMaxExp, HistSub}) {
		return nil, fmt.Errorf("histogram scheme (%d, %d, %d), want (%d, %d, %d)",
			w.Hist.MinExp, w.Hist.MaxExp, w.Hist.Sub, HistMinExp, HistMaxExp, HistSub)
	}
	if w.Sample != (sampleSchemeV2{SampleSmallestHash, SampleLargestULP}) {
		return nil, fmt.Errorf("scatter sample (%d, %d), want (%d, %d)",
			w.Sample.Hash, w.Sample.Worst, SampleSmallestHash, SampleLargestULP)
	}
	r := &Report{Schema: w.Schema, Version: w.Version, Seed: w.Seed, Shard: w.Shard, Cases: w.Cases,
		Config: w.Config, Kernels: w.Kernels, Timing: w.Timing}
	for i := range w.Cells {
		c, err := cellFromV2(&w.Cells[i])
		if err != nil {
			return nil, fmt.Errorf("cell %d: %v", i, err)
		}
		r.Cells = append(r.Cells, c)
	}
	return r, nil
}

func unFloat(f *Float) Float {
	if f == nil {
		return Float(math.NaN())
	}
	return *f
}

func cellFromV2(w *cellV2) (Cell, error) {
	c := Cell{Key: Key{Kernel: w.Kernel, Op: w.Op, Format: w.Format, Property: w.Property}, Cases: w.Cases,
		Failures: w.Failures, HarnessErrors: w.HarnessErrors, ByClass: w.ByClass, MaxULP: unFloat(w.MaxULP),
		P50: unFloat(w.P50), P99: unFloat(w.P99)}
	if w.Hist != nil {
		h := w.Hist
		c.Hist = Histogram{Zero: h.Zero, Below: h.Below, Above: h.Above, Inf: h.Inf, NaN: h.NaN}
		if h.Zero < 0 || h.Below < 0 || h.Above < 0 || h.Inf < 0 || h.NaN < 0 {
			return c, fmt.Errorf("negative histogram count")
		}
		maxB := int64(HistSub * (HistMaxExp - HistMinExp))
		for _, p := range h.Buckets {
			if p[0] < 0 || p[0] >= maxB || p[1] < 0 {
				return c, fmt.Errorf("bad histogram bucket %v", p)
			}
			if c.Hist.Buckets == nil {
				c.Hist.Buckets = map[int]int64{}
			}
			c.Hist.Buckets[int(p[0])] += p[1]
		}
	}
	for i := range w.Examples {
		e, err := exampleFromV2(&w.Examples[i])
		if err != nil {
			return c, fmt.Errorf("example %d: %v", i, err)
		}
		c.Examples = append(c.Examples, e)
	}
	if p := w.Points; p != nil {
		n := len(p.Case)
		if len(p.N) != n || len(p.XRange) != n || len(p.ULP) != n || len(p.Bound) != n {
			return c, fmt.Errorf("point columns of different lengths")
		}
		for i := range n {
			c.Points = append(c.Points, Point{Case: p.Case[i], N: p.N[i], XRange: p.XRange[i], ULP: p.ULP[i], Bound: p.Bound[i]})
		}
	}
	if cv := w.BoundCurve; cv != nil {
		if len(cv.X) != len(cv.Y) {
			return c, fmt.Errorf("bound curve columns of different lengths")
		}
		for i := range cv.X {
			c.BoundCurve = append(c.BoundCurve, XY{X: cv.X[i], Y: cv.Y[i]})
		}
	}
	return c, nil
}

func exampleFromV2(w *exampleV2) (Counterexample, error) {
	in, inOK := exactFormat(w.Format)
	out, outOK := exactFormat(w.OutFormat)
	e := Counterexample{Case: w.Case, Class: w.Class, Property: w.Property, Message: w.Message, Format: w.Format,
		Rows: w.Rows, Cols: w.Cols, Targets: w.Targets, Params: w.Params, OutFormat: w.OutFormat, Index: w.Index,
		ULP: w.ULP, Bound: w.Bound, Input: w.Input, ShrinkCalls: w.ShrinkCalls, Replay: w.Replay, Worst: w.Worst}
	var err error
	nums := func(f fp.Format, ok bool, raw []json.RawMessage, name string) []Num {
		if raw == nil || err != nil {
			return nil
		}
		ns := make([]Num, len(raw))
		for i, r := range raw {
			if ns[i], err = numFromV2(f, ok, r); err != nil {
				err = fmt.Errorf("%s[%d]: %v", name, i, err)
				return nil
			}
		}
		return ns
	}
	e.X, e.DY = nums(in, inOK, w.X, "x"), nums(in, inOK, w.DY, "dy")
	e.Probs, e.Weights = nums(in, inOK, w.Probs, "probs"), nums(in, inOK, w.Weights, "weights")
	e.Output, e.Oracle = nums(out, outOK, w.Output, "output"), nums(out, outOK, w.Oracle, "oracle")
	if err != nil {
		return e, err
	}
	if e.Original, err = textFromV2(w.Original); err != nil {
		return e, fmt.Errorf("original: %v", err)
	}
	if e.GoTest, err = textFromV2(w.GoTest); err != nil {
		return e, fmt.Errorf("go_test: %v", err)
	}
	return e, nil
}
