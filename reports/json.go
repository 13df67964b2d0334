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

// WriteJSON writes r as indented JSON (schema Schema) followed by a newline. The bytes depend only
// on the report's content: see the package documentation.
func WriteJSON(w io.Writer, r *Report) error {
	c := *r
	c.Schema = Schema
	c.Kernels, c.Cells = slices.Clone(r.Kernels), slices.Clone(r.Cells)
	normalize(&c)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// ReadJSON reads a report written by WriteJSON. It refuses another schema and unknown fields.
func ReadJSON(rd io.Reader) (*Report, error) {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("reports: %v", err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("reports: schema %q, want %q", r.Schema, Schema)
	}
	normalize(&r)
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
// (reports/schema/report.v1.json).
//
//go:embed schema/report.v1.json
var JSONSchema []byte
