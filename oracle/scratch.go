// This file implements the pooled scratch of the oracle: the float64 slice of a row's shifted
// exponentials in the fast path, reused across rows and goroutines instead of allocated (and, for
// long rows, cleared and faulted in) per call, and the fmtInfo of the batch functions.

package oracle

import (
	"sync"

	"github.com/ulpcheck/ulpcheck/fp"
)

var f64Pool sync.Pool // of *[]float64

// getF64 returns a slice of length n from the pool (contents unspecified: fastSum writes every
// element) and the handle to give back to putF64 when the caller no longer uses it.
func getF64(n int) (*[]float64, []float64) {
	p, _ := f64Pool.Get().(*[]float64)
	if p == nil || cap(*p) < n {
		s := make([]float64, n)
		p = &s
	}
	return p, (*p)[:n]
}

// putF64 gives a slice from getF64 back to the pool.
func putF64(p *[]float64) { f64Pool.Put(p) }

var fmtPool sync.Pool // of *fmtInfo

// getFmtInfo is newFmtInfo on a fmtInfo from the pool (its float64Of scratch kept); give it
// back with putFmtInfo when the call that uses it returns. No Value refers to it.
func getFmtInfo(f fp.Format) (*fmtInfo, error) {
	fi, _ := fmtPool.Get().(*fmtInfo)
	if fi == nil {
		return newFmtInfo(f)
	}
	if err := fi.init(f); err != nil {
		fmtPool.Put(fi)
		return nil, err
	}
	return fi, nil
}

func putFmtInfo(fi *fmtInfo) { fmtPool.Put(fi) }
