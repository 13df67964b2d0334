package thirdparty

// This file adapts the two-class operations of the libraries (docs/sigmoid.md): softplus,
// log-sigmoid, the sigmoid and its derivative, binary cross-entropy with logits and its gradient,
// wherever a library has them. Each doc comment quotes the library's code.

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/mat/gradfn"
	"gonum.org/v1/gonum/stat/distuv"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/ulpcheck/ulpcheck/kernels"
)

// ---- gonum ----

// stdLogistic is gonum's standard logistic distribution (location 0, scale 1): its CDF is σ and
// its density is σ'.
var stdLogistic = distuv.Logistic{Mu: 0, S: 1}

// GonumLogisticCDF adapts distuv.Logistic{Mu: 0, S: 1}.CDF of gonum.org/v1/gonum v0.17.0 as the
// sigmoid: 1 / (1 + math.Exp(-(x-Mu)/S)) in float64. e^−x overflows for x < −709.78 and the
// result is 0 there, where σ(x) ≈ e^x is a float64 subnormal down to x ≈ −744.4.
func GonumLogisticCDF() *kernels.Kernel {
	return kernels.SigmoidScalar[float64]("gonum/distuv.Logistic.CDF/fp64", stdLogistic.CDF,
		kernels.WithDoc("gonum v0.17.0 distuv.Logistic{0, 1}.CDF(x) = 1 / (1 + exp(−x)) in float64."))
}

// GonumLogisticSurvival adapts distuv.Logistic{Mu: 0, S: 1}.Survival (gonum v0.17.0), the
// complementary CDF 1 − CDF(x) = σ(−x), as the sigmoid of −x: y = Survival(−x) (negation is
// exact). The library computes 1 - l.CDF(x): for large x the subtraction cancels.
func GonumLogisticSurvival() *kernels.Kernel {
	return kernels.SigmoidScalar[float64]("gonum/distuv.Logistic.Survival(-x)/fp64", func(x float64) float64 { return stdLogistic.Survival(-x) },
		kernels.WithDoc("gonum v0.17.0 distuv.Logistic{0, 1}.Survival(−x) = 1 − CDF(−x) = 1 − 1/(1 + exp(x)), judged as σ(x)."))
}

// GonumLogisticProb adapts distuv.Logistic{Mu: 0, S: 1}.Prob (gonum v0.17.0), the density
// σ'(x) = σ(x)σ(−x): E := math.Exp(-(x - Mu)/S); E / (S * math.Pow(1+E, 2)). (1 + E)² overflows
// once E > 2^512 (x < −354.9): the result is 0 there, and NaN (Inf/Inf) once E itself overflows.
func GonumLogisticProb() *kernels.Kernel {
	return kernels.SigmoidGradScalar[float64]("gonum/distuv.Logistic.Prob/fp64", stdLogistic.Prob,
		kernels.WithDoc("gonum v0.17.0 distuv.Logistic{0, 1}.Prob(x) = E / (1 + E)², E = exp(−x), in float64."))
}

// ---- spago ----

// spagoColumn builds an n×1 spago matrix holding a copy of x (2-D: Apply indexes shape[1]).
func spagoColumn[T float.DType](x []T, grad bool) *mat.Dense[T] {
	c := make([]T, len(x))
	copy(c, x)
	return mat.NewDense[T](mat.WithShape(len(c), 1), mat.WithBacking(c), mat.WithGrad(grad))
}

// SpagoSigmoid adapts ag.Sigmoid of github.com/nlpodyssey/spago v1.1.0, which runs
// (*mat.Dense[T]).Sigmoid: e = Exp(−x) with matfuncs.Exp32/Exp64 (on amd64 the float32 exp of
// each full block of 8 (AVX2) or 4 (SSE) lanes is a SIMD polynomial), then 1 / (1 + e) in T.
func SpagoSigmoid[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("spago/ag.Sigmoid/%s", kernels.FormatOf[T]())
	return kernels.Sigmoid[T](name, func(dst, x []T) {
		if len(x) == 0 {
			return
		}
		copy(dst, mat.Data[T](ag.Sigmoid(spagoColumn(x, false)).Value()))
	}, kernels.WithDoc("spago v1.1.0 ag.Sigmoid = mat.Dense.Sigmoid: e = Exp(−x) (SIMD exp for fp32 blocks on amd64), y = 1/(1 + e) in T."))
}

