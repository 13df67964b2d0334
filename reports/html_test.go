package reports

import (
	"bytes"
	"context"
	"encoding/xml"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func synthHTML(t *testing.T) []byte {
	t.Helper()
	r, err := synthRun(3, 600, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestHTMLStructure parses the HTML leniently (encoding/xml in HTML mode) and checks that it is
// self-contained (no external src/href; xmlns namespace names excepted), holds the summary table
// with one row per cell, one inline SVG per plot (histograms and scatters of the two kernels'
// accuracy cells), and that each SVG is well-formed XML with drawn paths and text.
func TestHTMLStructure(t *testing.T) {
	doc := synthHTML(t)
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	counts := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("HTML does not parse: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			for _, a := range se.Attr {
				if (a.Name.Local == "src" || a.Name.Local == "href") && !strings.HasPrefix(a.Value, "#") {
					t.Errorf("external reference <%s %s=%q>", se.Name.Local, a.Name.Local, a.Value)
				}
			}
			if se.Name.Local == "link" || se.Name.Local == "img" {
				t.Errorf("element <%s> in a self-contained report", se.Name.Local)
			}
		}
	}
	// 2 kernels × (accuracy, no-nan) = 4 cells; plots: a histogram and a scatter per kernel.
	if counts["svg"] != 4 {
		t.Errorf("%d <svg> elements, want 4 (2 histograms, 2 scatters)", counts["svg"])
	}
	if counts["figure"] != 4 || counts["table"] < 3 {
		t.Errorf("%d figures and %d tables", counts["figure"], counts["table"])
	}
	s := string(doc)
	for i := 0; i < 4; i++ {
		start := strings.Index(s, "<svg")
		end := strings.Index(s, "</svg>")
		if start < 0 || end < start {
			t.Fatalf("svg %d not found", i)
		}
		svg := s[start : end+len("</svg>")]
		s = s[end+len("</svg>"):]
		if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
			t.Errorf("svg %d is not well-formed XML: %v", i, err)
		}
		// Marks: the subpaths of the paths (inlineSVG joins runs of marks into one path each).
		marks := 0
		for _, m := range regexp.MustCompile(`<path d="([^"]*)"`).FindAllStringSubmatch(svg, -1) {
			marks += strings.Count(m[1], "M")
		}
		if marks < 10 || !strings.Contains(svg, "<text") {
			t.Errorf("svg %d draws %d marks and no text? %.200s", i, marks, svg)
		}
	}
	for _, want := range []string{"naive.softmax", "shifted.softmax", "first counterexample", "theoretical bound", "ulp error", `id="verdict"`, `id="matrix"`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// TestHTMLInBrowser renders the report with headless Chromium (Debian's chromium package) and
// checks that the screenshot shows the plots: it must contain many pixels of the plots' blue
// and red. Without chromium the test says so and skips; TestHTMLStructure still runs.
// ULPCHECK_SCREENSHOT=path keeps the screenshot (the README's docs/report-screenshot.png).
func TestHTMLInBrowser(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("ULPCHECK_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("chromium not found and ULPCHECK_REQUIRE_CHROMIUM=1 (as in CI)")
		}
		t.Skip("chromium not found: the HTML is checked structurally only (TestHTMLStructure)")
	}
	t.Logf("rendering with %s", bin)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, synthHTML(t), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot,
		"--window-size=1200,2600", "file://"+page)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	// What the page's script saw (errors, overflowing layout) and the verdict, from the DOM after
	// the scripts ran, in a window of a laptop's size.
	dom, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile2"), "--window-size=1200,900", "--virtual-time-budget=2000",
		"--dump-dom", "file://"+page).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	ds := string(dom)
	if i, j := strings.Index(ds, `<div id="js-errors">`), strings.Index(ds, `<div id="js-errors"></div>`); i < 0 || j != i {
		t.Errorf("the page reports errors: %.400s", ds[max(i, 0):])
	}
	if !strings.Contains(ds, `id="verdict"`) || !strings.Contains(ds, "no unexpected failure") && !strings.Contains(ds, "failed unexpectedly") {
		t.Errorf("the rendered DOM has no verdict line")
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	blue, red := countNear(img, colPass), countNear(img, colFail)
	t.Logf("screenshot %v: %d blue and %d red plot pixels", img.Bounds().Size(), blue, red)
	if blue < 2000 || red < 50 {
		t.Errorf("the screenshot shows %d blue and %d red pixels: the plots did not render", blue, red)
	}
	if p := os.Getenv("ULPCHECK_SCREENSHOT"); p != "" {
		b, _ := os.ReadFile(shot)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Error(err)
		}
	}
}

