#!/usr/bin/env bash
# Starts the helloworld greeter server on a free port, makes one call with
# the greeter client, and stops the server.
# usage: scripts/helloworld.sh SERVER CLIENT
set -euo pipefail
server=${1:?usage: helloworld.sh SERVER CLIENT}
client=${2:?usage: helloworld.sh SERVER CLIENT}
source "$(dirname "$0")/lib.sh"
log=$(mktemp)
trap 'stop_server; rm -f "$log"' EXIT
start_server "$log" "$h2rpc_listening" "$server" --port=0
echo "greeter_server: listening on 127.0.0.1:$server_port"
"$client" --addr "127.0.0.1:$server_port" --name h2rpc
