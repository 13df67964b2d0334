// This file implements "fuzz list": the bundled kernels, operations and formats.

package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

func init() {
	register(&command{name: "list", summary: "list the bundled kernels, operations and formats", run: listCmd})
}

func listCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tOP\tIN\tOUT\tACC\tALGORITHM\tMASK\tNOTE")
	for _, k := range kernels.Bundled() {
		note := ""
		if k.Broken != "" {
			note = "broken on purpose: " + k.Broken
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.Op, k.In, k.OutFormat(), k.AccFormat(), k.Algorithm, k.Mask, note)
	}
	tw.Flush()
	var ops []string
	for _, o := range kernels.Ops() {
		ops = append(ops, o.String())
	}
	fmt.Fprintf(stdout, "\noperations: %s\nformats:    %s\n", strings.Join(ops, ", "), strings.Join(formatNames(fp.Formats()), ", "))
	return 0
}
