// This file implements the entry points: CaseGen, Check and Fuzz.

package properties

import (
	"context"
	"testing"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// CaseGen returns a generator of the cases that apply to k: rows and batches for softmax,
// log-softmax and LSE, batches with an upstream gradient for softmax backward, cross-entropy
// batches with the kernel's target kind and a supported reduction for cross-entropy and its
// gradient; all in the kernel's input format.
func CaseGen(k *kernels.Kernel, opts ...Option) *rapid.Generator[generators.Case] {
	return caseGen(k, newConfig(opts))
}

func caseGen(k *kernels.Kernel, cfg *config) *rapid.Generator[generators.Case] {
	f, g := k.In, cfg.genOpts
	if kernels.IsElementwise(k.Op) {
		return elementwiseGen(k, g)
	}
	if kernels.IsGradNorm(k.Op) {
		return generators.GradLists(f, g...)
	}
	switch k.Op {
	case kernels.OpSoftmaxBackward:
		return generators.Backward(f, g...).Generator
	case kernels.OpCrossEntropy, kernels.OpCrossEntropyGrad:
		return generators.CrossEntropy(f, g...).Filter(func(c generators.Case) bool {
			return applies(k, c) == ""
		})
	}
	return rapid.OneOf(generators.Row(f, g...).Generator, generators.Batch(f, g...).Generator)
}

// property is the one rapid property every entry point runs.
func property(k *kernels.Kernel, cfg *config) func(*rapid.T) {
	gen := caseGen(k, cfg)
	return func(t *rapid.T) {
		c := gen.Draw(t, "case")
		v := evaluate(context.Background(), k, c, cfg)
		if !v.OK() {
			if cfg.onFail != nil {
				cfg.onFail(v)
			}
			t.Fatal(v.Report())
		}
	}
}

// Check runs every applicable property of k on cases drawn by CaseGen, through rapid.Check:
// -rapid.checks sets the number of cases (default 100; under -short a fifth, and rows of at most
// ShortMaxLen elements), -rapid.seed and
// the fail files rapid writes under testdata/rapid replay a failure, and a failure is shrunk to a
// minimal case and reported with its verdict (Verdict.Report).
func Check(t rapid.TB, k *kernels.Kernel, opts ...Option) {
	t.Helper()
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, property(k, newConfig(shortOpts(opts))))
}

// Fuzz returns the function for testing.F.Fuzz that runs the same properties on cases decoded
// from the fuzzer's bytes (rapid.MakeFuzz):
//
//	func FuzzMySoftmax(f *testing.F) { f.Fuzz(properties.Fuzz(k)) }
func Fuzz(k *kernels.Kernel, opts ...Option) func(*testing.T, []byte) {
	return rapid.MakeFuzz(property(k, newConfig(opts)))
}

// ShortMaxLen is the longest row Check draws under -short (the generators' MaxLen); options
// passed to Check override it.
const ShortMaxLen = 256

func shortOpts(opts []Option) []Option {
	if !testing.Short() {
		return opts
	}
	return append([]Option{WithGenerators(generators.MaxLen(ShortMaxLen))}, opts...)
}
