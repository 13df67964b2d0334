// This file implements the batched forms of LSE, Softmax and LogSoftmax: row-major rows×cols
// inputs, each row computed as the single-row function does.

package oracle

import (
	"fmt"

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
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	if err := checkShape("SoftmaxBatch", len(x), rows, cols); err != nil {
		return nil, err
	}
	out := make([]Value, len(x))
	for r := range rows {
		if err := softmaxRow(fi, x[r*cols:(r+1)*cols], pol, out[r*cols:(r+1)*cols]); err != nil {
			return nil, fmt.Errorf("row %d: %w", r, err)
		}
	}
	return out, nil
}

// LogSoftmaxBatch returns LogSoftmax of each row of the rows×cols row-major batch x, row-major,
// with LogSoftmax's special cases per row.
func LogSoftmaxBatch(f fp.Format, x []float64, rows, cols int, pol fp.MaskPolicy) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	if err := checkShape("LogSoftmaxBatch", len(x), rows, cols); err != nil {
		return nil, err
	}
	out := make([]Value, len(x))
	for r := range rows {
		if err := logSoftmaxRow(fi, x[r*cols:(r+1)*cols], pol, out[r*cols:(r+1)*cols]); err != nil {
			return nil, fmt.Errorf("row %d: %w", r, err)
		}
	}
	return out, nil
}
