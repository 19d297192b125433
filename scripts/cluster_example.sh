#!/usr/bin/env bash
# Starts two examples/cluster servers on free ports, the second joining the
# first's gossip address, runs the client for a few calls through
# gossip:///helloworld.Greeter, and checks that both servers answered.
# usage: scripts/cluster_example.sh SERVER CLIENT
set -euo pipefail
server=${1:?usage: cluster_example.sh SERVER CLIENT}
client=${2:?usage: cluster_example.sh SERVER CLIENT}
source "$(dirname "$0")/lib.sh"
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
serving='^serving helloworld.Greeter on [^ ]+, gossip on ([^ ]+)$'
start_server "$dir/s1" "$serving" "$server" --rpc 127.0.0.1:0 --gossip 127.0.0.1:0
pids+=("$server_pid")
seed=$(sed -nE "s/$serving/\1/p" "$dir/s1" | head -n 1)
start_server "$dir/s2" "$serving" "$server" --rpc 127.0.0.1:0 --gossip 127.0.0.1:0 --join "$seed"
pids+=("$server_pid")
cat "$dir/s1" "$dir/s2"
"$client" --join "$seed" --count 6 | tee "$dir/client"
answered=$(sed -nE 's/^Hello cluster from (.*)$/\1/p' "$dir/client" | sort -u | wc -l)
if [ "$answered" -ne 2 ]; then
	echo "the client reached $answered of the 2 servers"
	exit 1
fi
