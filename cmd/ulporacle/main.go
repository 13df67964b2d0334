// Command ulporacle is the exact oracle on rows read from stdin: the command "fuzz oracle" runs,
// with its flags, input grammar, output and exit statuses (run "ulporacle -h"), in a binary that
// holds nothing else. It starts in a few milliseconds where the fuzz binary, which initialises
// its generators, plots and reports first, takes about 20 on the machine measured in
// internal/oraclecmd's BenchmarkOracleProcess; callers that run the oracle once per batch of rows
// from another language see the difference.
//
// Usage:
//
//	ulporacle -op lse|softmax|logsoftmax|ce -format F [flags] < rows
package main

import (
	"os"

	"github.com/ulpcheck/ulpcheck/internal/oraclecmd"
)

func main() {
	os.Exit(oraclecmd.Main("ulporacle", os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
