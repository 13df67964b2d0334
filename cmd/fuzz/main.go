// Command fuzz is ulpcheck's command-line tool: campaigns against kernels and
// direct questions to the exact oracle.
//
// Usage:
//
//	fuzz <command> [flags] [arguments]
//
// Each command lives in its own file and registers itself in the command
// table (see register); "fuzz help" and "fuzz" without a command list them.
// A missing or unknown command prints the usage and exits with status 2.
//
// Exit status: 0 success, 1 an internal or oracle failure, 2 a usage error or
// bad input.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// A command is one subcommand of fuzz.
type command struct {
	name    string // as typed on the command line
	summary string // one line for the usage listing
	// run executes the command with the arguments after its name and
	// returns the process exit status. It must not call os.Exit and must
	// read and write only through the given streams, so that tests run it
	// in-process.
	run func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands is the command table, keyed by name. Files add to it from init.
var commands = map[string]*command{}

// register adds c to the command table. It panics on a duplicate name (a
// programming error found by any test of the package).
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("fuzz: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// dispatch runs the command named by args[0] and returns the exit status.
func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "fuzz: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: fuzz <command> [flags] [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "fuzz <command> -h" for a command's flags.`)
}