// SpagoSigmoidGrad adapts the backward pass of spago v1.1.0's sigmoid (gradfn.Sigmoid.Backward
// with gy = 1): it recomputes s = Sigmoid(x), rounded to T, and returns s·(1 − s) (in float64 from
// the rounded s, then rounded to T). Where s rounds to 1 the result is 0.
func SpagoSigmoidGrad[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("spago/gradfn.Sigmoid.Backward/%s", kernels.FormatOf[T]())
	return kernels.SigmoidGrad[T](name, func(dst, x []T) {
		if len(x) == 0 {
			return
		}
		xs := spagoColumn(x, true)
		ones := make([]T, len(x))
		for i := range ones {
			ones[i] = 1
		}
		if err := gradfn.NewSigmoid(xs).Backward(mat.NewDense[T](mat.WithShape(len(x), 1), mat.WithBacking(ones))); err != nil {
			panic(err)
		}
		copy(dst, mat.Data[T](xs.Grad()))
	}, kernels.WithDoc("spago v1.1.0 gradfn.Sigmoid.Backward(1): s = Sigmoid(x) in T, s·(1 − s)."))
}

// SpagoSoftPlus adapts ag.SoftPlus(x, beta = 1, threshold = 20) of spago v1.1.0 (PyTorch's
// defaults, which the harness models): softPlus in mat/gradfn/misc.go computes, in float64,
// "if v <= threshold { return (1 / beta) * math.Log(1+math.Exp(beta*v)) }; if v > threshold
// { return v }; return 0". log(1 + e^x) loses e^x once 1 + e^x rounds (x below about −37 it is
// 0), and a NaN, neither ≤ nor > the threshold, gives 0.
func SpagoSoftPlus[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("spago/ag.SoftPlus/%s", kernels.FormatOf[T]())
	return kernels.Softplus[T](name, func(dst, x []T) {
		if len(x) == 0 {
			return
		}
		y := ag.SoftPlus(spagoColumn(x, false), mat.Scalar[T](1), mat.Scalar[T](kernels.SoftplusThreshold))
		copy(dst, mat.Data[T](y.Value()))
	}, kernels.WithDoc("spago v1.1.0 ag.SoftPlus(x, 1, 20): log(1 + exp(x)) in float64 for x ≤ 20, x above, 0 otherwise (NaN)."))
}

// SpagoSoftPlusGrad adapts the backward pass of ag.SoftPlus(x, 1, 20) (softPlusDeriv with
// gy = 1), judged as σ(x), softplus' derivative (docs/sigmoid.md): "exp := math.Exp(v * beta);
// return exp / (exp + 1)" for v ≤ 20, 1 above, 0 otherwise. fp32 only: there σ(x) rounds to 1
// above 20, so the threshold's derivative 1 agrees with σ (in fp64 it does not).
func SpagoSoftPlusGrad() *kernels.Kernel {
	return kernels.Sigmoid[float32]("spago/gradfn.SoftPlus.Backward/fp32", func(dst, x []float32) {
		if len(x) == 0 {
			return
		}
		xs := spagoColumn(x, true)
		ones := make([]float32, len(x))
		for i := range ones {
			ones[i] = 1
		}
		f := gradfn.NewSoftPlus(xs, mat.Scalar[float32](1), mat.Scalar[float32](kernels.SoftplusThreshold))
		if err := f.Backward(mat.NewDense[float32](mat.WithShape(len(x), 1), mat.WithBacking(ones))); err != nil {
			panic(err)
		}
		copy(dst, mat.Data[float32](xs.Grad()))
	}, kernels.WithDoc("spago v1.1.0 gradfn.SoftPlus.Backward(1), beta 1, threshold 20: e/(e + 1), e = exp(x), for x ≤ 20; 1 above; 0 otherwise (NaN)."))
}

