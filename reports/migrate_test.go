package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ulpcheck/ulpcheck/fp"
)

// sameFloatOpt treats NaN as equal to NaN, as the report's JSON does.
var sameFloatOpt = cmp.Comparer(func(a, b Float) bool { return a == b || a != a && b != b })

// readFixture reads testdata/v1/<name>.json (schema v1, written by the v1 code) with ReadJSON, and
// also decodes it raw into the model (the model's field tags are the v1 form).
func readFixture(t *testing.T, name string) (migrated, raw *Report) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v1", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"schema": "`+SchemaV1+`"`)) {
		t.Fatalf("testdata/v1/%s.json is not a v1 report", name)
	}
	migrated, err = ReadJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("testdata/v1/%s.json: %v", name, err)
	}
	raw = &Report{}
	if err := json.Unmarshal(b, raw); err != nil {
		t.Fatal(err)
	}
	return migrated, raw
}

func roundTrip(t *testing.T, r *Report) (*Report, []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("reading back the v2 JSON: %v\n%s", err, b.Bytes())
	}
	return back, b.Bytes()
}

// TestReadV1 reads the v1 fixtures: every field carries over unchanged except the scatter sample,
// which is cut to the v2 sizes: a subset of the v1 sample holding its SampleLargestULP largest
// errors, and SampleSmallestHash points besides them when the v1 sample has that many.
func TestReadV1(t *testing.T) {
	m, raw := readFixture(t, "whole")
	if m.Schema != Schema {
		t.Errorf("migrated schema %q, want %q", m.Schema, Schema)
	}
	if len(m.Cells) != len(raw.Cells) || len(raw.Cells) == 0 || len(m.Kernels) != 4 {
		t.Fatalf("%d cells (v1 file: %d), %d kernels; want all cells and the 4 kernels", len(m.Cells), len(raw.Cells), len(m.Kernels))
	}
	examples, sampled := 0, 0
	for i := range m.Cells {
		got, want := m.Cells[i], raw.Cells[i]
		examples += len(got.Examples)
		if len(want.Points) > len(got.Points) {
			sampled++
		}
		if len(got.Points) > SampleSmallestHash+SampleLargestULP {
			t.Errorf("%v: %d points, want at most %d", got.Key, len(got.Points), SampleSmallestHash+SampleLargestULP)
		}
		inV1 := map[int64]Point{}
		for _, p := range want.Points {
			inV1[p.Case] = p
		}
		for _, p := range got.Points {
			if q, ok := inV1[p.Case]; !ok || !cmp.Equal(p, q, sameFloatOpt) {
				t.Errorf("%v: point %+v is not the v1 sample's", got.Key, p)
			}
		}
		byULP := slices.Clone(want.Points)
		slices.SortStableFunc(byULP, func(a, b Point) int { return cmpFloat(float64(b.ULP), float64(a.ULP)) })
		for j := 0; j < len(byULP) && j < SampleLargestULP; j++ {
			if !slices.ContainsFunc(got.Points, func(p Point) bool { return p.ULP >= byULP[j].ULP }) {
				t.Errorf("%v: the sample lost the error %v, one of the %d largest", got.Key, float64(byULP[j].ULP), SampleLargestULP)
			}
		}
		if n := min(len(want.Points), SampleSmallestHash); len(got.Points) < n {
			t.Errorf("%v: %d points of a v1 sample of %d, want at least %d", got.Key, len(got.Points), len(want.Points), n)
		}
		got.Points, want.Points = nil, nil
		if diff := cmp.Diff(want, got, sameFloatOpt); diff != "" {
			t.Errorf("%v differs from the v1 file (-v1 +migrated):\n%s", got.Key, diff)
		}
	}
	if examples == 0 || sampled == 0 {
		t.Errorf("the fixture has %d examples and %d cells whose sample is cut: it must exercise both", examples, sampled)
	}
	raw.Cells, m.Cells, raw.Schema, m.Schema = nil, nil, "", ""
	if diff := cmp.Diff(raw, m, sameFloatOpt); diff != "" {
		t.Errorf("report fields differ from the v1 file (-v1 +migrated):\n%s", diff)
	}
}

