#!/bin/bash -eu
# Builds every native Go fuzz target of ulpcheck (go test -fuzz targets, rapid.MakeFuzz included)
# into a libFuzzer binary with OSS-Fuzz's compile_native_go_fuzzer. The targets are found, not
# listed, so a new FuzzXxx in an importable package is picked up without editing this file.
# Targets in package main (cmd/fuzz's FuzzParseLine) cannot be built this way; they run under
# `go test -fuzz` in the CI recipe of docs/scale.md.
cd "$SRC/ulpcheck"
module=$(go list -m)
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./examples/thirdparty/' | while read -r file; do
	dir=$(dirname "$file")
	pkg=$(go list "$dir")
	if [ "$(go list -f '{{.Name}}' "$dir")" = main ]; then
		continue
	fi
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
		name=$(echo "${pkg#"$module"/}_$target" | tr '/' '_')
		compile_native_go_fuzzer "$pkg" "$target" "$name"
	done
done
