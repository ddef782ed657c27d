#!/usr/bin/env bash
# overhead.sh: the cost of the metrics endpoint on SET and GET throughput.
# Runs redis-benchmark -t set,get -n 200000 -c 50 -P 1 against walkerd
# --standalone without --metrics-addr and with it (a scraper GETs /metrics
# every second meanwhile), interleaved ROUNDS times each on a fresh data
# directory, and prints each run and the medians in requests/s.
#
# Needs redis-benchmark, curl, python3 and go. Loopback only.
# Usage: [WALKERD_FLAGS="--appendfsync no"] tools/exporter/overhead.sh [ROUNDS] [extra redis-benchmark flags, e.g. -r 100000]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
shift || true
extra=("$@")
out=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$out"
}
trap cleanup EXIT
(cd "$root/walkerd" && go build -o "$out/walkerd" .)

free_ports() {
	python3 -c '
import socket
ss=[socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}

# run MODE: one benchmark; prints "set get" in requests/s.
run() {
	local mode=$1 p m args wpid="" try
	# A free port can be taken by another process before walkerd binds
	# it: then walkerd exits, and another pair is tried.
	for try in 1 2 3 4 5; do
		read -r p m < <(free_ports)
		rm -rf "$out/data"
		args=(--standalone --tcp "127.0.0.1:$p" --dir "$out/data" --log-level warn ${WALKERD_FLAGS:-})
		[[ $mode == metrics ]] && args+=(--metrics-addr "127.0.0.1:$m")
		"$out/walkerd" "${args[@]}" >"$out/walkerd.log" 2>&1 &
		wpid=$!
		pids+=("$wpid")
		for _ in $(seq 100); do
			kill -0 "$wpid" 2>/dev/null || break
			redis-cli -p "$p" ping >/dev/null 2>&1 && break
			sleep 0.1
		done
		if kill -0 "$wpid" 2>/dev/null && redis-cli -p "$p" ping >/dev/null 2>&1; then
			break
		fi
		kill "$wpid" 2>/dev/null || true
		wait "$wpid" 2>/dev/null || true
		echo "walkerd did not start (try $try): $(tail -1 "$out/walkerd.log")" >&2
		wpid=""
	done
	[[ -n $wpid ]] || { echo "walkerd does not start" >&2; exit 1; }
	local spid=""
	if [[ $mode == metrics ]]; then
		(while :; do curl -sf -o /dev/null "http://127.0.0.1:$m/metrics" || echo "scrape failed" >&2; sleep 1; done) &
		spid=$!
		pids+=("$spid")
	fi
	timeout 600 redis-benchmark -p "$p" -t set,get -n 200000 -c 50 -P 1 -q "${extra[@]}" 2>/dev/null | tr '\r' '\n' |
		awk '/^SET:/{s=$2} /^GET:/{g=$2} END{print s, g}'
	[[ -n $spid ]] && { kill "$spid"; wait "$spid" 2>/dev/null || true; }
	kill "$wpid"; wait "$wpid" 2>/dev/null || true
}

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

: >"$out/plain" ; : >"$out/metrics"
for r in $(seq "$rounds"); do
	for mode in plain metrics; do
		res=$(run "$mode")
		echo "round $r $mode: SET/GET $res req/s"
		echo "$res" >>"$out/$mode"
	done
done
for mode in plain metrics; do
	echo "median $mode: SET $(cut -d' ' -f1 "$out/$mode" | median) GET $(cut -d' ' -f2 "$out/$mode" | median) req/s"
done
