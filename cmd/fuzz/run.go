// This file implements "fuzz run": a campaign over bundled or external kernels, with a report.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
	"github.com/ulpcheck/ulpcheck/reports"
)

func init() {
	register(&command{name: "run", summary: "run a campaign and write a report (JSON, Markdown, HTML)", run: runCmd})
}

// interrupts is the set of signals that end a campaign early with a report; tests replace it.
var interrupts = []os.Signal{os.Interrupt, syscall.SIGTERM}

// The default campaign: every bundled kernel in every format, sized to finish in well under two
// minutes on two cores.
const (
	defaultCases  = 500
	defaultMaxLen = 0
)

func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		kernelsFlag = fs.String("kernels", "all", "kernels to test: `names` or shell patterns (softmax/*/fp16; a pattern also covers the names below it: ce/* matches ce/fused/fp32), comma-separated, or all")
		opsFlag     = fs.String("ops", "all", "operations: softmax, logsoftmax, lse, ce, softmaxbwd, cegrad, softplus, logsigmoid, sigmoid, sigmoidgrad, bce, bcegrad, gradnorm, clipnorm, clipvalue (comma-separated) or all")
		formatsFlag = fs.String("formats", "all", "input formats: fp16, bf16, fp32, fp64, e4m3, e5m2 (comma-separated) or all")
		cases       = fs.Int64("cases", defaultCases, "cases per kernel (before sharding)")
		seed        = fs.Uint64("seed", 1, "campaign seed: the same seed and flags give the same report")
		shardFlag   = fs.String("shard", "0/1", "run shard `i/n` of the cases (case j belongs to shard j mod n)")
		workers     = fs.Int("workers", runtime.NumCPU(), "parallel workers")
		timeout     = fs.Duration("timeout", 0, "per-call kernel timeout (0: each kernel's own, 10s by default)")
		out         = fs.String("out", "report", "output `directory` for report.json, report.md and report.html")
		jsonOut     = fs.Bool("json", false, "also write the JSON report to stdout (progress goes to stderr)")
		maxLen      = fs.Int("maxlen", defaultMaxLen, "longest row drawn (0: the generators' full range, up to 4096)")
		noShrink    = fs.Bool("noshrink", false, "keep counterexamples as found, without shrinking")
		execFlag    = fs.String("exec", "", "test the kernels served by an external `command` (ulpcheck-kernel protocol; no shell)")
		quiet       = fs.Bool("q", false, "no progress output")
		tolFlag     = fs.String("tolerance", "condition", toleranceUsage)
		cpuProfile  = fs.String("cpuprofile", "", "write a CPU profile of the campaign to `file` (go tool pprof)")
		memProfile  = fs.String("memprofile", "", "write an allocation profile of the campaign to `file` when it ends (go tool pprof)")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fuzz run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	shard, err := parseShard(*shardFlag)
	if err != nil {
		fmt.Fprintf(stderr, "fuzz run: %v\n", err)
		return 2
	}
	tol, err := parseTolerance(*tolFlag)
	if err != nil {
		fmt.Fprintf(stderr, "fuzz run: %v\n", err)
		return 2
	}
	if *cases < 0 || *workers < 1 || *maxLen < 0 {
		fmt.Fprintln(stderr, "fuzz run: -cases and -maxlen must be ≥ 0 and -workers ≥ 1")
		return 2
	}

	// Check that the report can be written before the first case, not after the campaign.
	if err := checkOutDir(*out); err != nil {
		fmt.Fprintf(stderr, "fuzz run: -out %s: %v\n", *out, err)
		return 2
	}

	if os.Getenv("GOGC") == "" {
		// A campaign allocates many short-lived big.Floats and rows: a larger heap target cuts
		// the collector's share (measured: 3000 cases × 4 kernels, 1 worker, 3.76 s → 2.82 s).
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), interrupts...)
	defer stop()

	var pool []*kernels.Kernel
	source := map[string]string{}
	if *execFlag != "" {
		ks, closer, err := startExternal(ctx, *execFlag, *timeout, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "fuzz run: -exec: %v\n", err)
			return 2
		}
		defer closer()
		for _, k := range ks {
			source[k.Name] = "external: " + *execFlag
		}
		pool = ks
	} else {
		pool = kernels.Bundled()
		for _, k := range pool {
			source[k.Name] = "bundled"
		}
	}
	ks, err := selectKernels(pool, *kernelsFlag, *opsFlag, *formatsFlag)
	if err != nil {
		fmt.Fprintf(stderr, "fuzz run: %v\n", err)
		return 2
	}
	if *timeout > 0 && *execFlag == "" { // an external program's calls are timed by its Process
		for _, k := range ks {
			k.Timeout = *timeout
		}
	}

	cfg := map[string]string{
		"kernels": *kernelsFlag, "ops": *opsFlag, "formats": *formatsFlag,
		"cases": strconv.FormatInt(*cases, 10), "maxlen": strconv.Itoa(*maxLen),
		"shrink": strconv.FormatBool(!*noShrink),
	}
	if *execFlag != "" {
		cfg["exec"] = *execFlag
	}
	if *tolFlag != "condition" {
		cfg["tolerance"] = *tolFlag
	}
	c := &campaign{Kernels: ks, Cases: *cases, Seed: *seed, Shard: shard, Workers: *workers,
		MaxLen: *maxLen, Shrink: !*noShrink, Config: cfg, Opts: []properties.Option{properties.WithTolerance(tol)}}
	var finish func()
	if !*quiet {
		c.Progress, finish = progress(stderr, int64(len(ks))*shardCount(shard, *cases))
	}
	stopProfiles, err := startProfiles(*cpuProfile, *memProfile)
	if err != nil {
		fmt.Fprintf(stderr, "fuzz run: %v\n", err)
		return 2
	}
	started := time.Now().UTC()
	r, err := c.run(ctx, source)
	if perr := stopProfiles(); perr != nil {
		fmt.Fprintf(stderr, "fuzz run: %v\n", perr)
		return 1
	}
	if finish != nil {
		finish()
	}
	if err != nil {
		fmt.Fprintf(stderr, "fuzz run: %v\n", err)
		return 1
	}
	r.Timing = &reports.Timing{Started: started, Finished: time.Now().UTC()}
	interrupted := ctx.Err() != nil
	if interrupted {
		r.Config["interrupted"] = "true"
	}
	if err := writeReport(*out, r); err != nil {
		fmt.Fprintf(stderr, "fuzz run: writing the report: %v\n", err)
		return 1
	}
	if *jsonOut {
		if err := reports.WriteJSON(stdout, r); err != nil {
			fmt.Fprintf(stderr, "fuzz run: %v\n", err)
			return 1
		}
	}
	unexpected := summarize(stderr, r, *out)
	if interrupted {
		fmt.Fprintf(stderr, "interrupted: the report covers the %d cases completed (exit status %d)\n", r.Cases, exitInterrupted)
		return exitInterrupted
	}
	if unexpected > 0 {
		return 1
	}
	return 0
}

