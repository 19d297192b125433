#!/usr/bin/env bash
# h2rpc bench side by side with ghz and with grpc-go's client under the
# same generator (h2rpc-bench-grpcgo, found beside H2RPC): UnaryCall with
# 1-byte payloads, 64 concurrent calls on 1 and on 4 connections, against
# grpc-go's interop server and against h2rpc's, every contender in turn for
# ROUNDS rounds of DURATION each (h2rpc bench --serve grpc-go,h2rpc --ghz
# --compare grpc-go). It prints one
# table per connection count: calls/s and the client's CPU time per call
# (from the child process's rusage), and their ratios to h2rpc bench on the
# same server. With --check it fails unless every contender made calls and
# h2rpc bench had no errors.
#
# usage: scripts/bench-ghz.sh [--check] H2RPC GHZ GRPCGO_SERVER DURATION ROUNDS
set -euo pipefail
check=
if [ "${1:-}" = --check ]; then check=1; shift; fi
h2rpc=${1:?h2rpc binary}
ghz=${2:?ghz binary}
goserver=${3:?grpc-go interop server binary}
duration=${4:-5s}
rounds=${5:-3}

status=0
for conns in 1 4; do
	out=$("$h2rpc" bench --serve grpc-go,h2rpc --grpcgo-server "$goserver" --ghz "$ghz" --compare grpc-go --insecure \
		--call grpc.testing.TestService.UnaryCall --payload-size 1 -c 64 --connections "$conns" \
		-z "$duration" --rounds "$rounds" -q)
	echo "$out"
	if [ -n "$check" ]; then
		# | server | client | calls/s | CPU | p50 | p99 | errors | ...
		rows=$(echo "$out" | awk -F' *[|] *' '$2 ~ /^(grpc-go|h2rpc)$/ && $4 > 0' | wc -l)
		if [ "$rows" != 6 ]; then
			echo "bench-ghz: $conns connections: $rows of 6 contenders made calls"; status=1
		fi
		bad=$(echo "$out" | awk -F' *[|] *' '$3 == "h2rpc bench" && $8 != 0' | wc -l)
		if [ "$bad" != 0 ]; then
			echo "bench-ghz: $conns connections: h2rpc bench had errors"; status=1
		fi
	fi
done
exit $status
