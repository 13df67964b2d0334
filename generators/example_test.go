package generators_test

import (
	"fmt"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"pgregory.net/rapid"
)

// A property draws cases from a generator built once outside it; each case carries its
// format and the class that produced it.
func ExampleRow() {
	g := generators.Row(fp.FP16, generators.Only(generators.RowMaskedSentinel), generators.Lengths(4))
	c := g.Example(3)
	fmt.Print(c)
	for _, x := range c.X {
		if !fp.FP16.Contains(x) {
			fmt.Println("not fp16:", x)
		}
	}
	_ = rapid.Check // properties use g.Draw(t, "case") inside rapid.Check
	// Output:
	// Case{format=fp16 class=row/masked-sentinel rows=1 cols=4}
	// x[0] row/masked-sentinel: [0x1.fep-01 (0.99609375) [0x3bf8], 0x1p+00 (1) [0x3c00], -0x1.388p+13 (-10000) [0xf0e2], 0x1.048p+01 (2.03515625) [0x4012]]
}
