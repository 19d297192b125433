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
		# Go's fuzzer can end a run that found nothing with "context
		# deadline exceeded" when -fuzztime passes while a worker is busy;
		# such a run wrote no failing input and is run once more. A real
		# failure writes one and fails at once.
		for try in 1 2; do
			if out=$($go test -run='^$' -fuzz="^${t}\$" -fuzztime="$fuzztime" "$pkg" 2>&1); then
				echo "$out"
				break
			fi
			echo "$out"
			if [ "$try" = 2 ] || ! grep -q 'context deadline exceeded' <<<"$out" || grep -q 'Failing input written' <<<"$out"; then
				exit 1
			fi
			echo "fuzz: $t ended on the fuzzer's own deadline with no failing input; running it again"
		done
	done
done < <($go list ./...)
echo "fuzz: $found targets ran"
