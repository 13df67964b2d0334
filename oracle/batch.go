// This file implements the batched forms of LSE, Softmax and LogSoftmax: row-major rows×cols
// inputs, each row computed as the single-row function does.

package oracle

import (
	"fmt"
	"slices"

	"github.com/ulpcheck/ulpcheck/fp"
)

// checkShape returns an error unless x holds rows×cols values.
func checkShape(op string, n, rows, cols int) error {
	if rows < 0 || cols < 0 || (cols > 0 && rows > maxInt/cols) || rows*cols != n {
		return fmt.Errorf("oracle: %s: %d values for a %d×%d batch", op, n, rows, cols)
	}
	return nil
}

const maxInt = int(^uint(0) >> 1)

// LSEBatch returns LSE of each row of the rows×cols row-major batch x (one Value per row), with
// LSE's special cases per row (a row of length 0 gives −Inf).
func LSEBatch(f fp.Format, x []float64, rows, cols int) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	if err := checkShape("LSEBatch", len(x), rows, cols); err != nil {
		return nil, err
	}
	out := make([]Value, rows)
	t := make([]float64, cols)
	for r := range rows {
		if err := lseRow(fi, x[r*cols:(r+1)*cols], out[r:r+1], t); err != nil {
			return nil, fmt.Errorf("row %d: %w", r, err)
		}
	}
	return out, nil
}

// SoftmaxBatch returns Softmax of each row of the rows×cols row-major batch x, row-major, with
// Softmax's special cases per row.
func SoftmaxBatch(f fp.Format, x []float64, rows, cols int, pol fp.MaskPolicy) ([]Value, error) {
	return appendBatch(nil, "SoftmaxBatch", f, x, rows, cols, pol, softmaxRow)
}

// AppendSoftmaxBatch appends SoftmaxBatch(f, x, rows, cols, pol) to dst and returns the extended
// slice, reusing dst's capacity (a harness judging case after case allocates no results). On an
// error dst is returned as it was.
func AppendSoftmaxBatch(dst []Value, f fp.Format, x []float64, rows, cols int, pol fp.MaskPolicy) ([]Value, error) {
	return appendBatch(dst, "SoftmaxBatch", f, x, rows, cols, pol, softmaxRow)
}

// LogSoftmaxBatch returns LogSoftmax of each row of the rows×cols row-major batch x, row-major,
// with LogSoftmax's special cases per row.
func LogSoftmaxBatch(f fp.Format, x []float64, rows, cols int, pol fp.MaskPolicy) ([]Value, error) {
	return appendBatch(nil, "LogSoftmaxBatch", f, x, rows, cols, pol, logSoftmaxRow)
}

// AppendLogSoftmaxBatch appends LogSoftmaxBatch(f, x, rows, cols, pol) to dst as
// AppendSoftmaxBatch does.
func AppendLogSoftmaxBatch(dst []Value, f fp.Format, x []float64, rows, cols int, pol fp.MaskPolicy) ([]Value, error) {
	return appendBatch(dst, "LogSoftmaxBatch", f, x, rows, cols, pol, logSoftmaxRow)
}

// appendBatch appends row's results for each row of the batch x to dst.
func appendBatch(dst []Value, op string, f fp.Format, x []float64, rows, cols int, pol fp.MaskPolicy,
	row func(*fmtInfo, []float64, fp.MaskPolicy, []Value) error) ([]Value, error) {
	fi, err := getFmtInfo(f)
	if err != nil {
		return dst, err
	}
	defer putFmtInfo(fi)
	if err := checkShape(op, len(x), rows, cols); err != nil {
		return dst, err
	}
	n := len(dst)
	out := slices.Grow(dst, len(x))[:n+len(x)]
	clear(out[n:]) // the row functions start from zero Values, as make gives them
	for r := range rows {
		if err := row(fi, x[r*cols:(r+1)*cols], pol, out[n+r*cols:n+(r+1)*cols]); err != nil {
			return dst, fmt.Errorf("row %d: %w", r, err)
		}
	}
	return out, nil
}
