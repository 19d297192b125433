#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each.
# usage: scripts/fuzz.sh DURATION
set -euo pipefail
fuzztime=${1:?usage: fuzz.sh DURATION}
go=${GO:-go}
found=0
while IFS= read -r pkg; do
	dir=$($go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
	for t in $targets; do
		found=$((found + 1))
		echo "fuzz $pkg $t ($fuzztime)"
		$go test -run='^$' -fuzz="^${t}\$" -fuzztime="$fuzztime" "$pkg"
	done
done < <($go list ./...)
echo "fuzz: $found targets ran"
