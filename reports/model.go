// This file implements the result model.

package reports

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
)

// Schema is the value of Report.Schema for this version of the model, and the schema WriteJSON
// writes.
const Schema = "ulpcheck.report/v2"

// SchemaV1 is the first schema, which ReadJSON still reads (docs/report-schema.md: migration).
// The field tags of the model's types, and the JSON methods of Histogram and Float, are its form.
const SchemaV1 = "ulpcheck.report/v1"

// A Report is the result of a campaign, of one of its shards, or of a merge.
type Report struct {
	Schema  string            `json:"schema"`           // always Schema
	Version string            `json:"version"`          // the harness version
	Seed    uint64            `json:"seed"`             // the campaign seed
	Shard   Shard             `json:"shard"`            // which shards' cases this report covers
	Cases   int64             `json:"cases"`            // generated cases (each checked by several properties)
	Config  map[string]string `json:"config,omitempty"` // campaign settings other than the shard, for replay
	Kernels []KernelInfo      `json:"kernels"`          // sorted by Name
	Cells   []Cell            `json:"cells"`            // sorted by Key
	Timing  *Timing           `json:"timing,omitempty"` // wall-clock times: the only non-deterministic field
}

// A Shard says which of N deterministic shards of a campaign's cases a report covers. An
// unsharded run, and the merge of all N shards, is {N: 1, I: [0]}.
type Shard struct {
	N int   `json:"n"`
	I []int `json:"i"` // ascending
}

// Unsharded is the Shard of a run over all the cases.
func Unsharded() Shard { return Shard{N: 1, I: []int{0}} }

// Timing holds the wall-clock bounds of a run (merge: earliest start, latest finish).
type Timing struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// KernelInfo is a kernel's declaration as the report records it (the kernels package's
// declaration, flattened to strings so that reports do not depend on it).
type KernelInfo struct {
	Name        string `json:"name"`
	Op          string `json:"op"`               // operation: softmax, log-softmax, lse, cross-entropy, …
	In          string `json:"in"`               // input format
	Out         string `json:"out"`              // output format
	Acc         string `json:"acc,omitempty"`    // accumulation format, when declared
	Algorithm   string `json:"algorithm"`        // algorithm class used by the tolerance model
	MaskPolicy  string `json:"mask_policy"`      // fully-masked-row policy (fp.MaskPolicy's name)
	Saturating  bool   `json:"saturating"`       // overflow gives ±max instead of ±Inf/NaN
	FlushToZero bool   `json:"flush_to_zero"`    // subnormal results flushed to zero
	ExpectFail  bool   `json:"expect_fail"`      // a deliberately faulty kernel (the failures are the point)
	Notes       string `json:"notes,omitempty"`  // free text
	Source      string `json:"source,omitempty"` // "go", "external: <command>", …
}

// A Key identifies a Cell. Cells sort by Kernel, then Op, Format and Property.
type Key struct {
	Kernel   string `json:"kernel"`
	Op       string `json:"op"`
	Format   string `json:"format"`
	Property string `json:"property"`
}

// Compare orders keys field by field.
func (k Key) Compare(o Key) int {
	return cmp.Or(cmp.Compare(k.Kernel, o.Kernel), cmp.Compare(k.Op, o.Op),
		cmp.Compare(k.Format, o.Format), cmp.Compare(k.Property, o.Property))
}

func (k Key) String() string {
	return k.Kernel + " · " + k.Op + " · " + k.Format + " · " + k.Property
}

// A Cell is the result of one property on one kernel, operation and format.
type Cell struct {
	Key
	Cases         int64            `json:"cases"`          // observations (cases checked)
	Failures      int64            `json:"failures"`       // of which failed
	HarnessErrors int64            `json:"harness_errors"` // cases the harness could not judge (oracle cap, …)
	ByClass       map[string]int64 `json:"by_class"`       // failures per class
	Hist          Histogram        `json:"hist"`           // ulp errors of the measured cases
	MaxULP        Float            `json:"max_ulp"`        // exact maximum of the measured ulp errors
	P50           Float            `json:"p50_ulp"`        // from Hist (upper bound, see the package doc)
	P99           Float            `json:"p99_ulp"`        // from Hist
	Examples      []Counterexample `json:"examples"`       // per class the smallest case index, plus the largest ulp error (Worst); sorted by class
	Points        []Point          `json:"points"`         // scatter sample, sorted by case
	BoundCurve    []XY             `json:"bound_curve"`    // the theoretical bound (ulps) against x_max − x_min
}

// First returns the counterexample with the smallest case index, or nil.
func (c *Cell) First() *Counterexample {
	var f *Counterexample
	for i := range c.Examples {
		if f == nil || c.Examples[i].Case < f.Case {
			f = &c.Examples[i]
		}
	}
	return f
}

