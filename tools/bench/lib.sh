# Sourced first by the scripts of tools/bench: the repository root as the
# working folder, BIN, a work folder, and pids, the processes a script
# starts, all stopped (by pid) and the folder removed at exit; port, ready
# and bench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN=$PWD/bin
work=$(mktemp -d /tmp/walker-bench-XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT

# port prints a loopback port that was free a moment ago and that no
# earlier call printed: two calls in a row may otherwise get one port (a
# node's RESP and Raft ports).
port() {
	local p
	while :; do
		p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		grep -qx "$p" "$work/ports" 2>/dev/null || break
	done
	echo "$p" >>"$work/ports"
	echo "$p"
}

# ready waits until the server on port answers PING: tries of 0.1 s (100).
ready() { # port [tries]
	for _ in $(seq "${2:-100}"); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
	echo "nothing answers PING on port $1" >&2
	exit 1
}

# bench runs redis-benchmark (50 clients, N requests, keys from N) and
# appends "name label: R requests per second" to $out.
bench() { # port name label command...
	local p=$1 name=$2 label=$3; shift 3
	redis-benchmark -p "$p" -c 50 -n "$N" -r "$N" -q "$@" 2>/dev/null |
		tr '\r' '\n' | grep "per second" | sed "s/^.*: \([0-9.]*\) requests per second.*/$name $label: \1 requests per second/" >>"$out" ||
		echo "$name $label: failed" >&2
}

# node BIN NAME PORT [args...]: starts a walkerd; its pid goes to $work/NAME.pid.
node() {
	local bin=$1 name=$2 p=$3
	shift 3
	"$bin" -id "$name" -tcp 127.0.0.1:"$p" -raft 127.0.0.1:"$(port)" \
		-dir "$work/$name/data" -raftdir "$work/$name/raft" --log-level warn "$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
	echo $! >"$work/$name.pid"
}
