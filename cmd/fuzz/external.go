// This file connects "fuzz run -exec" and "fuzz replay -exec" to package kernels/external.

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/kernels/external"
)

// startExternal starts the external kernel program named by cmdline (split into arguments without
// a shell) and returns the kernels it serves and a function that stops it. timeout > 0 bounds each
// call (the default is external.Options'); restarting a killed child is not counted in it.
func startExternal(ctx context.Context, cmdline string, timeout time.Duration, stderr io.Writer) ([]*kernels.Kernel, func(), error) {
	p, err := external.StartCommand(ctx, cmdline, external.Options{Timeout: timeout})
	if err != nil {
		return nil, func() {}, err
	}
	ks := p.Kernels()
	if len(ks) == 0 {
		p.Close()
		return nil, func() {}, fmt.Errorf("%q serves no kernel", cmdline)
	}
	if c := p.Hello().Client; c != "" {
		fmt.Fprintf(stderr, "external kernel program: %s, %d kernels\n", c, len(ks))
	}
	return ks, func() {
		st := p.Stats()
		if st.Restarts > 0 || st.Failures > 0 {
			fmt.Fprintf(stderr, "external kernel program: %d calls, %d failed, %d restarts\n", st.Calls, st.Failures, st.Restarts)
		}
		p.Close()
	}, nil
}
