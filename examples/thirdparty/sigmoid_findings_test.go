package thirdparty

import (
	"testing"

	"github.com/ulpcheck/ulpcheck/properties"
)

// sigmoidFindings are the confirmed defects of the Go libraries' two-class operations
// (sigmoid.go), with the same contract as findings: the defect reproduces, the oracle's
// correctly rounded value equals the hand value (hand_check.py), and the bundled stable kernel of
// the operation and format passes on the same case.
var sigmoidFindings = map[string]finding{
	"Gonum_LogisticCDFSubnormalFlush": {
		kernel: GonumLogisticCDF, rows: 1, cols: 1, x: []float64{-720},
		index: 0, class: properties.ClassUnderflow, exact: 0x0.0000993b4dc95p-1022, control: "sigmoid/stable/fp64",
		reason: "1/(1 + exp(720)) = 1/(1 + Inf) = 0 where σ(−720) = 2.03e-313 is a float64 subnormal",
	},
	"Gonum_LogisticSurvivalCancellation": {
		kernel: GonumLogisticSurvival, rows: 1, cols: 1, x: []float64{-40},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.39792499b1a24p-58, control: "sigmoid/stable/fp64",
		reason: "Survival(40) = 1 − CDF(40) = 1 − 1 = 0 where 1 − σ(40) = σ(−40) = 4.25e-18",
	},
	"Gonum_LogisticProbOverflow": {
		kernel: GonumLogisticProb, rows: 1, cols: 1, x: []float64{-400},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.e50c483c04dcdp-578, control: "sigmoidgrad/stable/fp64",
		reason: "E = exp(400) = 5.2e173 is finite but (1 + E)² overflows: E/Inf = 0 where σ'(−400) = 1.9e-174 is a normal float64",
	},
	"Gonum_LogisticProbNaN": {
		kernel: GonumLogisticProb, rows: 1, cols: 1, x: []float64{-710},
		index: 0, class: properties.ClassNaN, exact: 0x0.33802fd28b3c3p-1022, control: "sigmoidgrad/stable/fp64",
		reason: "E = exp(710) = +Inf: Inf/(1·Inf) = NaN where σ'(−710) = 4.48e-309 is a float64 subnormal",
	},
	"Spago_SigmoidSIMDClamp_fp32": {
		kernel: SpagoSigmoid[float32], rows: 1, cols: 8, x: []float64{-100, -100, -100, -100, -100, -100, -100, -100},
		index: 0, class: properties.ClassPrecision, exact: 0x1.bp-145, control: "sigmoid/stable/fp32", amd64: true,
		reason: "the SIMD exp of a block of 8 clamps its argument to 88.376: exp(100) comes out 2.4e38, σ(−100) = 4.156e-39 for 3.72e-44",
	},
	"Spago_SigmoidSIMDNaNLost_fp32": {
		kernel: SpagoSigmoid[float32], rows: 1, cols: 8, x: []float64{nan, 0, 0, 0, 0, 0, 0, 0},
		index: 0, class: properties.ClassNonFiniteLost, exact: nan, control: "sigmoid/stable/fp32", amd64: true,
		reason: "the same clamp's min/max instructions drop the NaN: σ(NaN) = 4.156e-39",
	},
	"Spago_SigmoidSubnormalFlush_fp64": {
		kernel: SpagoSigmoid[float64], rows: 1, cols: 1, x: []float64{-720},
		index: 0, class: properties.ClassUnderflow, exact: 0x0.0000993b4dc95p-1022, control: "sigmoid/stable/fp64",
		reason: "1/(1 + Exp(720)) = 1/(1 + Inf) = 0 where σ(−720) = 2.03e-313 is a float64 subnormal",
	},
	"Spago_SigmoidGradOneMinus_fp32": {
		kernel: SpagoSigmoidGrad[float32], rows: 1, cols: 1, x: []float64{20},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.1b4866p-29, control: "sigmoidgrad/stable/fp32",
		reason: "s·(1 − s) with s = σ(20) rounded to float32 (1): 0 where σ'(20) = 2.06e-9",
	},
	"Spago_SoftPlusNaN_fp64": {
		kernel: SpagoSoftPlus[float64], rows: 1, cols: 1, x: []float64{nan},
		index: 0, class: properties.ClassNonFiniteLost, exact: nan, control: "softplus/stable/fp64",
		reason: "softPlus tests v <= threshold and v > threshold, both false for NaN, and falls through to return 0",
	},
	"Spago_SoftPlusLogNotLog1p_fp64": {
		kernel: SpagoSoftPlus[float64], rows: 1, cols: 1, x: []float64{-40},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.39792499b1a24p-58, control: "softplus/stable/fp64",
		reason: "math.Log(1 + math.Exp(−40)): 1 + e^−40 rounds to 1, log gives 0 where softplus(−40) = 4.25e-18",
	},
	"Gorgonia_SigmoidCutoff_fp64": {
		kernel: GorgoniaSigmoid[float64], rows: 1, cols: 1, x: []float64{20},
		index: 0, class: properties.ClassPrecision, exact: 0x1.ffffffee4b79bp-01, control: "sigmoid/stable/fp64",
		reason: "_sigmoidf64 returns 1 for x > 19, but σ(20) = 1 − 2.06e-9 is 1.86e7 ulp below 1 in float64",
	},
	"Gorgonia_SoftplusCutoff_fp64": {
		kernel: GorgoniaSoftplus[float64], rows: 1, cols: 1, x: []float64{17},
		index: 0, class: properties.ClassPrecision, exact: 0x1.1000000b1cf18p+04, control: "softplus/stable/fp64",
		reason: "_softplusf64 returns x for x > 16 ('pretty much returns x'), but softplus(17) = 17 + 4.14e-8, 1.2e7 ulp above 17",
	},
	"Gomlx_SoftplusNegInf_fp32": {
		kernel: GomlxSoftplus[float32], rows: 1, cols: 1, x: []float64{ninf},
		index: 0, class: properties.ClassOverflow, exact: 0, control: "softplus/stable/fp32",
		reason: "LogAddExp(x, 0) returns Add(x, y) where x − y is not finite: −Inf + 0 = −Inf, where softplus(−Inf) = log 1 = 0 (softplus is never negative)",
	},
	"Gomlx_SigmoidTruncated_bf16": {
		kernel: GomlxSigmoid[uint16], rows: 1, cols: 1, x: []float64{-0x1p-10},
		index: 0, class: properties.ClassPrecision, exact: 0.5, control: "sigmoid/stable/bf16",
		reason: "bfloat16.FromFloat32 truncates: σ(−2^−10) = 0.4997559 becomes 0.498046875 (0.88 ulp) where RN is 0.5",
	},
	"Gomlx_SigmoidGradOneMinus_fp32": {
		kernel: GomlxSigmoidGrad[float32], rows: 1, cols: 1, x: []float64{20},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.1b4866p-29, control: "sigmoidgrad/stable/fp32",
		reason: "logisticVJP: node·(1 − node) with node = σ(20) rounded to float32 (1): 0 where σ'(20) = 2.06e-9",
	},
}

