// Package shrinking minimises a failing case at the level of the domain, after rapid's own
// shrinking of the draw stream: it drops rows and columns by delta debugging, then simplifies the
// remaining values inside their floating-point format, keeping the failure's class unchanged.
//
// The case representation, Case, holds rows of logits and the optional companions of the
// operations ulpcheck tests (upstream gradients, class or probability targets, class weights,
// opaque options). Every float in a Case is a value of the case's fp.Format, and Minimize keeps it
// so: candidates are produced by operations on the format's encodings (never by rounding).
//
// Method. Minimize runs, until nothing changes or the predicate-call budget is spent:
//
//  1. on a case of 16 or more rows (columns): the shortest failing prefix, then suffix, of its
//     rows (columns) by bisection on the length, O(log n) calls for what ddmin needs O(n) for;
//  2. each value that occurs more than once in a field, moved toward 0 at all its places at once
//     (as in step 4), so that a long row of few distinct values becomes one of fewer;
//  3. ddmin (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input", IEEE TSE
//     28(2), 2002) over the rows, then over the columns (a column carries its class weight; a
//     candidate that would drop a row's target column is not tried; targets are renumbered);
//     chunks are tried on their own only down to eighths, complements down to single items;
//  4. for each value, in the order X, DY, Probs, Weights: the candidates 0, |v|, trunc(v), v with
//     fewer significand bits (truncated toward 0), v·2^−k, and finally a binary search on the
//     magnitude encoding between 0 and |v|; each accepted step moves the value strictly toward 0
//     in the format's order (or makes it positive), so the pass terminates;
//  5. targets toward class 0.
//
// The value passes stop while enough of the budget is left for one more removal pass over the
// current shape (two calls per row and column), so that a long case whose values could not all
// be simplified is still 1-minimal under removal.
//
// A candidate is accepted when the predicate reports a failure of the same class as the
// original. The result is 1-minimal with respect to these steps: removing any one row or column,
// or moving any one value to the next value of the format toward 0, makes the failure disappear
// or change class — unless Stats.Exhausted reports that the budget ran out first. Predicate
// results are cached by the case's canonical text, and Minimize draws no random numbers, so it is
// deterministic for a deterministic predicate.
//
// Special cases are:
//
//	NaN and ±Inf inputs are kept unless replacing them by 0 keeps the failure's class
//	−0 is simpler than any nonzero value and less simple than +0
//	Targets < 0 (ignore_index) are kept as they are
//
// Output. Case.String gives the canonical, exact text form of a case (format bit patterns in
// hex) that ParseCase reads back; ReplayCommand wraps it in a `cmd/fuzz replay` command line and
// GoTest renders a gofmt-formatted Go test that reproduces the case against the kernel.
package shrinking
