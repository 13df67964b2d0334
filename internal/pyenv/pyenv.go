// Package pyenv lets Go tests run the repository's Python code: the protocol clients in
// examples/external and examples/pyclients and `python -m ulpcheck serve`, all of which import
// the ulpcheck package (python/).
//
// Every such test calls Find, which applies one rule:
//
//   - the interpreter is the python3 on PATH when it imports numpy (and the other modules the
//     test names), else /usr/bin/python3 when that one does (Debian's python3-numpy,
//     python3-scipy and python3-torch install there; a pyenv or venv python3 may lack them);
//   - the child's environment has <repository>/python first on PYTHONPATH, so that the
//     package, which is pure Python, is imported from the checkout: a clean clone needs no
//     `pip install ./python`, and an installed copy never shadows the code under test;
//   - without numpy the test skips, unless ULPCHECK_REQUIRE_NUMPY=1 (set by .ci/run where
//     Debian's numpy is installed) makes it fail; without another module it names (scipy,
//     torch) it skips, saying which.
//
// A new client needs nothing more: start it as []string{py.Exe, script} with py.Env().
// The package imports testing and is meant for tests only.
package pyenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// DebianPython is the interpreter tried when the python3 on PATH lacks a module.
const DebianPython = "/usr/bin/python3"

// RequireEnv names the environment variable that turns a missing numpy into a failure.
const RequireEnv = "ULPCHECK_REQUIRE_NUMPY"

// A Python is an interpreter and the checkout whose python/ directory it imports ulpcheck from.
type Python struct {
	Exe  string // absolute path of the interpreter
	Root string // the repository root (the directory holding python/ulpcheck)
}

// PythonPath returns the PYTHONPATH value for the child: <Root>/python, then the current
// PYTHONPATH if any.
func (p Python) PythonPath() string {
	dir := filepath.Join(p.Root, "python")
	if old := os.Getenv("PYTHONPATH"); old != "" {
		return dir + string(os.PathListSeparator) + old
	}
	return dir
}

// Env returns the current environment with PYTHONPATH replaced by PythonPath.
func (p Python) Env() []string {
	env := []string{"PYTHONPATH=" + p.PythonPath()}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PYTHONPATH=") {
			env = append(env, kv)
		}
	}
	return env
}

// Root returns the repository root: the first directory, from the working directory up, that
// holds python/ulpcheck/__init__.py. Tests run in their package's directory, so this works
// from the main module and from examples/thirdparty alike.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "python", "ulpcheck", "__init__.py")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no python/ulpcheck/__init__.py in the working directory or above it")
		}
		dir = up
	}
}

var probes sync.Map // "exe\x00module" → bool

// imports reports whether exe imports module (results cached for the test binary's life).
func imports(exe, module string) bool {
	key := exe + "\x00" + module
	if v, ok := probes.Load(key); ok {
		return v.(bool)
	}
	ok := exec.Command(exe, "-c", "import "+module).Run() == nil
	probes.Store(key, ok)
	return ok
}

// candidates returns the python3 on PATH and DebianPython, as absolute paths, without repeats.
func candidates() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil || seen[real] {
			return
		}
		seen[real] = true
		out = append(out, abs)
	}
	if p, err := exec.LookPath("python3"); err == nil {
		add(p)
	}
	if _, err := os.Stat(DebianPython); err == nil {
		add(DebianPython)
	}
	return out
}

// ErrNoNumpy is wrapped by Interpreter's error when no candidate imports numpy.
var ErrNoNumpy = errors.New("no python3 with numpy (Debian: apt-get install python3-numpy)")

// Interpreter returns the first candidate (python3 on PATH, then DebianPython) that imports
// numpy and every module named. The error wraps ErrNoNumpy when none imports numpy.
func Interpreter(modules ...string) (string, error) {
	cs := candidates()
	if len(cs) == 0 {
		return "", fmt.Errorf("%w: neither python3 on PATH nor %s", ErrNoNumpy, DebianPython)
	}
	var withNumpy []string
	for _, c := range cs {
		if !imports(c, "numpy") {
			continue
		}
		withNumpy = append(withNumpy, c)
		all := true
		for _, m := range modules {
			if !imports(c, m) {
				all = false
				break
			}
		}
		if all {
			return c, nil
		}
	}
	if len(withNumpy) == 0 {
		return "", fmt.Errorf("%w: tried %s", ErrNoNumpy, strings.Join(cs, ", "))
	}
	return "", fmt.Errorf("%s (numpy found in %s) lacks one of: %s", strings.Join(cs, ", "), strings.Join(withNumpy, ", "), strings.Join(modules, ", "))
}

// Find returns the interpreter and checkout for a test that runs Python code importing
// numpy, ulpcheck and the modules named, or ends the test: a skip when a module is missing, a
// failure when numpy is missing and ULPCHECK_REQUIRE_NUMPY=1, or when no checkout is found.
func Find(t testing.TB, modules ...string) Python {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := Interpreter(modules...)
	if err != nil {
		if errors.Is(err, ErrNoNumpy) && os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s=1 but %v", RequireEnv, err)
		}
		t.Skip(err)
	}
	return Python{Exe: exe, Root: root}
}
