// This file implements "fuzz replay": re-run one counterexample against its kernel.

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
	"github.com/ulpcheck/ulpcheck/reports"
	"github.com/ulpcheck/ulpcheck/shrinking"
)

func init() {
	register(&command{name: "replay", summary: "re-run a counterexample (from -case text or a report) against its kernel", run: replayCmd})
}

func replayCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		kernelName = fs.String("kernel", "", "bundled kernel `name` (fuzz list shows them)")
		prop       = fs.String("property", "", "the property that failed (informational; every property is re-checked)")
		caseText   = fs.String("case", "", "the case in canonical text form (v1;fmt=…;shape=…;x=…)")
		report     = fs.String("report", "", "replay the counterexamples of this report.json instead")
		execFlag   = fs.String("exec", "", "the external kernel `command` the counterexample came from")
		tolFlag    = fs.String("tolerance", "condition", toleranceUsage)
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tol, err := parseTolerance(*tolFlag)
	if err != nil {
		fmt.Fprintf(stderr, "fuzz replay: %v\n", err)
		return 2
	}
	ctx := context.Background()
	pool := kernels.Bundled()
	if *execFlag != "" {
		ks, closer, err := startExternal(ctx, *execFlag, 0, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "fuzz replay: -exec: %v\n", err)
			return 2
		}
		defer closer()
		pool = ks
	}
	lookup := func(name string) *kernels.Kernel {
		for _, k := range pool {
			if k.Name == name {
				return k
			}
		}
		return nil
	}
	type item struct{ kernel, prop, text string }
	var items []item
	switch {
	case *report != "":
		f, err := os.Open(*report)
		if err != nil {
			fmt.Fprintf(stderr, "fuzz replay: %v\n", err)
			return 2
		}
		r, err := reports.ReadJSON(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "fuzz replay: %s: %v\n", *report, err)
			return 2
		}
		for _, c := range r.Cells {
			if *kernelName != "" && c.Kernel != *kernelName || *prop != "" && c.Property != *prop {
				continue
			}
			for _, ex := range c.Examples {
				items = append(items, item{c.Kernel, ex.Property, ex.Input})
			}
		}
	case *caseText != "" && *kernelName != "":
		items = append(items, item{*kernelName, *prop, *caseText})
	default:
		fmt.Fprintln(stderr, "usage: fuzz replay -kernel NAME [-property P] -case TEXT | -report report.json [-kernel NAME] [-property P]")
		return 2
	}
	failed := 0
	for _, it := range items {
		k := lookup(it.kernel)
		if k == nil {
			fmt.Fprintf(stderr, "fuzz replay: no kernel %q\n", it.kernel)
			return 2
		}
		sc, err := shrinking.ParseCase(it.text)
		if err != nil {
			fmt.Fprintf(stderr, "fuzz replay: bad -case: %v\n", err)
			return 2
		}
		c, err := fromShrinking(sc)
		if err != nil {
			fmt.Fprintf(stderr, "fuzz replay: bad -case: %v\n", err)
			return 2
		}
		v := properties.Evaluate(ctx, k, c, properties.WithTolerance(tol))
		fmt.Fprint(stdout, v.Report())
		if !v.OK() {
			failed++
		} else {
			fmt.Fprintf(stdout, "ok: every property holds (%s)\n", it.kernel)
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}
