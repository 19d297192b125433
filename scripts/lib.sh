# Functions shared by the scripts that start servers; source it. Servers
# listen on a port the system picks (--port=0) and say which in their
# output, so that no fixed port can collide with another program's.

# start_server LOG PATTERN CMD... starts CMD in the background with its
# output (stdout and stderr) in LOG, and waits until a line of LOG matches
# the extended regular expression PATTERN, whose first group is the address
# the server listens on. It sets server_pid, and server_port to the part of
# that address after its last colon.
start_server() {
	local log=$1 pattern=$2 addr
	shift 2
	"$@" >"$log" 2>&1 &
	server_pid=$!
	server_port=
	for _ in $(seq 1 200); do
		addr=$(sed -nE "s/$pattern/\1/p" "$log" | head -n 1)
		if [ -n "$addr" ]; then
			server_port=${addr##*:}
			return 0
		fi
		if ! kill -0 "$server_pid" 2>/dev/null; then
			echo "server exited before listening: $*"; cat "$log"
			wait "$server_pid" 2>/dev/null || true
			server_pid=
			return 1
		fi
		sleep 0.05
	done
	echo "server did not say where it listens within 10s: $*"; cat "$log"
	stop_server
	return 1
}

# stop_server stops the server start_server started, if it runs.
stop_server() {
	if [ -n "${server_pid:-}" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
	return 0
}

# The line h2rpc's servers print once they listen.
h2rpc_listening='^listening on ([^ ]+)$'
