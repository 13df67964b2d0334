// Package oraclecmd is the oracle command: the exact oracle on rows read from stdin, one row per
// line, its correctly rounded results printed one line per row. Two binaries run it: "fuzz oracle"
// in the campaign tool, and ulporacle, a binary with nothing else in it, whose start takes a
// third of the time (the fuzz binary initialises its generators, plots and reports first), for
// callers that start it once per batch of rows.
package oraclecmd

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// maxLineBytes bounds one input line (a row of 4096 logits in hex takes
// about 100 KiB). A variable so that tests can lower it.
var maxLineBytes = 64 << 20

const oracleUsage = `usage: %[1]s -op lse|softmax|logsoftmax|ce -format F [flags] < rows

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
  echo '0 0 0 0' | %[1]s -op softmax -format fp16
  0x1p-02 0x1p-02 0x1p-02 0x1p-02

Flags:
`

// oracleConfig is the parsed command line of the oracle command.
type oracleConfig struct {
	name    string // the command's name in messages: "fuzz oracle", "ulporacle"
	op      string
	f       fp.Format
	pol     fp.MaskPolicy
	round   bool
	decimal bool
	ce      oracle.CEOptions
}

// Summary is the command's description in one line.
const Summary = "print the correctly rounded LSE, softmax, log-softmax or cross-entropy of rows read from stdin"

// Main runs the oracle command with the arguments after its name, reading rows from stdin and
// writing results to stdout and messages to stderr, and returns the exit status: 0 success, 1 an
// oracle failure or an I/O error, 2 a usage error or bad input. name is how the command was
// invoked ("fuzz oracle", "ulporacle"), for the usage and the messages. Main does not call
// os.Exit and touches no other stream, so that tests run it in process.
func Main(name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), oracleUsage, name)
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
		fmt.Fprintf(stderr, "%s: %s\n", name, fmt.Sprintf(format, a...))
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q (rows are read from stdin)", fs.Arg(0))
	}
	cfg := oracleConfig{name: name, op: *op, round: *round, decimal: *decimal}
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

// runOracle answers every line of stdin; see oracleUsage. Rows are independent, so with more
// than one CPU (GOMAXPROCS) batches of lines are answered by that many workers and printed in
// input order; the output bytes, the error message and the exit status are those of answering
// the lines one after another, which is what happens with one CPU.
func runOracle(cfg oracleConfig, stdin io.Reader, stdout, stderr io.Writer) int {
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	sc := bufio.NewScanner(stdin)
	// The limit is the larger of maxLineBytes and the initial buffer's capacity.
	sc.Buffer(make([]byte, 0, min(64<<10, maxLineBytes)), maxLineBytes)
	fail := func(line, status int, err error) int {
		out.Flush()
		fmt.Fprintf(stderr, "%s: line %d: %v\n", cfg.name, line, err)
		return status
	}
	var line int
	if workers := oracleWorkers(); workers > 1 {
		var b *oracleBatch
		line, b = runOracleParallel(cfg, sc, out, workers)
		if b != nil {
			return fail(b.errLine, b.status, b.err)
		}
	} else {
		var st lineState
		for sc.Scan() {
			line++
			if status, err := st.answerLine(cfg, sc.Bytes()); err != nil {
				return fail(line, status, err)
			}
			out.Write(st.buf)
		}
	}
	if err := sc.Err(); err != nil {
		out.Flush()
		if errors.Is(err, bufio.ErrTooLong) {
			fmt.Fprintf(stderr, "%s: line %d: longer than %d bytes\n", cfg.name, line+1, maxLineBytes)
			return 2
		}
		fmt.Fprintf(stderr, "%s: reading stdin: %v\n", cfg.name, err)
		return 1
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "%s: writing stdout: %v\n", cfg.name, err)
		return 1
	}
	return 0
}

// oracleWorkers returns the number of goroutines that answer lines (a variable for tests).
var oracleWorkers = func() int { return runtime.GOMAXPROCS(0) }

// lineState is what answering a line reuses from one line to the next.
type lineState struct {
	x    []float64      // the fast path's row
	vals []oracle.Value // its results
	buf  []byte         // the line's output
}

