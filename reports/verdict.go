// This file implements the verdict: the one-line outcome every writer leads with.

package reports

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// A Verdict is the outcome of a report in the terms a reader wants first: did a kernel fail that
// was not declared broken, which ones failed as declared, how many are clean.
type Verdict struct {
	Unexpected  []string // kernels not declared broken with a failing cell, sorted
	Expected    []string // kernels declared broken (ExpectFail) with a failing cell, sorted
	Unconfirmed []string // kernels declared broken without any failure, sorted
	Clean       int      // kernels without failures (Unconfirmed included)
	Cases       int64
	Seed        uint64
	Duration    time.Duration // 0 when the report has no Timing
	Interrupted bool          // Config["interrupted"] == "true"
}

// Verdict computes r's verdict.
func (r *Report) Verdict() Verdict {
	v := Verdict{Cases: r.Cases, Seed: r.Seed, Interrupted: r.Config["interrupted"] == "true"}
	if r.Timing != nil {
		v.Duration = r.Timing.Finished.Sub(r.Timing.Started)
	}
	failing := map[string]bool{}
	seen := map[string]bool{}
	for i := range r.Cells {
		seen[r.Cells[i].Kernel] = true
		if r.Cells[i].Failures > 0 {
			failing[r.Cells[i].Kernel] = true
		}
	}
	expect := map[string]bool{}
	for _, k := range r.Kernels {
		expect[k.Name] = k.ExpectFail
		seen[k.Name] = true
	}
	for _, name := range sortedKeys(seen) {
		switch {
		case failing[name] && expect[name]:
			v.Expected = append(v.Expected, name)
		case failing[name]:
			v.Unexpected = append(v.Unexpected, name)
		default:
			v.Clean++
			if expect[name] {
				v.Unconfirmed = append(v.Unconfirmed, name)
			}
		}
	}
	return v
}

// OK reports whether no kernel failed unexpectedly.
func (v Verdict) OK() bool { return len(v.Unexpected) == 0 }

// Line is the verdict in one line, for instance
//
//	FAIL: 1 kernel failed unexpectedly (softmax/x/fp16) · 5 failed as declared · 35 clean · 20500 cases · seed 1 · 30.8 s
func (v Verdict) Line() string {
	var b strings.Builder
	switch {
	case v.Interrupted && v.OK():
		b.WriteString("INTERRUPTED: no unexpected failure in the cases completed")
	case v.Interrupted:
		fmt.Fprintf(&b, "INTERRUPTED, FAIL: %s failed unexpectedly (%s)", plural(len(v.Unexpected), "kernel"), list(v.Unexpected, 3))
	case v.OK():
		b.WriteString("PASS: no unexpected failure")
	default:
		fmt.Fprintf(&b, "FAIL: %s failed unexpectedly (%s)", plural(len(v.Unexpected), "kernel"), list(v.Unexpected, 3))
	}
	fmt.Fprintf(&b, " · %d failed as declared · %d clean · %d cases · seed %d", len(v.Expected), v.Clean, v.Cases, v.Seed)
	if v.Duration > 0 {
		fmt.Fprintf(&b, " · %.1f s", v.Duration.Seconds())
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func list(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + fmt.Sprintf(", … %d more", len(names)-max)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A Finding is one counterexample with its cell, in the order readers want: unexpected
// failures first, then the declared ones; within each, by key.
type Finding struct {
	Cell       *Cell
	Example    *Counterexample
	Unexpected bool // the kernel is not declared broken
}

// Findings returns r's counterexamples, unexpected ones first. The pointers point into r.
func (r *Report) Findings() []Finding {
	expect := map[string]bool{}
	for _, k := range r.Kernels {
		expect[k.Name] = k.ExpectFail
	}
	var un, ex []Finding
	for i := range r.Cells {
		cl := &r.Cells[i]
		for j := range cl.Examples {
			f := Finding{Cell: cl, Example: &cl.Examples[j], Unexpected: !expect[cl.Kernel]}
			if f.Unexpected {
				un = append(un, f)
			} else {
				ex = append(ex, f)
			}
		}
	}
	return append(un, ex...)
}
