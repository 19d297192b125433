#!/usr/bin/env bash
# Starts the helloworld greeter server, makes one call with the greeter
# client, and stops the server.
# usage: scripts/helloworld.sh SERVER CLIENT PORT
set -euo pipefail
server=${1:?usage: helloworld.sh SERVER CLIENT PORT}
client=${2:?usage: helloworld.sh SERVER CLIENT PORT}
port=${3:?usage: helloworld.sh SERVER CLIENT PORT}
"$server" --port "$port" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
"$client" --addr "127.0.0.1:$port" --name h2rpc