// TestMergeV1AndV2 merges the v1 fixtures' shards as v1, as v2 (migrated and written again) and
// mixed: each merge must equal the unsharded v1 report, read and migrated.
func TestMergeV1AndV2(t *testing.T) {
	whole, _ := readFixture(t, "whole")
	s0, _ := readFixture(t, "s0")
	s1, _ := readFixture(t, "s1")
	s0v2, _ := roundTrip(t, s0)
	s1v2, _ := roundTrip(t, s1)
	want := jsonBytes(t, whole)
	for _, tc := range []struct {
		name string
		rs   []*Report
	}{
		{"v1 + v1", []*Report{s0, s1}},
		{"v2 + v2", []*Report{s1v2, s0v2}},
		{"v2 + v1", []*Report{s0v2, s1}},
		{"v1 + v2", []*Report{s1, s0v2}},
	} {
		m, err := Merge(tc.rs...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := jsonBytes(t, m); !bytes.Equal(got, want) {
			t.Errorf("%s: the merged shards differ from the unsharded report (-unsharded +merged):\n%s", tc.name, cmp.Diff(string(want), string(got)))
		}
	}
}

// TestJSONRoundTripLossless: reading back the v2 JSON of a report gives the same report, for the
// migrated fixture, the synthetic campaign, and a hand-made report with every special value:
// ±0, subnormals, ±Inf, NaNs with their bit patterns, a value outside its format, values of an
// unknown format, Nums that their format does not reproduce, long texts and empty fields.
func TestJSONRoundTripLossless(t *testing.T) {
	fixture, _ := readFixture(t, "whole")
	synth, err := synthRun(3, 700, 0, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	synth.Timing = &Timing{Started: time.Unix(5, 0).UTC(), Finished: time.Unix(65, 0).UTC()}
	f16, f32 := fp.FP16, fp.FP32
	long := strings.Repeat("x=3c00,", longText/7+10)
	nanNeg := Num{Hex: "NaN", Bits: "0xfe00", Dec: "NaN"}
	odd := []Num{
		{Hex: "0x1p+00", Bits: "0x3c00", Dec: "1.0"},   // a decimal that is not the shortest
		{Hex: "0x1.8p+00", Bits: "0x3c00", Dec: "1.5"}, // bits that disagree with the value
		{Hex: "NaN", Bits: "0x7e00 ", Dec: "NaN"},      // bits that are not a pattern
		{Hex: "", Bits: "", Dec: ""},                   // empty
		NewNum(f16, 0x1p-30),                           // not an fp16 value: no bits
		NewNum(f16, 1),                                 // canonical, for contrast
	}
	ex := Counterexample{Case: 9, Class: "nan", Property: "no-nan", Format: "fp16", Rows: 1, Cols: 7,
		X: []Num{NewNum(f16, 0), NewNum(f16, math.Copysign(0, -1)), NewNum(f16, f16.MinSubnormal()),
			NewNum(f16, math.Inf(1)), NewNum(f16, math.Inf(-1)), NewNum(f16, math.NaN()), nanNeg},
		DY: odd, Targets: []int{0, -100}, Probs: []Num{}, Params: map[string]string{"k": "v"},
		OutFormat: "fp32", Output: []Num{NewNum(f32, 0x1.fffffep+127), NewNum(f32, -0x1p-149)},
		Oracle: []Num{NewNum(f32, 1)}, Index: -1, ULP: Float(math.NaN()), Bound: Float(math.Inf(1)),
		Input: "v1;fmt=fp16;shape=1x7", Original: long, ShrinkCalls: 3, Replay: "go run …", GoTest: long + "}\n"}
	other := ex
	other.Class, other.Format, other.OutFormat, other.Worst, other.Original = "overflow", "fp99", "", true, ""
	other.X = []Num{{Hex: "0x1p+00", Bits: "0x3c00", Dec: "1"}, nanNeg}
	other.Output, other.Oracle, other.GoTest = nil, []Num{}, "short"
	hand := &Report{Schema: Schema, Version: "t", Seed: 1, Shard: Shard{N: 2, I: []int{1}}, Cases: 3,
		Kernels: []KernelInfo{{Name: "k", Op: "softmax", In: "fp16", Out: "fp32", Notes: "<&>"}},
		Cells: []Cell{
			{Key: Key{"k", "softmax", "fp16", "accuracy"}, Cases: 3, Failures: 2, HarnessErrors: 1,
				ByClass: map[string]int64{"nan": 1, "overflow": 1},
				Hist:    Histogram{Zero: 1, Below: 2, Buckets: map[int]int64{0: 1, 1343: 4}, Above: 5, Inf: 6, NaN: 7},
				MaxULP:  Float(math.Inf(1)), Examples: []Counterexample{ex, other},
				Points: []Point{{Case: 0, N: 7, XRange: Float(math.Inf(1)), ULP: 0, Bound: Float(math.NaN())},
					{Case: 2, N: 1, XRange: 0.1, ULP: Float(math.Inf(1)), Bound: 3}},
				BoundCurve: []XY{{X: 0, Y: 0.5}, {X: Float(math.Inf(1)), Y: Float(math.NaN())}}},
			{Key: Key{"k", "softmax", "fp16", "no-nan"}, Cases: 3, MaxULP: Float(math.NaN())},
		}}
	for _, tc := range []struct {
		name string
		r    *Report
	}{{"migrated v1 fixture", fixture}, {"synthetic campaign", synth}, {"hand-made", hand}} {
		want := *tc.r
		want.Kernels, want.Cells = slices.Clone(tc.r.Kernels), slices.Clone(tc.r.Cells)
		normalize(&want)
		back, b := roundTrip(t, tc.r)
		if diff := cmp.Diff(&want, back, sameFloatOpt); diff != "" {
			t.Errorf("%s: the v2 round trip changes the report (-before +after):\n%s", tc.name, diff)
		}
		_, again := roundTrip(t, back)
		if !bytes.Equal(b, again) {
			t.Errorf("%s: writing the report read back gives other bytes", tc.name)
		}
		if tc.name == "hand-made" {
			for _, s := range []string{`"deflate":`, `"NaN:0xfe00"`, `"NaN:0x7e00"`, `"-Inf"`, `-0,`, `"dec":"1.0"`} {
				if !bytes.Contains(b, []byte(s)) {
					t.Errorf("hand-made report: no %s in its JSON, the test misses a case:\n%s", s, b)
				}
			}
		}
	}
}

// TestReadJSONRejects: damaged v2 reports are errors, never panics or silently wrong reports.
func TestReadJSONRejects(t *testing.T) {
	r, err := synthRun(4, 200, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	r.Cells[0].Examples[0].GoTest = strings.Repeat("y", 2*longText)
	_, good := roundTrip(t, r)
	for _, tc := range []struct {
		old, new string
		reason   string
	}{
		{`"sub":16`, `"sub":8`, "another histogram scheme"},
		{`"smallest_hash":64`, `"smallest_hash":256`, "another sample size"},
		{`"points":{"case":[`, `"points":{"case":[123456789,`, "point columns of different lengths"},
		{`"x":[`, `"x":["12",`, "a value as a string"},
		{`"x":[`, `"x":[{"hex":"1"},`, "a value object without all its fields"},
		{`"deflate":"`, `"deflate":"!!`, "deflated text not base64"},
		{`"deflate":"`, `"deflate":"AAAA`, "deflated text not DEFLATE"},
		{`"buckets":[[`, `"buckets":[[-1,1],[`, "negative bucket index"},
		{`"kernel":`, `"colour":"red","kernel":`, "unknown cell field"},
	} {
		bad := strings.Replace(string(good), tc.old, tc.new, 1)
		if bad == string(good) {
			t.Fatalf("%s: %q not in the report", tc.reason, tc.old)
		}
		if _, err := ReadJSON(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: ReadJSON accepted the report", tc.reason)
		}
	}
}
