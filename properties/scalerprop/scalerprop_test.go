package scalerprop

import (
	"testing"
)

func TestBundled(t *testing.T) {
	Check(t, Bundled())
}