// exitInterrupted is the exit status of a campaign stopped by SIGINT or SIGTERM (128 + SIGINT, as
// shells report it), so that a cancelled CI job never looks green. Its report is still written.
const exitInterrupted = 130

// startProfiles starts the CPU profile (cpu ≠ "") and returns the function that stops it and
// writes the allocation profile (mem ≠ ""); both files are created before the campaign starts,
// so that a bad path fails at once.
func startProfiles(cpu, mem string) (stop func() error, err error) {
	var cf, mf *os.File
	if cpu != "" {
		if cf, err = os.Create(cpu); err != nil {
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
		if err = pprof.StartCPUProfile(cf); err != nil {
			cf.Close()
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
	}
	if mem != "" {
		if mf, err = os.Create(mem); err != nil {
			if cf != nil {
				pprof.StopCPUProfile()
				cf.Close()
			}
			return nil, fmt.Errorf("-memprofile: %w", err)
		}
	}
	return func() error {
		var errs []error
		if cf != nil {
			pprof.StopCPUProfile()
			if err := cf.Close(); err != nil {
				errs = append(errs, fmt.Errorf("-cpuprofile: %w", err))
			}
		}
		if mf != nil {
			if err := pprof.Lookup("allocs").WriteTo(mf, 0); err != nil {
				errs = append(errs, fmt.Errorf("-memprofile: %w", err))
			}
			if err := mf.Close(); err != nil {
				errs = append(errs, fmt.Errorf("-memprofile: %w", err))
			}
		}
		return errors.Join(errs...)
	}, nil
}

// checkOutDir creates dir if needed and checks that a file can be created in it.
func checkOutDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".ulpcheck-write-test*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// parseShard parses "i/n" with 0 ≤ i < n.
func parseShard(s string) (reports.Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return reports.Shard{}, fmt.Errorf("bad -shard %q: want i/n with 0 ≤ i < n", s)
	}
	return reports.Shard{N: n, I: []int{i}}, nil
}

func shardCount(s reports.Shard, cases int64) int64 {
	var n int64
	for i := int64(0); i < cases; i++ {
		if inShard(s, i) {
			n++
		}
	}
	return n
}

// selectKernels filters pool by names or patterns, operations and input formats.
func selectKernels(pool []*kernels.Kernel, names, ops, formats string) ([]*kernels.Kernel, error) {
	split := func(s string) []string {
		var out []string
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		return out
	}
	opSet := map[kernels.Op]bool{}
	if ops != "all" {
		for _, o := range split(ops) {
			op, err := kernels.ParseOp(o)
			if err != nil {
				return nil, err
			}
			opSet[op] = true
		}
	}
	fmtSet := map[fp.Format]bool{}
	if formats != "all" {
		for _, s := range split(formats) {
			f, err := fp.ParseFormat(s)
			if err != nil {
				return nil, err
			}
			fmtSet[f] = true
		}
	}
	var pats []string
	if names != "all" {
		pats = split(names)
		for _, p := range pats {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("bad kernel pattern %q: %v", p, err)
			}
		}
	}
	matched := map[string]bool{}
	var ks []*kernels.Kernel
	for _, k := range pool {
		if len(opSet) > 0 && !opSet[k.Op] || len(fmtSet) > 0 && !fmtSet[k.In] {
			continue
		}
		ok := pats == nil
		for _, p := range pats {
			// A pattern also covers the names below it: softmax/* matches softmax/naive/fp16.
			for _, q := range []string{p, p + "/*", p + "/*/*"} {
				if m, _ := path.Match(q, k.Name); m || p == k.Name {
					ok, matched[p] = true, true
				}
			}
		}
		if ok {
			ks = append(ks, k)
		}
	}
	for _, p := range pats {
		if !matched[p] {
			return nil, fmt.Errorf("no kernel matches %q (fuzz list shows them)", p)
		}
	}
	if len(ks) == 0 {
		return nil, errors.New("no kernel left after filtering by -ops and -formats")
	}
	return ks, nil
}

