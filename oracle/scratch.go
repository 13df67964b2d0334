// This file implements the pooled float64 scratch of the fast path: one slice per row of the
// shifted exponentials, reused across rows and goroutines instead of allocated (and, for long
// rows, cleared and faulted in) per call.

package oracle

import "sync"

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
