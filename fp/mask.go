// This file implements the fully-masked-row policy shared by the oracle, the kernels and the
// properties (NUMERICS §5).

package fp

import "fmt"

// MaskPolicy says what softmax and log-softmax return for a fully masked row, one whose entries
// are all −Inf. It is part of a kernel's declaration, never a hard-coded answer.
type MaskPolicy uint8

const (
	// MaskNaN: softmax and log-softmax give NaN everywhere (torch.softmax, the literal formula).
	MaskNaN MaskPolicy = iota
	// MaskZero: softmax gives 0 everywhere and log-softmax −Inf (FlashAttention, PyTorch's
	// _safe_softmax, JAX, ONNX).
	MaskZero
)

func (m MaskPolicy) String() string {
	switch m {
	case MaskNaN:
		return "nan"
	case MaskZero:
		return "zero"
	}
	return fmt.Sprintf("MaskPolicy(%d)", uint8(m))
}

// ParseMaskPolicy parses "nan" or "zero".
func ParseMaskPolicy(s string) (MaskPolicy, error) {
	switch s {
	case "nan", "NaN":
		return MaskNaN, nil
	case "zero", "Zero", "0":
		return MaskZero, nil
	}
	return 0, fmt.Errorf("fp: unknown mask policy %q (want nan or zero)", s)
}