// ---- gorgonia ----

// gorgoniaElementwise runs build on a vector node holding a copy of x (gorgonia v0.9.18, tape
// machine) and copies the node it returns into dst. grad: dst receives ∂Σy/∂x instead.
func gorgoniaElementwise[T float32 | float64](build func(*G.Node) (*G.Node, error), grad bool) func(dst, x []T) error {
	return func(dst, x []T) error {
		if len(x) == 0 {
			return nil
		}
		c := make([]T, len(x))
		copy(c, x)
		dt := tensor.Float64
		if _, ok := any(T(0)).(float32); ok {
			dt = tensor.Float32
		}
		g := G.NewGraph()
		a := G.NewVector(g, dt, G.WithShape(len(c)), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(len(c)), tensor.WithBacking(c))))
		y, err := build(a)
		if err != nil {
			return err
		}
		out := y
		if grad {
			s, err := G.Sum(y)
			if err != nil {
				return err
			}
			gs, err := G.Grad(s, a)
			if err != nil {
				return err
			}
			out = gs[0]
		}
		vm := G.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			return err
		}
		switch v := out.Value().Data().(type) {
		case []T:
			copy(dst, v)
		case T:
			dst[0] = v
		default:
			return fmt.Errorf("gorgonia returned %T", v)
		}
		return nil
	}
}

// GorgoniaSigmoid adapts gorgonia.Sigmoid of gorgonia.org/gorgonia v0.9.18 (built without the
// fastmath tag). _sigmoidf64: "if x < -709 { return 0 }; if x > 19 { return 1 }; return 1.0 /
// (1.0 + math.Exp(-x))"; _sigmoidf32: 0 below −88, 1 above 15, else the float64 formula rounded
// to float32. The cut-offs are above the points where σ rounds to 1 (x ≈ 37.4 in fp64, 16.6 in
// fp32) and below the subnormal range.
func GorgoniaSigmoid[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("gorgonia/Sigmoid/%s", kernels.FormatOf[T]())
	return kernels.Sigmoid[T](name, must(gorgoniaElementwise[T](G.Sigmoid, false)),
		kernels.WithDoc("gorgonia v0.9.18 Sigmoid: fp64 0 below −709, 1 above 19; fp32 0 below −88, 1 above 15; else 1/(1 + exp(−x)) in float64."))
}

// GorgoniaSoftplus adapts gorgonia.Softplus (gorgonia v0.9.18). _softplusf64: "if x < -708
// { return 0 }; if x > 16 { return x }; return math.Log1p(math.Exp(x))", the comment saying
// "from 17 onwards to 709, its pretty much returns x (with some stupid small decimals)";
// _softplusf32: 0 below −103, x above 14, else log1p(exp(x)) in float64 rounded to float32.
func GorgoniaSoftplus[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("gorgonia/Softplus/%s", kernels.FormatOf[T]())
	return kernels.Softplus[T](name, must(gorgoniaElementwise[T](G.Softplus, false)),
		kernels.WithDoc("gorgonia v0.9.18 Softplus: fp64 0 below −708, x above 16; fp32 0 below −103, x above 14; else log1p(exp(x)) in float64."))
}

// GorgoniaLogSigmoid adapts gorgonia.Log(gorgonia.Sigmoid(x)) (gorgonia v0.9.18), which the
// graph's default stabilization (logSigmoidStabilization) rewrites to −Softplus(−x): the
// softplus cut-offs above, mirrored (−x + … below −16 in fp64 becomes x itself).
func GorgoniaLogSigmoid[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("gorgonia/Log(Sigmoid)/%s", kernels.FormatOf[T]())
	return kernels.LogSigmoid[T](name, must(gorgoniaElementwise[T](func(a *G.Node) (*G.Node, error) {
		s, err := G.Sigmoid(a)
		if err != nil {
			return nil, err
		}
		return G.Log(s)
	}, false)), kernels.WithDoc("gorgonia v0.9.18 Log(Sigmoid(x)), stabilized by the graph to −Softplus(−x)."))
}

