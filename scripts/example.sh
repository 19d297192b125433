#!/usr/bin/env bash
# Starts an example's server on a free port, runs its client against it
# with the flags given (the client exits non-zero when a call fails), and
# stops the server.
# usage: scripts/example.sh SERVER CLIENT [CLIENT-FLAG...]
set -euo pipefail
server=${1:?usage: example.sh SERVER CLIENT [CLIENT-FLAG...]}
client=${2:?usage: example.sh SERVER CLIENT [CLIENT-FLAG...]}
shift 2
source "$(dirname "$0")/lib.sh"
log=$(mktemp)
trap 'stop_server; rm -f "$log"' EXIT
start_server "$log" "$h2rpc_listening" "$server" --port=0
echo "$(basename "$server"): listening on 127.0.0.1:$server_port"
"$client" --addr "127.0.0.1:$server_port" "$@"