// writeReport writes report.json, report.md and report.html into dir, each atomically.
func writeReport(dir string, r *reports.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, w := range []struct {
		name  string
		write func(io.Writer, *reports.Report) error
	}{
		{"report.json", reports.WriteJSON},
		{"report.md", reports.WriteMarkdown},
		{"report.html", reports.WriteHTML},
	} {
		if err := reports.WriteFileAtomic(filepath.Join(dir, w.name), func(out io.Writer) error { return w.write(out, r) }); err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
	}
	return nil
}

// summarize prints the verdict line, then the unexpected findings (each with its replay
// command), then the kernels that failed as declared, and returns the number of failing cells of
// kernels that are not declared broken (the exit status counts only those).
func summarize(w io.Writer, r *reports.Report, dir string) int {
	v := r.Verdict()
	fmt.Fprintln(w, v.Line())
	unexpected := 0
	for i := range r.Cells {
		if c := &r.Cells[i]; c.Failures > 0 && slices.Contains(v.Unexpected, c.Kernel) {
			unexpected++
		}
	}
	shown := map[reports.Key]bool{}
	for _, f := range r.Findings() {
		if !f.Unexpected || shown[f.Cell.Key] {
			continue
		}
		shown[f.Cell.Key] = true // one example per cell: the first of its first class
		ex := f.Cell.First()
		fmt.Fprintf(w, "FAIL      %s: %d of %d cases (%s)\n", f.Cell.Key, f.Cell.Failures, f.Cell.Cases, ex.Class)
		if ex.Message != "" {
			fmt.Fprintf(w, "          %s\n", truncateLine(ex.Message, 200))
		}
		if ex.Replay != "" {
			fmt.Fprintf(w, "          replay: %s\n", ex.Replay)
		}
	}
	perKernel := map[string]int64{}
	casesOf := map[string]int64{}
	for _, c := range r.Cells {
		perKernel[c.Kernel] += c.Failures
		if c.Property == "accuracy" {
			casesOf[c.Kernel] = c.Cases
		}
	}
	for _, name := range v.Expected {
		fmt.Fprintf(w, "expected  %-28s %d property failures in %d cases (deliberately broken)\n", name, perKernel[name], casesOf[name])
	}
	for _, name := range v.Unconfirmed {
		fmt.Fprintf(w, "note      %-28s declared broken but no failure found in %d cases\n", name, casesOf[name])
	}
	fmt.Fprintf(w, "report in %s (report.html, report.md, report.json)\n", dir)
	return unexpected
}

func truncateLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// progress returns a progress callback: a bar with cases/s and findings on a terminal, a plain
// line every few seconds otherwise; and a function that ends it.
func progress(w io.Writer, total int64) (func(done, total, findings int64), func()) {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("cases"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("cases"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		return func(done, _, findings int64) {
				bar.Describe(fmt.Sprintf("cases (%d failing)", findings))
				bar.Set64(done)
			}, func() {
				bar.Finish()
			}
	}
	start := time.Now()
	var last time.Time
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	return func(done, total, findings int64) {
		select {
		case <-mu:
		default:
			return
		}
		defer func() { mu <- struct{}{} }()
		if now := time.Now(); now.Sub(last) >= 5*time.Second || done == total {
			last = now
			rate := float64(done) / now.Sub(start).Seconds()
			fmt.Fprintf(w, "%d/%d cases, %.0f cases/s, %d failing cases\n", done, total, rate, findings)
		}
	}, func() {}
}