func countNear(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, c.R) && near(g>>8, c.G) && near(bl>>8, c.B) {
				n++
			}
		}
	}
	return n
}

func near(a uint32, b uint8) bool { d := int(a) - int(b); return d > -24 && d < 24 }

func TestMarkdown(t *testing.T) {
	r, err := synthRun(3, 300, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	rows := 0
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| naive.softmax | softmax | fp16 |") || strings.HasPrefix(l, "| shifted.softmax | softmax | fp32 |") {
			rows++
			if n := strings.Count(l, "|") - strings.Count(l, `\|`); n != 11 {
				t.Errorf("summary row has %d cell separators, want 11: %s", n, l)
			}
		}
	}
	if rows != len(r.Cells) {
		t.Errorf("%d summary rows, want %d (one per cell)\n%s", rows, len(r.Cells), md)
	}
	for _, want := range []string{"## Summary", "## Findings", "| kernel | op | format | property | cases | failures | max ulp | p50 ulp | p99 ulp | first counterexample |",
		"```sh\ngo run ./cmd/fuzz replay", "```go\nfunc TestX", "precision #"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}

// TestWritersEscape: kernel names, messages and commands are data; a hostile name must come out
// escaped in HTML and must not break the Markdown table.
func TestWritersEscape(t *testing.T) {
	name := `<script>alert(1)</script>|x`
	key := Key{Kernel: name, Op: "softmax", Format: "fp16", Property: "accuracy"}
	a := NewAccumulator(Meta{Version: "v", Kernels: []KernelInfo{{Name: name, Notes: "<img src=x>"}}})
	a.Add(Observation{Key: key, Case: 0, ULP: 9, XRange: 1, Bound: 1, Failed: true, Class: "precision loss",
		Example: &Counterexample{Message: "<b>bold</b>", Replay: "go run ./cmd/fuzz replay -kernel '<x>'", Index: -1}})
	r := a.Report()
	var h, m bytes.Buffer
	if err := WriteHTML(&h, r); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"<script>alert", "<img", "<b>", "'<x>'"} {
		if strings.Contains(h.String(), raw) {
			t.Errorf("HTML contains unescaped %q", raw)
		}
	}
	if err := WriteMarkdown(&m, r); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, l := range strings.Split(m.String(), "\n") {
		if strings.HasPrefix(l, "| <script>") && strings.Contains(l, "| softmax | fp16 |") {
			rows++
			if n := strings.Count(l, "|") - strings.Count(l, `\|`); n != 11 {
				t.Errorf("summary row has %d separators, want 11: %s", n, l)
			}
		}
	}
	if rows != 1 {
		t.Errorf("%d summary rows for the hostile kernel, want 1:\n%s", rows, m.String())
	}
}

// TestHTMLVerdictFirst: the verdict line comes before everything else in the body, the
// unexpected findings before the declared ones, the findings before the matrix, and the
// kernels' declarations come last, collapsed.
func TestHTMLVerdictFirst(t *testing.T) {
	r, err := synthRun(3, 600, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	v := r.Verdict()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	body := s[strings.Index(s, "<body>"):]
	verdict := strings.Index(body, `id="verdict"`)
	finding := strings.Index(body, `class="finding`)
	matrix := strings.Index(body, `id="matrix"`)
	kernels := strings.Index(body, `<details id="k-`)
	if verdict < 0 || finding < 0 || matrix < 0 || kernels < 0 || !(verdict < finding && finding < matrix && matrix < kernels) {
		t.Errorf("order verdict %d, first finding %d, matrix %d, kernels %d: want increasing", verdict, finding, matrix, kernels)
	}
	if !strings.Contains(s, html.EscapeString(v.Line())) {
		t.Errorf("HTML lacks the verdict line %q", v.Line())
	}
	if un, ex := strings.Index(body, `id="findings"`), strings.Index(body, `id="expected"`); len(v.Unexpected) > 0 && ex >= 0 && un > ex {
		t.Errorf("declared failures (%d) before unexpected ones (%d)", ex, un)
	}
	if strings.Count(s, "<tr data-fail=") != len(r.Kernels) {
		t.Errorf("matrix has %d rows, want one per kernel (%d)", strings.Count(s, "<tr data-fail="), len(r.Kernels))
	}
}