// GorgoniaSigmoidGrad adapts the symbolic gradient of Sum(Sigmoid(x)) (gorgonia v0.9.18,
// sigmoidDiffExpr): y·(1 − y)·1 with y = Sigmoid(x) rounded to T.
func GorgoniaSigmoidGrad[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("gorgonia/Grad(Sigmoid)/%s", kernels.FormatOf[T]())
	return kernels.SigmoidGrad[T](name, must(gorgoniaElementwise[T](G.Sigmoid, true)),
		kernels.WithDoc("gorgonia v0.9.18 Grad(Sum(Sigmoid(x)), x) = y·(1 − y), y = Sigmoid(x) in T."))
}

// ---- gomlx ----

// gomlxExec runs fn on the simplego backend with each input as a rows×cols tensor and returns
// the flat output.
func gomlxExec[T float32 | float64 | bfloat16.BFloat16](fn any, rows, cols int, ins ...[]T) ([]T, error) {
	if rows == 0 || cols == 0 {
		return nil, fmt.Errorf("gomlx: zero dimension: %w", kernels.ErrUnsupported)
	}
	b, err := gomlxBackend()
	if err != nil {
		return nil, err
	}
	exec, err := graph.NewExecAny(b, fn)
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	args := make([]any, len(ins))
	for i, x := range ins {
		c := make([]T, len(x))
		copy(c, x)
		args[i] = tensors.FromFlatDataAndDimensions(c, rows, cols)
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		return nil, err
	}
	defer outs[0].FinalizeAll()
	return tensors.CopyFlatData[T](outs[0])
}

func toBF16(x []uint16) []bfloat16.BFloat16 {
	y := make([]bfloat16.BFloat16, len(x))
	for i, v := range x {
		y[i] = bfloat16.BFloat16(v)
	}
	return y
}

func fromBF16(dst []uint16, y []bfloat16.BFloat16) {
	for i, v := range y {
		dst[i] = uint16(v)
	}
}

// gomlxUnary adapts a one-input graph function for T (float32, float64) or bfloat16 bits.
func gomlxUnary[T float32 | float64 | uint16](fn func(*graph.Node) *graph.Node) func(dst, x []T) error {
	return func(dst, x []T) error {
		if len(x) == 0 {
			return nil
		}
		switch d := any(dst).(type) {
		case []uint16:
			y, err := gomlxExec(fn, 1, len(x), toBF16(any(x).([]uint16)))
			if err != nil {
				return err
			}
			fromBF16(d, y)
		case []float32:
			y, err := gomlxExec(fn, 1, len(x), any(x).([]float32))
			if err != nil {
				return err
			}
			copy(d, y)
		case []float64:
			y, err := gomlxExec(fn, 1, len(x), any(x).([]float64))
			if err != nil {
				return err
			}
			copy(d, y)
		}
		return nil
	}
}

// gomlxName names a gomlx kernel by its element type (uint16 = bfloat16 bits).
func gomlxName[T float32 | float64 | uint16](op string) string {
	return fmt.Sprintf("gomlx/%s/simplego/%s", op, kernels.FormatOf[T]())
}

const gomlxBF16Doc = " For bfloat16 each op computes in float32 or float64 and converts back with bfloat16.FromFloat32, which truncates."

// GomlxSigmoid adapts graph.Sigmoid (= Logistic) of github.com/gomlx/gomlx v0.26.0 on the
// simplego backend: execLogisticGeneric computes, in float64, 1/(1 + exp(−x)) for x ≥ 0 and
// e/(1 + e), e = exp(x), below, rounded to T; for bfloat16 the float64 result goes through
// float32 and bfloat16.FromFloat32 (truncation).
func GomlxSigmoid[T float32 | float64 | uint16]() *kernels.Kernel {
	return kernels.Sigmoid[T](gomlxName[T]("graph.Sigmoid"), must(gomlxUnary[T](graph.Sigmoid)),
		kernels.WithDoc("gomlx v0.26.0 graph.Sigmoid (Logistic), simplego: 1/(1 + exp(−x)) for x ≥ 0, e/(1 + e) below, in float64."+gomlxBF16Doc))
}