// A Point is one case of a scatter plot.
type Point struct {
	Case   int64 `json:"case"`    // global case index
	N      int   `json:"n"`       // row length
	XRange Float `json:"x_range"` // x_max − x_min over the finite entries of the row
	ULP    Float `json:"ulp"`     // the case's worst ulp error
	Bound  Float `json:"bound"`   // the case's tolerance in ulps (NaN when not applicable)
}

// XY is a point of a curve.
type XY struct {
	X Float `json:"x"`
	Y Float `json:"y"`
}

// A Counterexample is a (minimal) failing case with everything needed to understand and replay it.
type Counterexample struct {
	Case        int64             `json:"case"`  // global case index of the original failure
	Class       string            `json:"class"` // NUMERICS §10, as the properties package names it ("overflow", "precision loss", …)
	Property    string            `json:"property"`
	Message     string            `json:"message"`
	Format      string            `json:"format"` // input format
	Rows        int               `json:"rows"`
	Cols        int               `json:"cols"`
	X           []Num             `json:"x"`
	DY          []Num             `json:"dy,omitempty"`
	Targets     []int             `json:"targets,omitempty"`
	Probs       []Num             `json:"probs,omitempty"`
	Weights     []Num             `json:"weights,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
	OutFormat   string            `json:"out_format"`
	Output      []Num             `json:"output"`          // the kernel's output
	Oracle      []Num             `json:"oracle"`          // the correctly rounded exact output
	Index       int               `json:"index"`           // the worst output element, −1 when not applicable
	ULP         Float             `json:"ulp"`             // its ulp error
	Bound       Float             `json:"bound"`           // the tolerance it broke, in ulps (NaN when not applicable)
	Input       string            `json:"input"`           // canonical case text (shrinking.Case.String)
	Original    string            `json:"original"`        // the case text before shrinking ("" when not shrunk)
	ShrinkCalls int               `json:"shrink_calls"`    // predicate calls the shrinker made
	Replay      string            `json:"replay"`          // a command that replays Input
	GoTest      string            `json:"go_test"`         // a Go test that reproduces it ("" when not generated)
	Worst       bool              `json:"worst,omitempty"` // the cell's failing case with the largest ulp error, not the first of its class
}

// Num is one floating-point value written three ways: exact hex (Go's %x of the float64, which
// Go and C read back exactly), the bit pattern in its format, and the shortest decimal that
// reads back to the same float64.
type Num struct {
	Hex  string `json:"hex"`
	Bits string `json:"bits"`
	Dec  string `json:"dec"`
}

// NewNum returns x written as a Num of format f. x must be a value of f (NaN and ±Inf included,
// where f has them); other values get Bits "".
func NewNum(f fp.Format, x float64) Num {
	n := Num{Hex: strconv.FormatFloat(x, 'x', -1, 64), Dec: strconv.FormatFloat(x, 'g', -1, 64)}
	if math.IsNaN(x) {
		n.Hex, n.Dec = "NaN", "NaN"
	} else if math.IsInf(x, 0) {
		n.Hex = n.Dec
	}
	if b, err := f.EncodeChecked(x); err == nil {
		n.Bits = fmt.Sprintf("0x%0*x", (f.Width()+3)/4, b)
	}
	return n
}

// NewNums applies NewNum to each value of xs; nil gives nil.
func NewNums(f fp.Format, xs []float64) []Num {
	if xs == nil {
		return nil
	}
	out := make([]Num, len(xs))
	for i, x := range xs {
		out[i] = NewNum(f, x)
	}
	return out
}

// Float is a float64 that JSON encodes in its shortest round-trip decimal form, and NaN, +Inf
// and −Inf as the strings "NaN", "+Inf" and "-Inf".
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return []byte(`"NaN"`), nil
	case math.IsInf(x, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "NaN":
			*f = Float(math.NaN())
		case "+Inf":
			*f = Float(math.Inf(1))
		case "-Inf":
			*f = Float(math.Inf(-1))
		default:
			return fmt.Errorf("reports: bad float %q", s)
		}
		return nil
	}
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("reports: bad float %s", b)
	}
	*f = Float(x)
	return nil
}

// WithoutTiming returns a shallow copy of r with Timing removed, for comparisons.
func (r *Report) WithoutTiming() *Report {
	c := *r
	c.Timing = nil
	return &c
}

// Title is how writers name the example: its class, and "largest error" for the Worst one.
func (e *Counterexample) Title() string {
	if e.Worst {
		return e.Class + ", largest error"
	}
	return e.Class
}

// eachExample calls fn for every counterexample of r in report order, first telling it whether
// this is the first one (for a section heading), and returns how many there were.
func (r *Report) eachExample(fn func(first bool, cl *Cell, ex *Counterexample)) int {
	n := 0
	for i := range r.Cells {
		cl := &r.Cells[i]
		for j := range cl.Examples {
			fn(n == 0, cl, &cl.Examples[j])
			n++
		}
	}
	return n
}
