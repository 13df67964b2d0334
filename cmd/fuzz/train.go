// This file implements "fuzz train": the mixed-precision training demonstration of
// examples/training (naive softmax → NaN; no loss scaling → underflow; stable kernels with the
// dynamic loss scaler → it trains; a learning rate above the squared-error loss's stability
// limit → the gradient norm log grows until Inf and NaN, and clip_grad_norm_ keeps it finite),
// each outcome checked.

package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/ulpcheck/ulpcheck/examples/training"
)

func init() {
	register(&command{name: "train", summary: "run the mixed-precision training demonstration (fp16 storage, loss scaling, gradient clipping)", run: trainCmd})
}

func trainCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", 1, "data and initialisation seed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := training.Demo(stdout, *seed); err != nil {
		fmt.Fprintf(stderr, "fuzz train: %v\n", err)
		return 1
	}
	return 0
}
