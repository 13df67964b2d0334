package pyenv

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvImportsCheckout: with Env, the interpreter Find picks imports ulpcheck from the
// checkout's python/ directory, whether or not a copy is installed.
func TestEnvImportsCheckout(t *testing.T) {
	py := Find(t)
	cmd := exec.Command(py.Exe, "-c", "import ulpcheck, numpy; print(ulpcheck.__file__)")
	cmd.Env = py.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", py.Exe, err, out)
	}
	got := strings.TrimSpace(string(out))
	want := filepath.Join(py.Root, "python", "ulpcheck", "__init__.py")
	if got != want {
		t.Errorf("ulpcheck imported from %s, want %s", got, want)
	}
}

// TestMissingModule: a module no interpreter has is reported by name, not as a missing numpy.
func TestMissingModule(t *testing.T) {
	Find(t) // skips without numpy
	_, err := Interpreter("ulpcheck_no_such_module")
	if err == nil || !strings.Contains(err.Error(), "ulpcheck_no_such_module") {
		t.Errorf("err = %v, want it to name the missing module", err)
	}
	if err != nil && strings.Contains(err.Error(), ErrNoNumpy.Error()) {
		t.Errorf("err = %v: numpy is there, the other module is missing", err)
	}
}
