package main

// This file implements "fuzz oracle": the exact oracle on rows read from stdin.

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/oracle"
)

func init() {
	register(&command{
		name:    "oracle",
		summary: "print the correctly rounded LSE, softmax, log-softmax or cross-entropy of rows read from stdin",
		run:     oracleMain,
	})
}

// maxLineBytes bounds one input line (a row of 4096 logits in hex takes
// about 100 KiB). A variable so that tests can lower it.
var maxLineBytes = 64 << 20

const oracleUsage = `usage: fuzz oracle -op lse|softmax|logsoftmax|ce -format F [flags] < rows

Reads one row per line from stdin, white-space separated numbers (decimal,
Go hex floats such as 0x1.8p+3, inf, -inf, nan), and prints one line per row:
the correctly rounded results in the format, as hex floats that
strconv.ParseFloat reads back exactly (or, with -decimal, as the shortest
decimal that rounds back to the same value of the format).

  lse         one value: log Σ exp(x_i)
  softmax     one value per entry
  logsoftmax  one value per entry
  ce          the first number of a line is the target class t, the rest are
              the logits; one value: the cross-entropy loss of that row
              (PyTorch's F.cross_entropy with reduction "none"; t equal to
              -ignore-index gives 0)

Every number must be a value of the format unless -round is given, which
rounds each input to the format first (correctly, from its exact decimal
value). Blank lines are echoed as blank lines, so that output line k answers
input line k. Bad input (an unparsable number, a value outside the format, a
target out of range, a line over 64 MiB) stops the run with exit status 2 and
a message naming the line; an oracle failure exits with status 1.

Special rows follow NUMERICS.md §5: NaN anywhere gives NaN; +Inf gives LSE
+Inf and softmax/log-softmax NaN; a fully masked row (all -inf) gives LSE
-inf and, per -policy, NaN or 0 (softmax) and NaN or -inf (log-softmax).

Example:
  echo '0 0 0 0' | go run ./cmd/fuzz oracle -op softmax -format fp16
  0x1p-02 0x1p-02 0x1p-02 0x1p-02

Flags:
`

// oracleConfig is the parsed command line of "fuzz oracle".
type oracleConfig struct {
	op      string
	f       fp.Format
	pol     fp.MaskPolicy
	round   bool
	decimal bool
	ce      oracle.CEOptions
}

func oracleMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("oracle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), oracleUsage)
		fs.PrintDefaults()
	}
	op := fs.String("op", "", "operation: lse, softmax, logsoftmax or ce (required)")
	format := fs.String("format", "", "format of inputs and outputs: fp16, bf16, fp32, fp64, e4m3 or e5m2 (required)")
	policy := fs.String("policy", "nan", "fully masked rows: nan (torch.softmax) or zero (FlashAttention, JAX)")
	round := fs.Bool("round", false, "round inputs to the format instead of refusing non-members")
	decimal := fs.Bool("decimal", false, "print shortest round-tripping decimals instead of hex floats")
	ignore := fs.Int("ignore-index", -100, "ce: target class that marks an ignored row (its loss is 0)")
	smoothing := fs.Float64("label-smoothing", 0, "ce: label smoothing ε in [0, 1] (its float64 value, taken exactly)")
	weights := fs.String("weights", "", "ce: comma-separated class weights (one per logit), default all 1")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fuzz oracle: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q (rows are read from stdin)", fs.Arg(0))
	}
	cfg := oracleConfig{op: *op, round: *round, decimal: *decimal}
	switch cfg.op {
	case "lse", "softmax", "logsoftmax", "ce":
	case "":
		return fail("-op is required (lse, softmax, logsoftmax or ce)")
	default:
		return fail("unknown -op %q (want lse, softmax, logsoftmax or ce)", cfg.op)
	}
	if *format == "" {
		return fail("-format is required (fp16, bf16, fp32, fp64, e4m3 or e5m2)")
	}
	var err error
	if cfg.f, err = fp.ParseFormat(*format); err != nil {
		return fail("-format: %v", err)
	}
	if cfg.pol, err = fp.ParseMaskPolicy(*policy); err != nil {
		return fail("-policy: %v", err)
	}
	if !(*smoothing >= 0 && *smoothing <= 1) {
		return fail("-label-smoothing %v: want a value in [0, 1]", *smoothing)
	}
	cfg.ce = oracle.DefaultCEOptions()
	cfg.ce.Reduction = oracle.ReduceNone
	cfg.ce.IgnoreIndex = *ignore
	cfg.ce.LabelSmoothing = *smoothing
	if *weights != "" {
		for i, s := range strings.Split(*weights, ",") {
			n, err := parseNumber(strings.TrimSpace(s))
			if err == nil && (!n.isFloat64() || n.special || n.val < 0) {
				err = errors.New("want a finite, non-negative float64 value")
			}
			if err != nil {
				return fail("-weights: weight %d %q: %v", i+1, s, err)
			}
			cfg.ce.Weights = append(cfg.ce.Weights, n.val)
		}
	}
	if cfg.op != "ce" && (*weights != "" || *smoothing != 0 || *ignore != -100) {
		return fail("-weights, -label-smoothing and -ignore-index apply to -op ce only")
	}
	return runOracle(cfg, stdin, stdout, stderr)
}