// answerLine sets st.buf to the output line (newline included) for the input line text, or
// returns the exit status and the error; text is not kept.
func (st *lineState) answerLine(cfg oracleConfig, text []byte) (int, error) {
	st.buf = st.buf[:0]
	ok := false
	if cfg.op != "ce" {
		st.x, ok = fastRow(text, cfg.f, st.x)
	}
	if ok {
		var err error
		if st.vals, err = compute(cfg, st.vals[:0], st.x, 0); err != nil {
			return 1, fmt.Errorf("oracle: %w", err)
		}
		for i, v := range st.vals {
			if i > 0 {
				st.buf = append(st.buf, ' ')
			}
			st.buf = appendValue(st.buf, cfg.f, v.Rounded, cfg.decimal)
		}
	} else {
		vals, status, err := answer(cfg, string(text))
		if err != nil {
			return status, err
		}
		for i, v := range vals {
			if i > 0 {
				st.buf = append(st.buf, ' ')
			}
			st.buf = appendValue(st.buf, cfg.f, v, cfg.decimal)
		}
	}
	st.buf = append(st.buf, '\n')
	return 0, nil
}

// An oracleBatch is a run of consecutive input lines answered by one worker.
type oracleBatch struct {
	first int           // the number of its first line
	text  []byte        // the lines, one after another
	ends  []int         // ends[k]: the end of line k in text
	out   []byte        // the output lines of the lines answered
	done  chan struct{} // receives once when out (and err) are final
	// The first line that failed, if any: its number, exit status and error. Lines after it are
	// not answered.
	errLine, status int
	err             error
}

// batchBytes and batchLines bound one batch: large enough that handing it over costs little
// beside answering it, small enough that workers share short inputs.
const (
	batchBytes = 16 << 10
	batchLines = 256
)

// runOracleParallel answers sc's lines with workers goroutines and writes the output lines to
// out in input order, up to the first failing line. It returns the number of lines read and the
// batch holding the first failure (nil when none); sc.Err() is then the reading error, if any.
func runOracleParallel(cfg oracleConfig, sc *bufio.Scanner, out io.Writer, workers int) (int, *oracleBatch) {
	jobs := make(chan *oracleBatch, workers)
	order := make(chan *oracleBatch, workers+1) // bounds the batches in flight
	// Written batches come back for the reader to refill: their buffers keep their capacity, so
	// that a long input allocates (and, in a fresh process, faults in) a few batches' worth of
	// memory, not its own size. At most cap(order)+2 batches exist (in order, being read, being
	// written).
	free := make(chan *oracleBatch, cap(order)+2)
	quit := make(chan struct{})
	defer close(quit)
	var lines int
	go func() { // the reader: lines into batches, in order
		eof := false
		defer close(jobs)
		defer close(order)
		for {
			select {
			case <-quit: // a line failed: stop reading
				return
			default:
			}
			var b *oracleBatch
			select {
			case b = <-free:
			default:
				// Room for batchBytes and the line that crosses it, usually: growing by append
				// would leave the smaller copies behind as garbage.
				b = &oracleBatch{done: make(chan struct{}, 1), text: make([]byte, 0, batchBytes*3/2), out: make([]byte, 0, batchBytes*3/2)}
			}
			b.first = lines + 1
			// Scan must not be called again once it has returned false: after an error it would
			// return the rest of its buffer (the start of an over-long line) as a last line.
			for !eof && len(b.ends) < batchLines && len(b.text) < batchBytes {
				if !sc.Scan() {
					eof = true
					break
				}
				b.text = append(b.text, sc.Bytes()...)
				b.ends = append(b.ends, len(b.text))
			}
			if len(b.ends) == 0 {
				return
			}
			lines += len(b.ends)
			select {
			case order <- b:
			case <-quit:
				return
			}
			jobs <- b // a worker is free or will be: workers drain jobs until it closes
		}
	}()
	for range workers {
		go func() {
			var st lineState
			for b := range jobs {
				start := 0
				for k, end := range b.ends {
					status, err := st.answerLine(cfg, b.text[start:end])
					if err != nil {
						b.errLine, b.status, b.err = b.first+k, status, err
						break
					}
					b.out = append(b.out, st.buf...)
					start = end
				}
				b.done <- struct{}{}
			}
		}()
	}
	for b := range order {
		<-b.done
		out.Write(b.out)
		if b.err != nil {
			// Drain in the background so that the reader and the workers finish.
			go func() {
				for b := range order {
					<-b.done
				}
			}()
			return b.first + len(b.ends) - 1, b
		}
		b.text, b.ends, b.out = b.text[:0], b.ends[:0], b.out[:0]
		select {
		case free <- b: // always taken (see free); the default only guards the count
		default:
		}
	}
	return lines, nil
}