// GomlxSoftplus adapts graph.Softplus (gomlx v0.26.0, simplego) = LogAddExp(x, 0):
// max(x, 0) + Log1p(Exp(−|x|)) where x − 0 is finite, each op rounded to T. It has no threshold;
// fp32 and bf16 only, where log1p(e^−x) < ½ulp(x) above PyTorch's threshold 20, so the two
// definitions round alike (the log-sigmoid adapter GomlxNegSoftplusNeg covers fp64).
func GomlxSoftplus[T float32 | uint16]() *kernels.Kernel {
	return kernels.Softplus[T](gomlxName[T]("graph.Softplus"), must(gomlxUnary[T](graph.Softplus)),
		kernels.WithDoc("gomlx v0.26.0 graph.Softplus = LogAddExp(x, 0): max + Log1p(Exp(−|x|)), each op in T."+gomlxBF16Doc))
}

// GomlxNegSoftplusNeg adapts −graph.Softplus(−x) (gomlx v0.26.0, simplego; both negations
// exact) as the log-sigmoid, which has no threshold: it checks gomlx's softplus over the whole
// range in every format.
func GomlxNegSoftplusNeg[T float32 | float64 | uint16]() *kernels.Kernel {
	return kernels.LogSigmoid[T](gomlxName[T]("-graph.Softplus(-x)"), must(gomlxUnary[T](func(x *graph.Node) *graph.Node {
		return graph.Neg(graph.Softplus(graph.Neg(x)))
	})),
		kernels.WithDoc("gomlx v0.26.0 −Softplus(−x) = −(max(−x, 0) + Log1p(Exp(−|x|))), each op in T."+gomlxBF16Doc))
}

// GomlxSigmoidGrad adapts graph.Gradient(ReduceAllSum(Sigmoid(x)), x) (gomlx v0.26.0,
// logisticVJP): Mul(node, Sub(1, node)) with node = Sigmoid(x) rounded to T.
func GomlxSigmoidGrad[T float32 | float64 | uint16]() *kernels.Kernel {
	return kernels.SigmoidGrad[T](gomlxName[T]("Gradient(Sigmoid)"), must(gomlxUnary[T](func(x *graph.Node) *graph.Node {
		return graph.Gradient(graph.ReduceAllSum(graph.Sigmoid(x)), x)[0]
	})),
		kernels.WithDoc("gomlx v0.26.0 Gradient(ReduceAllSum(Sigmoid(x)), x) = s·(1 − s), s = Sigmoid(x) in T."+gomlxBF16Doc))
}

// gomlxBCE adapts losses.BinaryCrossentropyLogits([t], [x]) (or its gradient with respect to x)
// on a rows×cols batch. The library has no pos_weight and always takes the mean (ReduceAllMean)
// of a non-scalar loss: other options are declined.
func gomlxBCE[T float32 | float64 | uint16](grad bool) func(dst, x, t []T, rows, cols int, o kernels.BCEOptions) error {
	fn := func(x, t *graph.Node) *graph.Node {
		l := losses.BinaryCrossentropyLogits([]*graph.Node{t}, []*graph.Node{x})
		if grad {
			return graph.Gradient(l, x)[0]
		}
		return l
	}
	return func(dst, x, t []T, rows, cols int, o kernels.BCEOptions) error {
		if o.PosWeight != nil {
			return fmt.Errorf("gomlx BinaryCrossentropyLogits has no pos_weight: %w", kernels.ErrUnsupported)
		}
		if o.Reduction != kernels.ReduceMean {
			return fmt.Errorf("gomlx BinaryCrossentropyLogits always takes the mean: %w", kernels.ErrUnsupported)
		}
		switch d := any(dst).(type) {
		case []uint16:
			y, err := gomlxExec(fn, rows, cols, toBF16(any(x).([]uint16)), toBF16(any(t).([]uint16)))
			if err != nil {
				return err
			}
			fromBF16(d, y)
		case []float32:
			y, err := gomlxExec(fn, rows, cols, any(x).([]float32), any(t).([]float32))
			if err != nil {
				return err
			}
			copy(d, y)
		case []float64:
			y, err := gomlxExec(fn, rows, cols, any(x).([]float64), any(t).([]float64))
			if err != nil {
				return err
			}
			copy(d, y)
		}
		return nil
	}
}

