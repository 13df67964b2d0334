package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestJSONDeterministic: the same seed and cases give the same bytes however the cases were
// spread over workers, and a report read back writes the same bytes again; timing is the only
// field that changes between runs.
func TestJSONDeterministic(t *testing.T) {
	a, err := synthRun(5, 500, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := synthRun(5, 500, 0, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	b.Timing = &Timing{Started: time.Unix(1e9, 0).UTC(), Finished: time.Unix(1e9+60, 0).UTC()}
	ja, jb := jsonBytes(t, a), jsonBytes(t, b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("1 and 3 workers give different JSON")
	}
	var full bytes.Buffer
	if err := WriteJSON(&full, b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(full.Bytes(), []byte(`"timing"`)) {
		t.Error("timing not written")
	}
	back, err := ReadJSON(bytes.NewReader(full.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteJSON(&again, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(full.Bytes(), again.Bytes()) {
		t.Errorf("read-write round trip changes the JSON")
	}
	if !bytes.Contains(ja, []byte(`"+Inf"`)) || !bytes.Contains(ja, []byte(`"NaN:0x`)) {
		t.Errorf("expected +Inf floats and NaN values in the synthetic report")
	}
	c, err := synthRun(6, 500, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(jsonBytes(t, c), ja) {
		t.Error("seeds 5 and 6 give the same report")
	}
	if _, err := ReadJSON(strings.NewReader(`{"schema":"ulpcheck.report/v3"}`)); err == nil {
		t.Error("ReadJSON accepted another schema")
	}
}

func TestFloatJSON(t *testing.T) {
	for _, x := range []float64{0, math.Copysign(0, -1), 0.1, 1e300, 5e-324, math.Inf(1), math.Inf(-1), math.NaN(), 0x1.63p+03} {
		b, err := json.Marshal(Float(x))
		if err != nil {
			t.Fatal(err)
		}
		var y Float
		if err := json.Unmarshal(b, &y); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if math.Float64bits(float64(y)) != math.Float64bits(x) && !(math.IsNaN(x) && math.IsNaN(float64(y))) {
			t.Errorf("Float %v (%#x) → %s → %v (%#x)", x, math.Float64bits(x), b, y, math.Float64bits(float64(y)))
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	if err := WriteFileAtomic(p, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, func(w io.Writer) error { w.Write([]byte("partial")); return fmt.Errorf("boom") }); err == nil {
		t.Fatal("error from write not returned")
	}
	b, _ := os.ReadFile(p)
	ents, _ := os.ReadDir(dir)
	if string(b) != "x" || len(ents) != 1 {
		t.Errorf("after a failed write: content %q, %d files; want the old content and no temporary file", b, len(ents))
	}
}

// TestJSONSchema validates the JSON of a report against the committed JSON Schema
// (reports/schema/report.v2.json) with a small validator of the keywords it uses, checks that the
// validator rejects documents that break the schema, and validates the v1 fixtures against the
// v1 schema.
func TestJSONSchema(t *testing.T) {
	schemaOf := func(name string, embedded []byte) map[string]any {
		t.Helper()
		var schema map[string]any
		if err := json.Unmarshal(embedded, &schema); err != nil {
			t.Fatal(err)
		}
		disk, err := os.ReadFile(filepath.Join("schema", name))
		if err != nil || !bytes.Equal(disk, embedded) {
			t.Fatalf("embedded schema differs from schema/%s (%v)", name, err)
		}
		return schema
	}
	schema := schemaOf("report.v2.json", JSONSchema)
	r, err := synthRun(9, 400, 0, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	r.Timing = &Timing{Started: time.Unix(0, 0).UTC(), Finished: time.Unix(1, 0).UTC()}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	v := validator{root: schema}
	if errs := v.validate(schema, doc, "$"); len(errs) > 0 {
		t.Fatalf("report does not match the schema:\n%s", strings.Join(errs, "\n"))
	}
	// Mutations that the schema must reject (so that the validation above can fail).
	example := func(m map[string]any) map[string]any {
		return cell(m)["examples"].([]any)[0].(map[string]any)
	}
	mutations := []struct {
		mut    func(m map[string]any)
		reason string
	}{
		{func(m map[string]any) { delete(m, "seed") }, "missing required field"},
		{func(m map[string]any) { m["extra"] = 1 }, "unknown top-level field"},
		{func(m map[string]any) { m["schema"] = "ulpcheck.report/v1" }, "wrong schema const"},
		{func(m map[string]any) { cell(m)["max_ulp"] = "big" }, "float neither number nor NaN/Inf string"},
		{func(m map[string]any) { delete(cell(m), "cases") }, "cell without its case count"},
		{func(m map[string]any) { cell(m)["hist"].(map[string]any)["min_exp"] = -20.0 }, "bucket scheme inside a cell"},
		{func(m map[string]any) { m["hist_scheme"].(map[string]any)["sub"] = 8.0 }, "another bucket scheme"},
		{func(m map[string]any) { m["sample"].(map[string]any)["smallest_hash"] = 256.0 }, "another sample size"},
		{func(m map[string]any) { cell(m)["points"].(map[string]any)["ulp"] = []any{"huge"} }, "bad point column"},
		{func(m map[string]any) { example(m)["x"].([]any)[0] = "12.5" }, "a value as a decimal string"},
		{func(m map[string]any) { example(m)["output"].([]any)[0] = "NaN:7e00" }, "a NaN without 0x bits"},
		{func(m map[string]any) {
			example(m)["x"].([]any)[0] = map[string]any{"hex": "0x1p+00", "bits": "3c 00", "dec": "1"}
		}, "bad bit pattern"},
		{func(m map[string]any) { example(m)["go_test"] = map[string]any{"gzip": "AAAA"} }, "a text neither string nor deflated"},
	}
	for _, mu := range mutations {
		var d map[string]any
		json.Unmarshal(buf.Bytes(), &d)
		mu.mut(d)
		if errs := v.validate(schema, d, "$"); len(errs) == 0 {
			t.Errorf("%s: the schema accepts the mutated document", mu.reason)
		}
	}
	// The v1 fixtures match the v1 schema.
	v1 := schemaOf("report.v1.json", JSONSchemaV1)
	for _, name := range []string{"whole", "s0", "s1"} {
		b, err := os.ReadFile(filepath.Join("testdata", "v1", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var d any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if errs := (validator{root: v1}).validate(v1, d, "$"); len(errs) > 0 {
			t.Errorf("testdata/v1/%s.json does not match the v1 schema:\n%s", name, strings.Join(errs, "\n"))
		}
	}
}

// cell returns the first cell with an example of a decoded report.
func cell(m map[string]any) map[string]any {
	for _, c := range m["cells"].([]any) {
		if ex, _ := c.(map[string]any)["examples"].([]any); len(ex) > 0 {
			return c.(map[string]any)
		}
	}
	panic("no cell with examples")
}

// validator implements the JSON Schema keywords the report schema uses: $ref (local), type,
// const, enum, anyOf, properties, required, additionalProperties, items, minItems, maxItems,
// minimum, pattern.
type validator struct{ root map[string]any }

func (v validator) validate(s map[string]any, x any, path string) (errs []string) {
	fail := func(f string, a ...any) { errs = append(errs, path+": "+fmt.Sprintf(f, a...)) }
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		def, ok := v.root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			fail("unresolved $ref %s", ref)
			return
		}
		return v.validate(def, x, path)
	}
	if t, ok := s["type"].(string); ok && !hasType(t, x) {
		fail("type %T, want %s", x, t)
		return
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(x) {
		fail("%v, want const %v", x, c)
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, a := range e {
			found = found || a == x
		}
		if !found {
			fail("%v not in %v", x, e)
		}
	}
	if alts, ok := s["anyOf"].([]any); ok {
		matched := false
		for _, sub := range alts {
			matched = matched || len(v.validate(sub.(map[string]any), x, path)) == 0
		}
		if !matched {
			fail("%v matches none of anyOf", x)
		}
	}
	if min, ok := s["minimum"].(float64); ok {
		if n, isNum := x.(float64); isNum && n < min {
			fail("%v below minimum %v", n, min)
		}
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := x.(string); isStr && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
	}
	if m, isObj := x.(map[string]any); isObj {
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				fail("missing required %q", r)
			}
		}
		for k, val := range m {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, v.validate(ps, val, path+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("unexpected field %q", k)
				}
			case map[string]any:
				errs = append(errs, v.validate(ap, val, path+"."+k)...)
			}
		}
	}
	if a, isArr := x.([]any); isArr {
		if n, ok := s["minItems"].(float64); ok && float64(len(a)) < n {
			fail("%d items, want at least %v", len(a), n)
		}
		if n, ok := s["maxItems"].(float64); ok && float64(len(a)) > n {
			fail("%d items, want at most %v", len(a), n)
		}
		if it, ok := s["items"].(map[string]any); ok {
			for i, e := range a {
				errs = append(errs, v.validate(it, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return errs
}

func asList(x any) []any {
	l, _ := x.([]any)
	return l
}

func hasType(t string, x any) bool {
	switch t {
	case "object":
		_, ok := x.(map[string]any)
		return ok
	case "array":
		_, ok := x.([]any)
		return ok
	case "string":
		_, ok := x.(string)
		return ok
	case "boolean":
		_, ok := x.(bool)
		return ok
	case "null":
		return x == nil
	case "number":
		_, ok := x.(float64)
		return ok
	case "integer":
		n, ok := x.(float64)
		return ok && n == math.Trunc(n)
	}
	return false
}