// fastRow parses line into x (reused; the result is returned) when every field is a plain
// literal that parseExact reads exactly, or one of nan, inf, +inf, -inf, and is a value of f,
// and the line is ASCII and not blank. It allocates nothing. Otherwise ok is false and the
// caller parses the line with parseLine and number.inFormat, which give the same values
// wherever fastRow succeeds (the fields are split at the same ASCII white space as
// strings.Fields, and a member of f is taken as it is, -round or not), and the error messages.
func fastRow(line []byte, f fp.Format, x []float64) ([]float64, bool) {
	x = x[:0]
	for i := 0; i < len(line); {
		if asciiSpace(line[i]) {
			i++
			continue
		}
		// A literal is read in place; it must end the field. Any other field is one of the
		// special names or is left to the general path (a byte ≥ 0x80 cannot be part of a
		// literal or a name, so a line with one goes there too: strings.Fields splits at Unicode
		// white space).
		v, end, ok := scanExact(line, i)
		if ok && (end < len(line) && !asciiSpace(line[end]) || end-i > maxFieldLen) {
			return x, false
		}
		if !ok {
			end = i
			for end < len(line) && !asciiSpace(line[end]) {
				end++
			}
			switch string(line[i:end]) { // no allocation: the conversion is only compared
			case "nan":
				v = math.NaN()
			case "inf", "+inf":
				v = math.Inf(1)
			case "-inf":
				v = math.Inf(-1)
			default:
				return x, false
			}
		}
		if !member(f, v) {
			return x, false
		}
		x = append(x, v)
		i = end
	}
	return x, len(x) > 0
}

// asciiSpace reports whether c is one of the ASCII white space bytes of strings.Fields.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// member reports whether the float64 v is a value of f: f.Contains, with the float32 conversion
// for fp32 (exact exactly for fp32 values; out of range it gives ±Inf, which differs from a
// finite v, and ±Inf are fp32 values).
func member(f fp.Format, v float64) bool {
	if f == fp.FP32 && !math.IsNaN(v) {
		return float64(float32(v)) == v
	}
	return f.Contains(v)
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
	vs, err := compute(cfg, nil, x, target)
	if err != nil {
		return nil, 1, fmt.Errorf("oracle: %w", err)
	}
	res := make([]float64, len(vs))
	for i, v := range vs {
		res[i] = v.Rounded
	}
	return res, 0, nil
}

// compute runs the oracle on one row of values of cfg.f (target: ce's class) and appends the
// results to dst.
func compute(cfg oracleConfig, dst []oracle.Value, x []float64, target int) ([]oracle.Value, error) {
	switch cfg.op {
	case "lse":
		v, err := oracle.LSE(cfg.f, x)
		return append(dst, v), err
	case "softmax":
		return oracle.AppendSoftmax(dst, cfg.f, x, cfg.pol)
	case "logsoftmax":
		return oracle.AppendLogSoftmax(dst, cfg.f, x, cfg.pol)
	case "ce":
		vs, err := oracle.CrossEntropy(cfg.f, x, 1, len(x), []int{target}, cfg.ce)
		return append(dst, vs...), err
	}
	return nil, fmt.Errorf("unknown operation %q", cfg.op)
}

// appendValue appends formatValue(f, v, decimal) to b; the hex form without a string.
func appendValue(b []byte, f fp.Format, v float64, decimal bool) []byte {
	if !decimal && !math.IsNaN(v) && !math.IsInf(v, 0) {
		return strconv.AppendFloat(b, v, 'x', -1, 64)
	}
	return append(b, formatValue(f, v, decimal)...)
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
