// This file implements "fuzz merge": combine the JSON reports of a sharded campaign.

package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ulpcheck/ulpcheck/reports"
)

func init() {
	register(&command{name: "merge", summary: "merge shard reports (report.json files) into one report", run: mergeCmd})
}

func mergeCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "report", "output `directory` for the merged report.json, report.md and report.html")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: fuzz merge [-out DIR] shard1/report.json shard2/report.json ...")
		return 2
	}
	var rs []*reports.Report
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "fuzz merge: %v\n", err)
			return 2
		}
		r, err := reports.ReadJSON(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "fuzz merge: %s: %v\n", name, err)
			return 2
		}
		rs = append(rs, r)
	}
	m, err := reports.Merge(rs...)
	if err != nil {
		fmt.Fprintf(stderr, "fuzz merge: %v\n", err)
		return 2
	}
	if err := writeReport(*out, m); err != nil {
		fmt.Fprintf(stderr, "fuzz merge: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "merged %d reports: %d cases, shards %v of %d; written to %s\n", len(rs), m.Cases, m.Shard.I, m.Shard.N, *out)
	return 0
}
