package oracle

import (
	"math/big"

	"github.com/ulpcheck/ulpcheck/fp"
)

func LSE(f fp.Format, x []float64) (Value, error) { return Value{}, errNotImplemented }
func Softmax(f fp.Format, x []float64, pol fp.MaskPolicy) ([]Value, error) {
	return nil, errNotImplemented
}
func LogSoftmax(f fp.Format, x []float64, pol fp.MaskPolicy) ([]Value, error) {
	return nil, errNotImplemented
}
func LSEBatch(f fp.Format, x []float64, rows, cols int) ([]Value, error) {
	return nil, errNotImplemented
}
func SoftmaxBatch(f fp.Format, x []float64, rows, cols int, pol fp.MaskPolicy) ([]Value, error) {
	return nil, errNotImplemented
}
func LogSoftmaxBatch(f fp.Format, x []float64, rows, cols int, pol fp.MaskPolicy) ([]Value, error) {
	return nil, errNotImplemented
}

type Reduction uint8

const (
	ReduceMean Reduction = iota
	ReduceSum
	ReduceNone
)

func ParseReduction(s string) (Reduction, error) { return 0, errNotImplemented }

type CEOptions struct {
	Weights        []float64
	IgnoreIndex    int
	LabelSmoothing float64
	Reduction      Reduction
}

func DefaultCEOptions() CEOptions { return CEOptions{IgnoreIndex: -100} }

func CrossEntropy(f fp.Format, logits []float64, rows, cols int, targets []int, opt CEOptions) ([]Value, error) {
	return nil, errNotImplemented
}
func CrossEntropyProb(f fp.Format, logits, probs []float64, rows, cols int, opt CEOptions) ([]Value, error) {
	return nil, errNotImplemented
}
func SoftmaxBackward(f fp.Format, x, dy []float64, rows, cols int, pol fp.MaskPolicy) ([]Value, error) {
	return nil, errNotImplemented
}
func SoftmaxBackwardFromY(f fp.Format, y, dy []float64, rows, cols int) ([]Value, error) {
	return nil, errNotImplemented
}
func CrossEntropyGrad(f fp.Format, logits []float64, rows, cols int, targets []int, opt CEOptions) ([]Value, error) {
	return nil, errNotImplemented
}
func CrossEntropyProbGrad(f fp.Format, logits, probs []float64, rows, cols int, opt CEOptions) ([]Value, error) {
	return nil, errNotImplemented
}
func Exp(z, x *big.Float, prec uint) (*big.Float, *big.Float) { return nil, nil }
func Log(z, x *big.Float, prec uint) (*big.Float, *big.Float, error) {
	return nil, nil, errNotImplemented
}
