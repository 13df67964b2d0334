// This file implements the counters that tests and campaigns read to report the work done.

package scalerprop

import "sync/atomic"

var runs, iterations atomic.Int64

// Counts returns the state-machine runs completed and the iterations they took, since the
// program started (for reports and the long test's figures).
func Counts() (int64, int64) { return runs.Load(), iterations.Load() }
