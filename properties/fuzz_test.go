// This file holds the native fuzz targets, one per bundled kernel (generated from
// kernels.Bundled(); keep it in step when a kernel is added).

package properties_test

// Each target runs the same properties as Check, driven by the fuzzer's bytes through
// rapid.MakeFuzz. Run one with
//
//	go test ./properties -run '^$' -fuzz '^FuzzSoftmaxShiftedFP32$' -fuzztime 60s
//
// Without -fuzz, go test runs each target's committed seed corpus (testdata/fuzz) as a test.
// The deliberately broken kernels' targets run only under -fuzz (they must fail).

import (
	"flag"
	"testing"

	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
)

func fuzzKernel(f *testing.F, name string) {
	k, ok := kernels.Lookup(name)
	if !ok {
		f.Fatalf("no bundled kernel %q", name)
	}
	if k.Broken != "" {
		if fl := flag.Lookup("test.fuzz"); fl == nil || fl.Value.String() == "" {
			f.Skipf("%s is deliberately broken (%s): fuzz it with -fuzz", name, k.Broken)
		}
	}
	f.Add(make([]byte, 8)) // the simplest case: every draw zero
	f.Fuzz(properties.Fuzz(k))
}

func FuzzCEFusedBF16(f *testing.F) { fuzzKernel(f, "ce/fused/bf16") }

func FuzzCEFusedFP16(f *testing.F) { fuzzKernel(f, "ce/fused/fp16") }

func FuzzCEFusedFP32(f *testing.F) { fuzzKernel(f, "ce/fused/fp32") }

func FuzzCEFusedFP64(f *testing.F) { fuzzKernel(f, "ce/fused/fp64") }

func FuzzCEFusedProbBF16(f *testing.F) { fuzzKernel(f, "ce/fusedprob/bf16") }

func FuzzCEFusedProbFP16(f *testing.F) { fuzzKernel(f, "ce/fusedprob/fp16") }

func FuzzCEFusedProbFP32(f *testing.F) { fuzzKernel(f, "ce/fusedprob/fp32") }

func FuzzCEFusedProbFP64(f *testing.F) { fuzzKernel(f, "ce/fusedprob/fp64") }

func FuzzCEGradProbBF16(f *testing.F) { fuzzKernel(f, "cegrad/prob/bf16") }

func FuzzCEGradProbFP16(f *testing.F) { fuzzKernel(f, "cegrad/prob/fp16") }

func FuzzCEGradProbFP32(f *testing.F) { fuzzKernel(f, "cegrad/prob/fp32") }

func FuzzCEGradProbFP64(f *testing.F) { fuzzKernel(f, "cegrad/prob/fp64") }

func FuzzCEGradBF16(f *testing.F) { fuzzKernel(f, "cegrad/bf16") }

func FuzzCEGradFP16(f *testing.F) { fuzzKernel(f, "cegrad/fp16") }

func FuzzCEGradFP32(f *testing.F) { fuzzKernel(f, "cegrad/fp32") }

func FuzzCEGradFP64(f *testing.F) { fuzzKernel(f, "cegrad/fp64") }

func FuzzLogSoftmaxShiftedBF16(f *testing.F) { fuzzKernel(f, "logsoftmax/shifted/bf16") }

func FuzzLogSoftmaxShiftedFP16(f *testing.F) { fuzzKernel(f, "logsoftmax/shifted/fp16") }

func FuzzLogSoftmaxShiftedFP32(f *testing.F) { fuzzKernel(f, "logsoftmax/shifted/fp32") }

func FuzzLogSoftmaxShiftedFP64(f *testing.F) { fuzzKernel(f, "logsoftmax/shifted/fp64") }

func FuzzLSEShiftedBF16(f *testing.F) { fuzzKernel(f, "lse/shifted/bf16") }

func FuzzLSEShiftedFP16(f *testing.F) { fuzzKernel(f, "lse/shifted/fp16") }

func FuzzLSEShiftedFP32(f *testing.F) { fuzzKernel(f, "lse/shifted/fp32") }

func FuzzLSEShiftedFP64(f *testing.F) { fuzzKernel(f, "lse/shifted/fp64") }

func FuzzSoftmaxFP16AccFP16(f *testing.F) { fuzzKernel(f, "softmax/fp16acc/fp16") }

