// This file implements the bounded buffer that keeps the tail of a child's stderr.

package external

import "sync"

// ring keeps the last limit bytes written to it and counts all of them.
type ring struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	total int64
}

func newRing(limit int) *ring { return &ring{limit: limit} }

// Write never fails, so that the copying goroutine drains the pipe whatever the child writes.
func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total += int64(len(p))
	if len(p) >= r.limit {
		r.buf = append(r.buf[:0], p[len(p)-r.limit:]...)
		return len(p), nil
	}
	if over := len(r.buf) + len(p) - r.limit; over > 0 {
		r.buf = append(r.buf[:0], r.buf[over:]...)
	}
	r.buf = append(r.buf, p...)
	return len(p), nil
}

// Tail returns the bytes kept and the total count written.
func (r *ring) Tail() (string, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.buf), r.total
}