// runOracle answers every line of stdin; see oracleUsage.
func runOracle(cfg oracleConfig, stdin io.Reader, stdout, stderr io.Writer) int {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	sc := bufio.NewScanner(stdin)
	// The limit is the larger of maxLineBytes and the initial buffer's capacity.
	sc.Buffer(make([]byte, 0, min(64<<10, maxLineBytes)), maxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		vals, status, err := answer(cfg, sc.Text())
		if err != nil {
			out.Flush()
			fmt.Fprintf(stderr, "fuzz oracle: line %d: %v\n", line, err)
			return status
		}
		for i, v := range vals {
			if i > 0 {
				out.WriteByte(' ')
			}
			out.WriteString(formatValue(cfg.f, v, cfg.decimal))
		}
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		out.Flush()
		if errors.Is(err, bufio.ErrTooLong) {
			fmt.Fprintf(stderr, "fuzz oracle: line %d: longer than %d bytes\n", line+1, maxLineBytes)
			return 2
		}
		fmt.Fprintf(stderr, "fuzz oracle: reading stdin: %v\n", err)
		return 1
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "fuzz oracle: writing stdout: %v\n", err)
		return 1
	}
	return 0
}

// answer computes one line's outputs. On error it also returns the exit
// status: 2 for bad input, 1 for an oracle failure.
func answer(cfg oracleConfig, text string) ([]float64, int, error) {
	nums, err := parseLine(text)
	if err != nil {
		return nil, 2, err
	}
	if len(nums) == 0 {
		return nil, 0, nil // blank line: echoed
	}
	target := 0
	if cfg.op == "ce" {
		t, err := strconv.Atoi(nums[0].text)
		if err != nil {
			return nil, 2, newFieldError(0, nums[0].text, "target class: not an integer")
		}
		nums = nums[1:]
		if len(nums) == 0 {
			return nil, 2, errors.New("ce: a target class and no logits")
		}
		if t != cfg.ce.IgnoreIndex && (t < 0 || t >= len(nums)) {
			return nil, 2, newFieldError(0, strconv.Itoa(t),
				fmt.Sprintf("target class out of range [0, %d) and not -ignore-index %d", len(nums), cfg.ce.IgnoreIndex))
		}
		if cfg.ce.Weights != nil && len(cfg.ce.Weights) != len(nums) {
			return nil, 2, fmt.Errorf("ce: %d logits but %d -weights", len(nums), len(cfg.ce.Weights))
		}
		target = t
	}
	x := make([]float64, len(nums))
	for i, n := range nums {
		if x[i], err = n.inFormat(cfg.f, cfg.round); err != nil {
			field := i
			if cfg.op == "ce" {
				field++
			}
			return nil, 2, newFieldError(field, n.text, err.Error())
		}
	}
	var vs []oracle.Value
	switch cfg.op {
	case "lse":
		var v oracle.Value
		v, err = oracle.LSE(cfg.f, x)
		vs = []oracle.Value{v}
	case "softmax":
		vs, err = oracle.Softmax(cfg.f, x, cfg.pol)
	case "logsoftmax":
		vs, err = oracle.LogSoftmax(cfg.f, x, cfg.pol)
	case "ce":
		vs, err = oracle.CrossEntropy(cfg.f, x, 1, len(x), []int{target}, cfg.ce)
	}
	if err != nil {
		return nil, 1, fmt.Errorf("oracle: %w", err)
	}
	res := make([]float64, len(vs))
	for i, v := range vs {
		res[i] = v.Rounded
	}
	return res, 0, nil
}

// formatValue prints v, a value of f: "nan", "inf", "-inf", or a hex float
// in strconv's shortest 'x' form (which strconv.ParseFloat reads back
// exactly); with decimal, the shortest decimal whose exact value rounds to v
// in f.
func formatValue(f fp.Format, v float64, decimal bool) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case !decimal:
		return strconv.FormatFloat(v, 'x', -1, 64)
	case v == 0 || f == fp.FP64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case f == fp.FP32:
		return strconv.FormatFloat(v, 'g', -1, 32)
	}
	for prec := 1; prec < 17; prec++ {
		s := strconv.FormatFloat(v, 'g', prec, 64)
		if n, err := parseNumber(s); err == nil {
			if r, err := n.inFormat(f, true); err == nil && r == v {
				return s
			}
		}
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