func FuzzSoftmaxNaiveBF16(f *testing.F) { fuzzKernel(f, "softmax/naive/bf16") }

func FuzzSoftmaxNaiveFP16(f *testing.F) { fuzzKernel(f, "softmax/naive/fp16") }

func FuzzSoftmaxNaiveFP32(f *testing.F) { fuzzKernel(f, "softmax/naive/fp32") }

func FuzzSoftmaxNaiveFP64(f *testing.F) { fuzzKernel(f, "softmax/naive/fp64") }

func FuzzSoftmaxOnlineBF16(f *testing.F) { fuzzKernel(f, "softmax/online/bf16") }

func FuzzSoftmaxOnlineFP16(f *testing.F) { fuzzKernel(f, "softmax/online/fp16") }

func FuzzSoftmaxOnlineFP32(f *testing.F) { fuzzKernel(f, "softmax/online/fp32") }

func FuzzSoftmaxOnlineFP64(f *testing.F) { fuzzKernel(f, "softmax/online/fp64") }

func FuzzSoftmaxShiftedBF16(f *testing.F) { fuzzKernel(f, "softmax/shifted/bf16") }

func FuzzSoftmaxShiftedFP16(f *testing.F) { fuzzKernel(f, "softmax/shifted/fp16") }

func FuzzSoftmaxShiftedFP32(f *testing.F) { fuzzKernel(f, "softmax/shifted/fp32") }

func FuzzSoftmaxShiftedFP64(f *testing.F) { fuzzKernel(f, "softmax/shifted/fp64") }

func FuzzSoftmaxBwdBF16(f *testing.F) { fuzzKernel(f, "softmaxbwd/bf16") }

func FuzzSoftmaxBwdFP16(f *testing.F) { fuzzKernel(f, "softmaxbwd/fp16") }

func FuzzSoftmaxBwdFP32(f *testing.F) { fuzzKernel(f, "softmaxbwd/fp32") }

func FuzzSoftmaxBwdFP64(f *testing.F) { fuzzKernel(f, "softmaxbwd/fp64") }

// The two-class operations (docs/sigmoid.md).

func FuzzSoftplusStableBF16(f *testing.F) { fuzzKernel(f, "softplus/stable/bf16") }

func FuzzSoftplusStableFP16(f *testing.F) { fuzzKernel(f, "softplus/stable/fp16") }

func FuzzSoftplusStableFP32(f *testing.F) { fuzzKernel(f, "softplus/stable/fp32") }

func FuzzSoftplusStableFP64(f *testing.F) { fuzzKernel(f, "softplus/stable/fp64") }

func FuzzSoftplusNaiveBF16(f *testing.F) { fuzzKernel(f, "softplus/naive/bf16") }

func FuzzSoftplusNaiveFP16(f *testing.F) { fuzzKernel(f, "softplus/naive/fp16") }

func FuzzSoftplusNaiveFP32(f *testing.F) { fuzzKernel(f, "softplus/naive/fp32") }

func FuzzSoftplusNaiveFP64(f *testing.F) { fuzzKernel(f, "softplus/naive/fp64") }

func FuzzLogSigmoidStableBF16(f *testing.F) { fuzzKernel(f, "logsigmoid/stable/bf16") }

func FuzzLogSigmoidStableFP16(f *testing.F) { fuzzKernel(f, "logsigmoid/stable/fp16") }

func FuzzLogSigmoidStableFP32(f *testing.F) { fuzzKernel(f, "logsigmoid/stable/fp32") }

func FuzzLogSigmoidStableFP64(f *testing.F) { fuzzKernel(f, "logsigmoid/stable/fp64") }

func FuzzLogSigmoidNaiveBF16(f *testing.F) { fuzzKernel(f, "logsigmoid/naive/bf16") }

func FuzzLogSigmoidNaiveFP16(f *testing.F) { fuzzKernel(f, "logsigmoid/naive/fp16") }

func FuzzLogSigmoidNaiveFP32(f *testing.F) { fuzzKernel(f, "logsigmoid/naive/fp32") }

func FuzzLogSigmoidNaiveFP64(f *testing.F) { fuzzKernel(f, "logsigmoid/naive/fp64") }

func FuzzSigmoidStableBF16(f *testing.F) { fuzzKernel(f, "sigmoid/stable/bf16") }

func FuzzSigmoidStableFP16(f *testing.F) { fuzzKernel(f, "sigmoid/stable/fp16") }