func init() {
	for name, f := range sigmoidFindings {
		if _, dup := findings[name]; dup {
			panic("duplicate finding " + name)
		}
		findings[name] = f
	}
}

func TestFinding_Gonum_LogisticCDFSubnormalFlush(t *testing.T) {
	runFinding(t, "Gonum_LogisticCDFSubnormalFlush")
}
func TestFinding_Gonum_LogisticSurvivalCancellation(t *testing.T) {
	runFinding(t, "Gonum_LogisticSurvivalCancellation")
}
func TestFinding_Gonum_LogisticProbOverflow(t *testing.T) {
	runFinding(t, "Gonum_LogisticProbOverflow")
}
func TestFinding_Gonum_LogisticProbNaN(t *testing.T) { runFinding(t, "Gonum_LogisticProbNaN") }
func TestFinding_Spago_SigmoidSIMDClamp_fp32(t *testing.T) {
	runFinding(t, "Spago_SigmoidSIMDClamp_fp32")
}
func TestFinding_Spago_SigmoidSIMDNaNLost_fp32(t *testing.T) {
	runFinding(t, "Spago_SigmoidSIMDNaNLost_fp32")
}
func TestFinding_Spago_SigmoidSubnormalFlush_fp64(t *testing.T) {
	runFinding(t, "Spago_SigmoidSubnormalFlush_fp64")
}
func TestFinding_Spago_SigmoidGradOneMinus_fp32(t *testing.T) {
	runFinding(t, "Spago_SigmoidGradOneMinus_fp32")
}
func TestFinding_Spago_SoftPlusNaN_fp64(t *testing.T) { runFinding(t, "Spago_SoftPlusNaN_fp64") }
func TestFinding_Spago_SoftPlusLogNotLog1p_fp64(t *testing.T) {
	runFinding(t, "Spago_SoftPlusLogNotLog1p_fp64")
}
func TestFinding_Gorgonia_SigmoidCutoff_fp64(t *testing.T) {
	runFinding(t, "Gorgonia_SigmoidCutoff_fp64")
}
func TestFinding_Gorgonia_SoftplusCutoff_fp64(t *testing.T) {
	runFinding(t, "Gorgonia_SoftplusCutoff_fp64")
}
func TestFinding_Gomlx_SoftplusNegInf_fp32(t *testing.T) { runFinding(t, "Gomlx_SoftplusNegInf_fp32") }
func TestFinding_Gomlx_SigmoidTruncated_bf16(t *testing.T) {
	runFinding(t, "Gomlx_SigmoidTruncated_bf16")
}
func TestFinding_Gomlx_SigmoidGradOneMinus_fp32(t *testing.T) {
	runFinding(t, "Gomlx_SigmoidGradOneMinus_fp32")
}
