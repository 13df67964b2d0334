package main

// This file registers "fuzz oracle", the oracle command of package oraclecmd (which cmd/ulporacle
// also runs, as a binary of its own).

import (
	"io"

	"github.com/ulpcheck/ulpcheck/internal/oraclecmd"
)

func init() {
	register(&command{
		name:    "oracle",
		summary: oraclecmd.Summary,
		run: func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
			return oraclecmd.Main("fuzz oracle", args, stdin, stdout, stderr)
		},
	})
}