func FuzzSigmoidStableFP32(f *testing.F) { fuzzKernel(f, "sigmoid/stable/fp32") }

func FuzzSigmoidStableFP64(f *testing.F) { fuzzKernel(f, "sigmoid/stable/fp64") }

func FuzzSigmoidGradStableBF16(f *testing.F) { fuzzKernel(f, "sigmoidgrad/stable/bf16") }

func FuzzSigmoidGradStableFP16(f *testing.F) { fuzzKernel(f, "sigmoidgrad/stable/fp16") }

func FuzzSigmoidGradStableFP32(f *testing.F) { fuzzKernel(f, "sigmoidgrad/stable/fp32") }

func FuzzSigmoidGradStableFP64(f *testing.F) { fuzzKernel(f, "sigmoidgrad/stable/fp64") }

func FuzzBCEStableBF16(f *testing.F) { fuzzKernel(f, "bce/stable/bf16") }

func FuzzBCEStableFP16(f *testing.F) { fuzzKernel(f, "bce/stable/fp16") }

func FuzzBCEStableFP32(f *testing.F) { fuzzKernel(f, "bce/stable/fp32") }

func FuzzBCEStableFP64(f *testing.F) { fuzzKernel(f, "bce/stable/fp64") }

func FuzzBCENaiveBF16(f *testing.F) { fuzzKernel(f, "bce/naive/bf16") }

func FuzzBCENaiveFP16(f *testing.F) { fuzzKernel(f, "bce/naive/fp16") }

func FuzzBCENaiveFP32(f *testing.F) { fuzzKernel(f, "bce/naive/fp32") }

func FuzzBCENaiveFP64(f *testing.F) { fuzzKernel(f, "bce/naive/fp64") }

func FuzzBCEGradStableBF16(f *testing.F) { fuzzKernel(f, "bcegrad/stable/bf16") }

func FuzzBCEGradStableFP16(f *testing.F) { fuzzKernel(f, "bcegrad/stable/fp16") }

func FuzzBCEGradStableFP32(f *testing.F) { fuzzKernel(f, "bcegrad/stable/fp32") }

func FuzzBCEGradStableFP64(f *testing.F) { fuzzKernel(f, "bcegrad/stable/fp64") }

// The gradient-norm operations (docs/gradnorm.md).

func FuzzClipNormBlueBF16(f *testing.F) { fuzzKernel(f, "clipnorm/blue/bf16") }

func FuzzClipNormBlueFP16(f *testing.F) { fuzzKernel(f, "clipnorm/blue/fp16") }

func FuzzClipNormBlueFP32(f *testing.F) { fuzzKernel(f, "clipnorm/blue/fp32") }

func FuzzClipNormBlueFP64(f *testing.F) { fuzzKernel(f, "clipnorm/blue/fp64") }

func FuzzClipNormScaledFP16(f *testing.F) { fuzzKernel(f, "clipnorm/scaled/fp16") }

func FuzzClipValueClampBF16(f *testing.F) { fuzzKernel(f, "clipvalue/clamp/bf16") }

func FuzzClipValueClampFP16(f *testing.F) { fuzzKernel(f, "clipvalue/clamp/fp16") }

func FuzzClipValueClampFP32(f *testing.F) { fuzzKernel(f, "clipvalue/clamp/fp32") }

func FuzzClipValueClampFP64(f *testing.F) { fuzzKernel(f, "clipvalue/clamp/fp64") }

func FuzzGradNormBlueBF16(f *testing.F) { fuzzKernel(f, "gradnorm/blue/bf16") }

func FuzzGradNormBlueFP16(f *testing.F) { fuzzKernel(f, "gradnorm/blue/fp16") }

func FuzzGradNormBlueFP32(f *testing.F) { fuzzKernel(f, "gradnorm/blue/fp32") }

func FuzzGradNormBlueFP64(f *testing.F) { fuzzKernel(f, "gradnorm/blue/fp64") }

func FuzzGradNormFP32AccBF16(f *testing.F) { fuzzKernel(f, "gradnorm/fp32acc/bf16") }

func FuzzGradNormFP32AccFP16(f *testing.F) { fuzzKernel(f, "gradnorm/fp32acc/fp16") }

func FuzzGradNormNaiveFP16(f *testing.F) { fuzzKernel(f, "gradnorm/naive/fp16") }
