// Package thirdparty adapts softmax, log-softmax and log-sum-exp implementations from
// third-party pure-Go libraries to ulpcheck's kernels.Kernel so that the harness can test code
// nobody in this project wrote.
//
// It is a separate Go module (github.com/ulpcheck/ulpcheck/examples/thirdparty) so that the main
// module does not depend on these libraries. Each adapter declares honestly what the library
// does: storage and accumulation formats, algorithm class (NUMERICS §3) and the fully-masked-row
// policy (NUMERICS §5) that its code implies. A declaration never hides a defect: where the code
// accumulates in the storage format, the adapter says so, and the finding stands on its own.
//
// Libraries and versions (pinned in go.mod):
//
//	gonum.org/v1/gonum v0.17.0               floats.LogSumExp                 fp64
//	github.com/nlpodyssey/spago v1.1.0       mat.Dense.Softmax, ag.LogSoftmax, ag.LogSumExp   fp32, fp64
//	gorgonia.org/tensor v0.9.24              tensor.SoftMax, tensor.LogSoftMax (last axis)     fp32, fp64
//	gorgonia.org/gorgonia v0.9.18            gorgonia.LogSumExp (graph op, tape machine)       fp64
//	github.com/gomlx/gomlx v0.26.0           graph.Softmax, graph.LogSoftmax on the pure-Go
//	                                         simplego backend                                  fp32, fp64, bf16
//
// go.mod also raises go4.org/unsafe/assume-no-moving-gc (pulled in by gorgonia) to a version that
// does not panic at init under Go 1.26.
//
// The findings these adapters expose are asserted by the TestFinding_* tests of this module and
// listed, with their minimal counterexamples, in the README's "Findings" table.
package thirdparty
