// This file defines the options of the gradient-norm operations (docs/gradnorm.md), shared by a
// case, the kernel call and the oracle as the loss options are.

package loss

// NormOptions are the options of torch.nn.utils.get_total_norm, clip_grad_norm_ and
// clip_grad_value_ as a case carries them.
type NormOptions struct {
	P                float64 // norm_type: 2, +Inf or any p > 0; 0 means 2 (PyTorch's default)
	MaxNorm          float64 // clip_grad_norm_'s max_norm (≥ 0)
	ClipValue        float64 // clip_grad_value_'s clip_value (≥ 0)
	ErrorIfNonfinite bool    // error_if_nonfinite: the call must fail when the total norm is NaN or ±Inf
}

// Order returns P, or 2 when P is 0.
func (o NormOptions) Order() float64 {
	if o.P == 0 {
		return 2
	}
	return o.P
}
