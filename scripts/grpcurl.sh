#!/usr/bin/env bash
# Starts `h2rpc interop-server` on a free loopback port and explores it with
# grpcurl through server reflection alone (no .proto file): list, describe
# of a service and of a message, a call with a JSON body and a health
# check, over h2c, or over TLS with the word tls (the server's test
# certificate, verified against the test CA in interop/testdata). Exits
# non-zero unless every answer is exactly the one expected.
# usage: scripts/grpcurl.sh H2RPC_BINARY GRPCURL_BINARY [tls]
set -euo pipefail
h2rpc=${1:?h2rpc binary}
grpcurl=${2:?grpcurl binary}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib.sh"
server_flags=() conn=(-plaintext) transport=h2c
case "${1:-}" in
tls)
	server_flags=(--use_tls) transport=TLS
	conn=(-cacert "$root/interop/testdata/ca.pem" -servername foo.test.google.fr)
	;;
"") ;;
*) echo "grpcurl.sh: unknown word $1 (want tls)"; exit 2 ;;
esac
log=$(mktemp)
trap 'stop_server; rm -f "$log"' EXIT
start_server "$log" "$h2rpc_listening" "$h2rpc" interop-server --port=0 ${server_flags[@]+"${server_flags[@]}"}
addr=127.0.0.1:$server_port

fail=0
# expect NAME WANT ARGS... runs grpcurl with ARGS against the server and
# fails the script unless its output is exactly WANT.
expect() {
	local name=$1 want=$2 got
	shift 2
	if ! got=$("$grpcurl" "${conn[@]}" "$@" 2>&1); then
		echo "grpcurl ($transport) $name failed:"; echo "$got"; fail=1; return
	fi
	if [ "$got" != "$want" ]; then
		echo "grpcurl ($transport) $name: unexpected output:"
		diff <(echo "$want") <(echo "$got") || true
		fail=1
		return
	fi
	echo "grpcurl ($transport) $name: ok"
}

expect list "grpc.health.v1.Health
grpc.reflection.v1.ServerReflection
grpc.reflection.v1alpha.ServerReflection
grpc.testing.TestService" "$addr" list

expect "list of a service" "grpc.testing.TestService.CacheableUnaryCall
grpc.testing.TestService.EmptyCall
grpc.testing.TestService.FullDuplexCall
grpc.testing.TestService.HalfDuplexCall
grpc.testing.TestService.StreamingInputCall
grpc.testing.TestService.StreamingOutputCall
grpc.testing.TestService.UnaryCall
grpc.testing.TestService.UnimplementedCall" "$addr" list grpc.testing.TestService

expect "describe of a service" "grpc.health.v1.Health is a service:
service Health {
  rpc Check ( .grpc.health.v1.HealthCheckRequest ) returns ( .grpc.health.v1.HealthCheckResponse );
  rpc List ( .grpc.health.v1.HealthListRequest ) returns ( .grpc.health.v1.HealthListResponse );
  rpc Watch ( .grpc.health.v1.HealthCheckRequest ) returns ( stream .grpc.health.v1.HealthCheckResponse );
}" "$addr" describe grpc.health.v1.Health

expect "describe of a message" "grpc.testing.Payload is a message:
message Payload {
  .grpc.testing.PayloadType type = 1;
  bytes body = 2;
}" "$addr" describe grpc.testing.Payload

expect "describe of a method" "grpc.testing.TestService.UnaryCall is a method:
rpc UnaryCall ( .grpc.testing.SimpleRequest ) returns ( .grpc.testing.SimpleResponse );" "$addr" describe grpc.testing.TestService.UnaryCall

expect "call with a JSON body" '{
  "payload": {
    "body": "AAAAAA=="
  }
}' -d '{"response_size": 4, "payload": {"body": "aGk="}}' "$addr" grpc.testing.TestService/UnaryCall

expect "server streaming call" '{
  "payload": {
    "body": "AA=="
  }
}
{
  "payload": {
    "body": "AAA="
  }
}' -d '{"response_parameters": [{"size": 1}, {"size": 2}]}' "$addr" grpc.testing.TestService/StreamingOutputCall

expect "health check" '{
  "status": "SERVING"
}' -d '{"service": "grpc.testing.TestService"}' "$addr" grpc.health.v1.Health/Check

# An unknown symbol is a clear error, and the server lives on.
if out=$("$grpcurl" "${conn[@]}" "$addr" describe no.such.Symbol 2>&1); then
	echo "grpcurl ($transport) describe of an unknown symbol succeeded: $out"; fail=1
elif ! grep -q 'Symbol not found: no.such.Symbol' <<<"$out"; then
	echo "grpcurl ($transport) describe of an unknown symbol: unexpected error: $out"; fail=1
else
	echo "grpcurl ($transport) unknown symbol: ok"
fi
if ! kill -0 "$server_pid" 2>/dev/null; then echo "interop-server died:"; cat "$log"; exit 1; fi
if [ $fail != 0 ]; then echo "grpcurl ($transport): failures"; exit 1; fi
echo "grpcurl ($transport): all checks passed"
