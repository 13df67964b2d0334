package external_test

import (
	"fmt"

	"github.com/ulpcheck/ulpcheck/kernels/external"
)

func ExampleSplitArgs() {
	argv, err := external.SplitArgs(`python3 "my kernels/k.py" --dtype 'float16' $HOME`)
	if err != nil {
		panic(err)
	}
	for _, a := range argv {
		fmt.Printf("%q\n", a)
	}
	// Output:
	// "python3"
	// "my kernels/k.py"
	// "--dtype"
	// "float16"
	// "$HOME"
}
