// This file implements reading and writing reports as JSON, and atomic file output.

package reports

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// WriteJSON writes r as JSON in schema Schema (v2: reports/schema/report.v2.json), followed by a
// newline. The bytes depend only on the report's content: see the package documentation.
func WriteJSON(w io.Writer, r *Report) error {
	c := *r
	c.Schema = Schema
	c.Kernels, c.Cells = slices.Clone(r.Kernels), slices.Clone(r.Cells)
	normalize(&c)
	return writeV2(w, &c)
}

// ReadJSON reads a report written by WriteJSON, in schema v2 (Schema) or v1 (SchemaV1). It
// refuses other schemas and unknown fields. A v1 report is migrated to the current model: its
// scatter sample is cut to the current sample sizes (a v1 sample holds the v2 one: the same
// selections, larger), so that v1 and v2 reports merge exactly; everything else carries over
// unchanged. The report returned has Schema = Schema.
func ReadJSON(rd io.Reader) (*Report, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("reports: %v", err)
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("reports: %v", err)
	}
	var r *Report
	switch head.Schema {
	case Schema:
		r, err = readV2(data)
	case SchemaV1:
		r, err = readV1(data)
	default:
		return nil, fmt.Errorf("reports: schema %q, want %q or %q", head.Schema, Schema, SchemaV1)
	}
	if err != nil {
		return nil, fmt.Errorf("reports: %s: %v", head.Schema, err)
	}
	r.Schema = Schema
	normalize(r)
	return r, nil
}

// readV1 reads a schema v1 report: the model's own JSON form (its field tags, and
// Histogram's and Float's JSON methods), with the v1 scatter sample cut to the current sizes.
func readV1(data []byte) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	for i := range r.Cells {
		r.Cells[i].Points = samplePoints(r.Cells[i].Points)
	}
	return &r, nil
}

// WriteFileAtomic writes a file through write into a temporary file in the same directory and
// renames it into place, so that readers never see a partial file.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// JSONSchema is the JSON Schema (draft 2020-12) of the reports WriteJSON writes
// (reports/schema/report.v2.json).
//
//go:embed schema/report.v2.json
var JSONSchema []byte

// JSONSchemaV1 is the JSON Schema of schema v1 (reports/schema/report.v1.json), which ReadJSON
// still reads.
//
//go:embed schema/report.v1.json
var JSONSchemaV1 []byte
