// Package cfl holds the test of the ClusterFuzzLite build script.
package cfl

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestBuildScriptFindsEveryTarget runs .clusterfuzzlite/build.sh with a stand-in
// compile_native_go_fuzzer that records its arguments, and checks that every native fuzz target
// of an importable package is built exactly once, under a unique name.
func TestBuildScriptFindsEveryTarget(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.Symlink(root, filepath.Join(src, "ulpcheck")); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "calls")
	stub := "#!/bin/sh\necho \"$1 $2 $3\" >> " + log + "\n"
	if err := os.WriteFile(filepath.Join(bin, "compile_native_go_fuzzer"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, ".clusterfuzzlite", "build.sh"))
	cmd.Env = append(os.Environ(), "SRC="+src, "OUT="+t.TempDir(), "PATH="+bin+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	calls, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("build.sh built nothing: %v", err)
	}
	built := map[string]bool{}
	names := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad call %q", line)
		}
		if names[f[2]] {
			t.Errorf("fuzzer name %s used twice", f[2])
		}
		names[f[2]] = true
		built[f[0]+"."+f[1]] = true
	}
	// What should be built: every func FuzzXxx in a _test.go file of a non-main package.
	want := map[string]bool{}
	re := regexp.MustCompile(`(?m)^func (Fuzz\w*)\(`)
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "thirdparty" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, _ := os.ReadFile(path)
		if regexp.MustCompile(`(?m)^package main\b`).Match(b) {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for _, m := range re.FindAllSubmatch(b, -1) {
			want["github.com/ulpcheck/ulpcheck/"+filepath.ToSlash(rel)+"."+string(m[1])] = true
		}
		return nil
	})
	if len(want) < 5 {
		t.Fatalf("found only %d fuzz targets in the tree", len(want))
	}
	var missing []string
	for w := range want {
		if !built[w] {
			missing = append(missing, w)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("build.sh does not build: %v", missing)
	}
	if len(built) != len(want) {
		t.Errorf("build.sh built %d targets, the tree has %d", len(built), len(want))
	}
}
