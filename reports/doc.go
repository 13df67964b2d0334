// Package reports holds ulpcheck's result model and writes it as JSON (for machines), Markdown
// (for review) and one self-contained HTML file with plots (for people). It also merges the
// reports of the shards of a campaign.
//
// The model. A Report records the harness version, the seed and the shard, each kernel's
// declaration (KernelInfo), and one Cell per (kernel, operation, format, property): cases run,
// failures by class, a histogram of ulp errors with the exact maximum, percentiles derived from
// the histogram, at most one counterexample per failure class, a bounded sample of
// (x_max − x_min, ulp error) points and the theoretical bound curve for the scatter plot.
//
// Determinism and merging. A campaign feeds Observations, each tagged with its global case index,
// into one Accumulator per worker; Merge combines the workers' reports, and later the shards'
// reports. Every part of a Cell merges exactly, commutatively and associatively:
//
//	Cases, Failures, ByClass, HarnessErrors   sums
//	MaxULP                                    maximum (NaN never wins)
//	Hist                                      bucketwise sums of a fixed bucket scheme
//	P50, P99                                  recomputed from the merged Hist
//	Examples                                  per class, the one with the smallest case index
//	Points                                    the 256 points with the smallest splitmix64(case),
//	                                          plus the 32 with the largest ulp error (ties: smaller case)
//
// so that merging the reports of any partition of the cases (workers, shards) gives exactly the
// report of a single run over all of them. Only Report.Timing differs between runs; WithoutTiming
// drops it for comparisons.
//
// Histogram. Ulp errors are counted exactly in fixed buckets: exactly 0; (0, 2^−20); then 16
// linear sub-buckets per octave [2^e, 2^(e+1)) for e in [−20, 64) (relative bucket width at most
// 1/16); [2^64, ∞); +Inf; NaN. P50 and P99 are nearest-rank percentiles reported as the upper
// edge of the bucket that holds them, clamped to MaxULP: upper bounds that are at most 6.25 %
// (relative) above the true percentile, and exact when it is 0 or the maximum.
//
// JSON. Schema "ulpcheck.report/v1" (reports/schema/report.v1.json). Field order is fixed, slices
// are sorted (kernels by name, cells by key, examples by class, points by case), maps are
// written with sorted keys, and floats are written in their shortest round-trip form, with
// "NaN", "+Inf" and "-Inf" as strings; so the bytes are a function of the seed and the case count.
//
// Special cases are:
//
//	an Observation with ULP = NaN            counted in Cases (and Failures), not in Hist or MaxULP
//	a Cell with no measured error            MaxULP, P50 and P99 are NaN ("NaN" in JSON)
//	an infinite ulp error (Inf for finite)   counted in Hist.Inf; MaxULP, P50 or P99 may be +Inf
package reports
