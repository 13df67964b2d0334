// Command ulporacle is the exact oracle on rows read from stdin: the command "fuzz oracle" runs,
// with its flags, input grammar, output and exit statuses (run "ulporacle -h"), in a binary that
// holds nothing else. On an empty input it exits after about 7 ms where the fuzz binary, which
// initialises its generators, plots and reports first, takes about 20 (2-core machine);
// internal/oraclecmd's BenchmarkOracleProcess times both on 400 rows of 1024 fp32 values.
// Callers that run the oracle once per batch of rows from another language see the difference.
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
