#!/usr/bin/env bash
# Starts `h2rpc interop-server` on a free loopback port and runs every h2spec
# case against it over h2c, or over TLS with the word tls (the server uses
# its own test certificate; h2spec skips verification). Exits non-zero
# unless all cases pass.
# usage: scripts/h2spec.sh H2RPC_BINARY H2SPEC_BINARY [verbose] [tls]
set -euo pipefail
h2rpc=${1:?h2rpc binary}
h2spec=${2:?h2spec binary}
shift 2
source "$(dirname "$0")/lib.sh"
mode= server_flags=() h2spec_flags=() transport=h2c
for w in "$@"; do
	case $w in
	verbose) mode=verbose ;;
	tls) server_flags=(--use_tls) h2spec_flags=(-t -k) transport=TLS ;;
	*) echo "h2spec.sh: unknown word $w (want verbose or tls)"; exit 2 ;;
	esac
done

log=$(mktemp)
out=$(mktemp)
trap 'stop_server; rm -f "$log" "$out"' EXIT
start_server "$log" "$h2rpc_listening" "$h2rpc" interop-server --port=0 ${server_flags[@]+"${server_flags[@]}"}

set +e
"$h2spec" -h 127.0.0.1 -p "$server_port" -o 5 ${h2spec_flags[@]+"${h2spec_flags[@]}"} >"$out" 2>&1
rc=$?
set -e
if [ "$mode" = verbose ] || [ $rc -ne 0 ]; then
	cat "$out"
else
	# Only the failures (if any) and the summary line.
	grep -E '^[0-9]+ tests, ' "$out" || cat "$out"
fi
summary=$(grep -E '^[0-9]+ tests, [0-9]+ passed, [0-9]+ skipped, [0-9]+ failed' "$out" || true)
if [ -z "$summary" ]; then echo "h2spec: no summary line"; exit 1; fi
failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$summary")
if [ "$failed" != 0 ] || [ $rc -ne 0 ]; then
	echo "h2spec ($transport): $failed failed (exit $rc)"; exit 1
fi
if ! kill -0 "$server_pid" 2>/dev/null; then echo "interop-server died during h2spec:"; cat "$log"; exit 1; fi
echo "h2spec ($transport): all cases passed"
