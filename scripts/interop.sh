#!/usr/bin/env bash
# Runs the gRPC interop cases in six combinations and fails on any failure:
#   grpc-go client -> h2rpc server        16 core cases, h2c and TLS
#   h2rpc client   -> grpc-go server      16 core cases, h2c and TLS
#   h2rpc client   -> h2rpc server        all 20 cases (core + compression), h2c and TLS
# and two more of the h2rpc server:
#   grpc-go client -> h2rpc server mounted in net/http (ServeHTTP), h2c and TLS: 16 core cases
#   grpc-go client -> h2rpc server with --grpc_web=true: GET / over HTTP/1.1 and
#                     HTTP/2 (curl) on the port of the gRPC calls, and the quick core cases
# Over TLS the clients verify the server as foo.test.google.fr. Servers that
# grpc-go's client talks to use grpc-go's test certificate (signed by its
# test CA); h2rpc against h2rpc uses h2rpc's own test certificates.
#
# Every server listens on a port the system picks (--port=0): h2rpc's says
# which on its first line of output, grpc-go's in its info log.
#
# usage: scripts/interop.sh H2RPC GRPCGO_CLIENT GRPCGO_SERVER GRPCGO_TESTDATA_DIR
# GRPCGO_TESTDATA_DIR holds grpc-go's server1.pem, server1.key and ca.pem.
# INTEROP_SOAK_ITERATIONS (default 10) sets the soak cases' iterations.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
h2rpc=${1:?h2rpc binary}
goclient=${2:?grpc-go interop client binary}
goserver=${3:?grpc-go interop server binary}
gotestdata=${4:?grpc-go testdata directory}
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
trap 'stop_server; rm -rf "$work"' EXIT

soak_flags=(--soak_iterations="$soak_iterations" --soak_max_failures=0
	--soak_per_iteration_max_acceptable_latency_ms=5000 --soak_overall_timeout_seconds=60)

# grpc-go's interop server logs the address it listens on at info level.
goserver_cmd=(env GRPC_GO_LOG_SEVERITY_LEVEL=info "$goserver")
grpcgo_listening='^.*interop server listening on ([^ ]+)$'

failures=0
summaries=()

