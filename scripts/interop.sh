#!/usr/bin/env bash
# Runs the gRPC interop cases in six combinations and fails on any failure:
#   grpc-go client -> h2rpc server        16 core cases, h2c and TLS
#   h2rpc client   -> grpc-go server      16 core cases, h2c and TLS
#   h2rpc client   -> h2rpc server        all 20 cases (core + compression), h2c and TLS
# Over TLS the clients verify the server as foo.test.google.fr. Servers that
# grpc-go's client talks to use grpc-go's test certificate (signed by its
# test CA); h2rpc against h2rpc uses h2rpc's own test certificates.
#
# usage: scripts/interop.sh H2RPC GRPCGO_CLIENT GRPCGO_SERVER GRPCGO_TESTDATA_DIR BASE_PORT
# GRPCGO_TESTDATA_DIR holds grpc-go's server1.pem, server1.key and ca.pem.
# INTEROP_SOAK_ITERATIONS (default 10) sets the soak cases' iterations.
set -uo pipefail
h2rpc=${1:?h2rpc binary}
goclient=${2:?grpc-go interop client binary}
goserver=${3:?grpc-go interop server binary}
gotestdata=${4:?grpc-go testdata directory}
base_port=${5:?base port}
soak_iterations=${INTEROP_SOAK_ITERATIONS:-10}

core_cases=(empty_unary large_unary client_streaming server_streaming ping_pong empty_stream
	timeout_on_sleeping_server cancel_after_begin cancel_after_first_response
	status_code_and_message special_status_message custom_metadata
	unimplemented_method unimplemented_service rpc_soak channel_soak)
compression_cases=(client_compressed_unary server_compressed_unary
	client_compressed_streaming server_compressed_streaming)

for f in "$h2rpc" "$goclient" "$goserver"; do
	[ -x "$f" ] || { echo "interop: $f is not an executable (run make build interop-tools)"; exit 1; }
done
for f in server1.pem server1.key ca.pem; do
	[ -r "$gotestdata/$f" ] || { echo "interop: grpc-go test certificate $gotestdata/$f is missing"; exit 1; }
done

work=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
	rm -rf "$work"
}
trap cleanup EXIT

soak_flags=(--soak_iterations="$soak_iterations" --soak_max_failures=0
	--soak_per_iteration_max_acceptable_latency_ms=5000 --soak_overall_timeout_seconds=60)

# start_server PORT CMD... starts a server in the background and waits until
# it accepts connections.
start_server() {
	local port=$1; shift
	"$@" >"$work/server.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		if ! kill -0 "$server_pid" 2>/dev/null; then
			echo "interop: server exited before listening: $*"; cat "$work/server.log"
			server_pid=; return 1
		fi
		sleep 0.05
	done
	echo "interop: server did not listen on port $port within 10s: $*"; cat "$work/server.log"
	return 1
}

stop_server() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null
		server_pid=
	fi
}

failures=0
summaries=()

# run_matrix NAME PORT SERVER_CMD -- CLIENT_CMD -- CASES...
# Starts the server, runs the client once per case (the case name is
# appended as --test_case=NAME) and records one summary line.
run_matrix() {
	local name=$1 port=$2; shift 2
	local server=() client=()
	while [ "$1" != -- ]; do server+=("$1"); shift; done; shift
	while [ "$1" != -- ]; do client+=("$1"); shift; done; shift
	local cases=("$@") failed=() passed=0 start=$SECONDS
	if ! start_server "$port" "${server[@]}"; then
		summaries+=("FAIL  $name: server did not start")
		failures=$((failures + 1))
		return
	fi
	local t0 t1
	t0=$(date +%s.%N)
	for c in "${cases[@]}"; do
		if timeout 60 "${client[@]}" --test_case="$c" >"$work/client.log" 2>&1; then
			passed=$((passed + 1))
		else
			failed+=("$c")
			echo "---- $name: $c failed; client output:"
			tail -n 20 "$work/client.log"
		fi
	done
	if ! kill -0 "$server_pid" 2>/dev/null; then
		failed+=("(server died)")
		echo "---- $name: server died; its output:"; tail -n 20 "$work/server.log"
	fi
	stop_server
	t1=$(date +%s.%N)
	local took
	took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1fs", b - a }')
	if [ ${#failed[@]} -eq 0 ]; then
		summaries+=("PASS  $name: $passed/${#cases[@]} cases ($took)")
	else
		summaries+=("FAIL  $name: $passed/${#cases[@]} cases ($took); failed: ${failed[*]}")
		failures=$((failures + 1))
	fi
}

tls_client=(--use_tls --use_test_ca --server_host_override=foo.test.google.fr)
p=$base_port

# (a) grpc-go client -> h2rpc server
run_matrix "grpc-go client -> h2rpc server, h2c" $p \
	"$h2rpc" interop-server --port=$p -- \
	"$goclient" --server_host=127.0.0.1 --server_port=$p "${soak_flags[@]}" -- \
	"${core_cases[@]}"
p=$((p + 1))
run_matrix "grpc-go client -> h2rpc server, TLS" $p \
	"$h2rpc" interop-server --port=$p --use_tls --tls_cert_file="$gotestdata/server1.pem" --tls_key_file="$gotestdata/server1.key" -- \
	"$goclient" --server_host=127.0.0.1 --server_port=$p "${tls_client[@]}" --ca_file="$gotestdata/ca.pem" "${soak_flags[@]}" -- \
	"${core_cases[@]}"
p=$((p + 1))

# (b) h2rpc client -> grpc-go server
run_matrix "h2rpc client -> grpc-go server, h2c" $p \
	"$goserver" --port=$p -- \
	"$h2rpc" interop-client --server_host=127.0.0.1 --server_port=$p "${soak_flags[@]}" -- \
	"${core_cases[@]}"
p=$((p + 1))
run_matrix "h2rpc client -> grpc-go server, TLS" $p \
	"$goserver" --port=$p --use_tls --tls_cert_file="$gotestdata/server1.pem" --tls_key_file="$gotestdata/server1.key" -- \
	"$h2rpc" interop-client --server_host=127.0.0.1 --server_port=$p "${tls_client[@]}" --ca_file="$gotestdata/ca.pem" "${soak_flags[@]}" -- \
	"${core_cases[@]}"
p=$((p + 1))

# (c) h2rpc client -> h2rpc server, with h2rpc's own test certificates
run_matrix "h2rpc client -> h2rpc server, h2c" $p \
	"$h2rpc" interop-server --port=$p -- \
	"$h2rpc" interop-client --server_host=127.0.0.1 --server_port=$p "${soak_flags[@]}" -- \
	"${core_cases[@]}" "${compression_cases[@]}"
p=$((p + 1))
run_matrix "h2rpc client -> h2rpc server, TLS" $p \
	"$h2rpc" interop-server --port=$p --use_tls -- \
	"$h2rpc" interop-client --server_host=127.0.0.1 --server_port=$p "${tls_client[@]}" "${soak_flags[@]}" -- \
	"${core_cases[@]}" "${compression_cases[@]}"

echo
for s in "${summaries[@]}"; do echo "interop: $s"; done
if [ $failures -ne 0 ]; then
	echo "interop: $failures of ${#summaries[@]} combinations failed"
	exit 1
fi
echo "interop: all ${#summaries[@]} combinations passed"