// GomlxBCE adapts losses.BinaryCrossentropyLogits of gomlx v0.26.0 (simplego): the
// TensorFlow form loss = (max(x, 0) − x·t) + Log1P(Exp(−|x|)), each op rounded to T, then
// ReduceAllMean (a sum in T divided by n). Mean only, no pos_weight.
func GomlxBCE[T float32 | float64 | uint16]() *kernels.Kernel {
	return kernels.BCEWithLogits[T](gomlxName[T]("losses.BinaryCrossentropyLogits"), gomlxBCE[T](false),
		kernels.WithCEModes(kernels.ReduceMean),
		kernels.WithDoc("gomlx v0.26.0 losses.BinaryCrossentropyLogits: mean of (max(x, 0) − x·t) + Log1P(Exp(−|x|)), each op in T."+gomlxBF16Doc))
}

// GomlxBCEGrad adapts graph.Gradient of GomlxBCE's loss with respect to the logits (gomlx
// v0.26.0 autodiff through Max, Mul, Abs, Exp, Log1P and the mean).
func GomlxBCEGrad[T float32 | float64 | uint16]() *kernels.Kernel {
	return kernels.BCEWithLogitsGrad[T](gomlxName[T]("Gradient(losses.BinaryCrossentropyLogits)"), gomlxBCE[T](true),
		kernels.WithCEModes(kernels.ReduceMean),
		kernels.WithDoc("gomlx v0.26.0 Gradient of losses.BinaryCrossentropyLogits (mean) with respect to x, autodiff, each op in T."+gomlxBF16Doc))
}

// AllSigmoid returns every two-class adapter of this module, fresh.
func AllSigmoid() []*kernels.Kernel {
	return []*kernels.Kernel{
		GonumLogisticCDF(), GonumLogisticSurvival(), GonumLogisticProb(),
		SpagoSigmoid[float32](), SpagoSigmoid[float64](),
		SpagoSigmoidGrad[float32](), SpagoSigmoidGrad[float64](),
		SpagoSoftPlus[float32](), SpagoSoftPlus[float64](), SpagoSoftPlusGrad(),
		GorgoniaSigmoid[float32](), GorgoniaSigmoid[float64](),
		GorgoniaSoftplus[float32](), GorgoniaSoftplus[float64](),
		GorgoniaLogSigmoid[float32](), GorgoniaLogSigmoid[float64](),
		GorgoniaSigmoidGrad[float32](), GorgoniaSigmoidGrad[float64](),
		GomlxSigmoid[float32](), GomlxSigmoid[float64](), GomlxSigmoid[uint16](),
		GomlxSoftplus[float32](), GomlxSoftplus[uint16](),
		GomlxNegSoftplusNeg[float32](), GomlxNegSoftplusNeg[float64](), GomlxNegSoftplusNeg[uint16](),
		GomlxSigmoidGrad[float32](), GomlxSigmoidGrad[float64](), GomlxSigmoidGrad[uint16](),
		GomlxBCE[float32](), GomlxBCE[float64](), GomlxBCE[uint16](),
		GomlxBCEGrad[float32](), GomlxBCEGrad[float64](), GomlxBCEGrad[uint16](),
	}
}

// must turns an error-returning elementwise function into the adapters' form: an error is a
// library fault, reported by the harness as a contract failure (panic).
func must[E any](fn func(dst, x []E) error) func(dst, x []E) {
	return func(dst, x []E) {
		if err := fn(dst, x); err != nil {
			panic(err)
		}
	}
}