# run_matrix NAME LISTENING SERVER_CMD -- CLIENT_CMD -- CASES...
# Starts the server, waiting for the line of its output that matches
# LISTENING (see start_server), runs the client once per case with @PORT@
# in its arguments replaced by the server's port (the case name is
# appended as --test_case=NAME) and records one summary line.
run_matrix() {
	local name=$1 listening=$2; shift 2
	local server=() client=()
	while [ "$1" != -- ]; do server+=("$1"); shift; done; shift
	while [ "$1" != -- ]; do client+=("$1"); shift; done; shift
	local cases=("$@") failed=() passed=0
	if ! start_server "$work/server.log" "$listening" "${server[@]}"; then
		summaries+=("FAIL  $name: server did not start")
		failures=$((failures + 1))
		return
	fi
	client=("${client[@]//@PORT@/$server_port}")
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
go_tls_server=(--use_tls --tls_cert_file="$gotestdata/server1.pem" --tls_key_file="$gotestdata/server1.key")
to_server=(--server_host=127.0.0.1 --server_port=@PORT@)

# (a) grpc-go client -> h2rpc server
run_matrix "grpc-go client -> h2rpc server, h2c" "$h2rpc_listening" \
	"$h2rpc" interop-server --port=0 -- \
	"$goclient" "${to_server[@]}" "${soak_flags[@]}" -- \
	"${core_cases[@]}"
run_matrix "grpc-go client -> h2rpc server, TLS" "$h2rpc_listening" \
	"$h2rpc" interop-server --port=0 "${go_tls_server[@]}" -- \
	"$goclient" "${to_server[@]}" "${tls_client[@]}" --ca_file="$gotestdata/ca.pem" "${soak_flags[@]}" -- \
	"${core_cases[@]}"

# (b) h2rpc client -> grpc-go server
run_matrix "h2rpc client -> grpc-go server, h2c" "$grpcgo_listening" \
	"${goserver_cmd[@]}" --port=0 -- \
	"$h2rpc" interop-client "${to_server[@]}" "${soak_flags[@]}" -- \
	"${core_cases[@]}"
run_matrix "h2rpc client -> grpc-go server, TLS" "$grpcgo_listening" \
	"${goserver_cmd[@]}" --port=0 "${go_tls_server[@]}" -- \
	"$h2rpc" interop-client "${to_server[@]}" "${tls_client[@]}" --ca_file="$gotestdata/ca.pem" "${soak_flags[@]}" -- \
	"${core_cases[@]}"

# (c) h2rpc client -> h2rpc server, with h2rpc's own test certificates
run_matrix "h2rpc client -> h2rpc server, h2c" "$h2rpc_listening" \
	"$h2rpc" interop-server --port=0 -- \
	"$h2rpc" interop-client "${to_server[@]}" "${soak_flags[@]}" -- \
	"${core_cases[@]}" "${compression_cases[@]}"
run_matrix "h2rpc client -> h2rpc server, TLS" "$h2rpc_listening" \
	"$h2rpc" interop-server --port=0 --use_tls -- \
	"$h2rpc" interop-client "${to_server[@]}" "${tls_client[@]}" "${soak_flags[@]}" -- \
	"${core_cases[@]}" "${compression_cases[@]}"

# (d) the server mounted in net/http through ServeHTTP, h2c and TLS
run_matrix "grpc-go client -> h2rpc server in net/http (ServeHTTP), h2c" "$h2rpc_listening" \
	"$h2rpc" interop-server --port=0 --serve_http=true -- \
	"$goclient" "${to_server[@]}" "${soak_flags[@]}" -- \
	"${core_cases[@]}"
run_matrix "grpc-go client -> h2rpc server in net/http (ServeHTTP), TLS" "$h2rpc_listening" \
	"$h2rpc" interop-server --port=0 --serve_http=true "${go_tls_server[@]}" -- \
	"$goclient" "${to_server[@]}" "${tls_client[@]}" --ca_file="$gotestdata/ca.pem" "${soak_flags[@]}" -- \
	"${core_cases[@]}"

# (e) gRPC-Web and the page beside gRPC on one port: curl asks for the
# page over both HTTP versions while the server runs the gRPC cases.
web_page() {
	local version
	for version in --http1.1 --http2-prior-knowledge; do
		if ! curl -sS --fail "$version" "http://127.0.0.1:$server_port/" | grep -q '<h1>h2rpc interop server</h1>'; then
			echo "---- GET / with curl $version did not answer the page"
			return 1
		fi
	done
}
if start_server "$work/server.log" "$h2rpc_listening" "$h2rpc" interop-server --port=0 --grpc_web=true; then
	if web_page; then
		summaries+=("PASS  GET / of h2rpc server --grpc_web=true over HTTP/1.1 and HTTP/2 (curl)")
	else
		summaries+=("FAIL  GET / of h2rpc server --grpc_web=true")
		failures=$((failures + 1))
	fi
	stop_server
else
	summaries+=("FAIL  h2rpc server --grpc_web=true did not start")
	failures=$((failures + 1))
fi
run_matrix "grpc-go client -> h2rpc server --grpc_web=true, h2c" "$h2rpc_listening" \
	"$h2rpc" interop-server --port=0 --grpc_web=true -- \
	"$goclient" "${to_server[@]}" -- \
	empty_unary large_unary server_streaming ping_pong custom_metadata status_code_and_message

echo
for s in "${summaries[@]}"; do echo "interop: $s"; done
if [ $failures -ne 0 ]; then
	echo "interop: $failures of ${#summaries[@]} combinations failed"
	exit 1
fi
echo "interop: all ${#summaries[@]} combinations passed"
