#!/usr/bin/env bash
# Long runs of the randomized tests.
# usage: scripts/long.sh stress DURATION SEEDS
#          the lifecycle tests of stub and channel for DURATION in all, split
#          over SEEDS random seeds, each followed by ten runs of the other
#          concurrent tests; all under -race
#        scripts/long.sh soak DURATION
#          the soak of internal/soak for DURATION, without -race
# DURATION is a Go duration in whole units: 90s, 5m, 1h30m.
set -euo pipefail
go=${GO:-go}

# seconds DURATION prints DURATION in seconds.
seconds() {
	local d=$1 total=0
	if ! [[ $d =~ ^([0-9]+[hms])+$ ]]; then
		echo "long.sh: duration \"$d\": want a number and a unit (h, m, s), e.g. 90s, 5m or 1h30m" >&2
		exit 2
	fi
	while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
		case ${BASH_REMATCH[2]} in
		h) total=$((total + BASH_REMATCH[1] * 3600)) ;;
		m) total=$((total + BASH_REMATCH[1] * 60)) ;;
		s) total=$((total + BASH_REMATCH[1])) ;;
		esac
		d=${BASH_REMATCH[3]}
	done
	echo "$total"
}

# The tests besides the lifecycle ones that race calls against their end.
concurrent='Concurrent|GracefulStop|HardStop|GracefulShutdown|DeadlineAndCancel|CancelBothSides|DeadlineBothSides|GoAway|RefusedStream'

case ${1:-} in
stress)
	total=$(seconds "${2:?usage: long.sh stress DURATION SEEDS}")
	seeds=${3:?usage: long.sh stress DURATION SEEDS}
	if ! [[ $seeds =~ ^[1-9][0-9]*$ ]]; then
		echo "long.sh: SEEDS \"$seeds\": want a positive number" >&2
		exit 2
	fi
	# Each package has two lifecycle tests; stub and channel run side by side.
	per=$((total / seeds / 2))
	((per >= 1)) || per=1
	failed=()
	for i in $(seq "$seeds"); do
		seed=$(((RANDOM << 30 | RANDOM << 15 | RANDOM) + 1))
		echo "stress: $i of $seeds: seed $seed, ${per}s per lifecycle test"
		if ! LIFECYCLE_SEED=$seed LIFECYCLE_DURATION=${per}s $go test -race -count=1 -timeout $((2 * per + 600))s -run Lifecycle ./stub ./channel; then
			failed+=("lifecycle seed $seed")
		fi
		if ! $go test -race -count=10 -run "$concurrent" ./stub ./channel ./interop ./codec; then
			failed+=("concurrent tests after seed $seed")
		fi
	done
	if ((${#failed[@]} > 0)); then
		printf 'stress: failed: %s\n' "${failed[@]}"
		exit 1
	fi
	echo "stress: $seeds seeds passed"
	;;
soak)
	d=${2:?usage: long.sh soak DURATION}
	total=$(seconds "$d")
	SOAK_DURATION=$d $go test -count=1 -v -timeout $((total + 600))s -run '^TestSoak$' ./internal/soak
	;;
*)
	echo "usage: long.sh stress DURATION SEEDS | long.sh soak DURATION" >&2
	exit 2
	;;
esac
