#!/usr/bin/env bash
# check.sh: which redis_* metrics redis_exporter gets from Redis but not
# from walkerd. It starts a redis-server (7.0.x, the reference) and a
# walkerd --standalone on free loopback ports, writes the same small data
# set to both, points one redis_exporter at each, scrapes both and prints
# the metric names only Redis's scrape has (then those only walkerd's has).
#
# Needs: redis-server, redis-cli, python3 (free ports), go (to build
# walkerd), and a redis_exporter binary: $REDIS_EXPORTER, redis_exporter
# or prometheus-redis-exporter (Debian's package) on PATH, or else
# `go install github.com/oliver006/redis_exporter@$REDIS_EXPORTER_VERSION`
# (v1.67.0 by default; the module proxy may not serve it).
#
# Not part of make test: it needs those tools, and downloads with go install.
# Usage: tools/exporter/check.sh [OUTDIR]   (default: a temporary directory)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

exporter=${REDIS_EXPORTER:-}
if [[ -z $exporter ]]; then
	exporter=$(command -v redis_exporter || command -v prometheus-redis-exporter || true)
fi
if [[ -z $exporter ]]; then
	GOBIN="$out/bin" GOWORK=off GOFLAGS=-mod=mod \
		go install "github.com/oliver006/redis_exporter@${REDIS_EXPORTER_VERSION:-v1.67.0}"
	exporter="$out/bin/redis_exporter"
fi
echo "redis_exporter: $exporter ($("$exporter" --version 2>&1 | head -1))" >&2

ports=($(python3 -c '
import socket
ss=[socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'))
redis_port=${ports[0]} walker_port=${ports[1]} exp_redis=${ports[2]} exp_walker=${ports[3]}

(cd "$root/walkerd" && go build -o "$out/walkerd" .)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$out/redis.log" 2>&1 &
redis_pid=$!
pids+=($redis_pid)
"$out/walkerd" --standalone --tcp "127.0.0.1:$walker_port" --dir "$out/walker-data" >"$out/walkerd.log" 2>&1 &
walker_pid=$!
pids+=($walker_pid)

# wait_ping PORT PID: PID (still running: not beaten to its port) answers.
wait_ping() {
	for _ in $(seq 100); do
		kill -0 "$2" 2>/dev/null || break
		if redis-cli -p "$1" ping >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "port $1 does not answer PING (the server exited or is slow); rerun" >&2
	return 1
}
wait_ping "$redis_port" "$redis_pid"
wait_ping "$walker_port" "$walker_pid"

# The same commands on both: strings, a list, a hash, a set, a zset, a
# stream, expiries, a second database, an error and a miss.
load() {
	redis-cli -p "$1" >/dev/null <<'CMDS'
SET s1 v
SET s2 v EX 1000
GET s1
GET nokey
INCR n
LPUSH l a b c
HSET h f v
SADD st a b
ZADD z 1 a
XADD x * f v
EXPIRE l 1000
LPUSH s1 x
SELECT 1
SET db1key v
CLIENT LIST
CONFIG GET maxmemory
INFO
SLOWLOG GET
CMDS
}
load "$redis_port"
load "$walker_port"

"$exporter" --redis.addr "redis://127.0.0.1:$redis_port" --web.listen-address "127.0.0.1:$exp_redis" >"$out/exporter-redis.log" 2>&1 &
exp_redis_pid=$!
pids+=($exp_redis_pid)
"$exporter" --redis.addr "redis://127.0.0.1:$walker_port" --web.listen-address "127.0.0.1:$exp_walker" >"$out/exporter-walkerd.log" 2>&1 &
exp_walker_pid=$!
pids+=($exp_walker_pid)

# scrape PORT PID FILE
scrape() {
	for _ in $(seq 100); do
		kill -0 "$2" 2>/dev/null || break
		if curl -sf "http://127.0.0.1:$1/metrics" -o "$3"; then return 0; fi
		sleep 0.1
	done
	echo "no scrape from port $1; rerun" >&2
	return 1
}
scrape "$exp_redis" "$exp_redis_pid" "$out/redis.prom"
scrape "$exp_walker" "$exp_walker_pid" "$out/walkerd.prom"

names() { grep -v '^#' "$1" | sed -E 's/[{ ].*//' | grep '^redis_' | sort -u; }
names "$out/redis.prom" >"$out/redis.names"
names "$out/walkerd.prom" >"$out/walkerd.names"

echo "redis_up: redis $(grep '^redis_up ' "$out/redis.prom" | cut -d' ' -f2), walkerd $(grep '^redis_up ' "$out/walkerd.prom" | cut -d' ' -f2)"
echo "# redis_* metrics Redis gets and walkerd does not ($(comm -23 "$out/redis.names" "$out/walkerd.names" | wc -l)):"
comm -23 "$out/redis.names" "$out/walkerd.names"
echo "# redis_* metrics walkerd gets and Redis does not ($(comm -13 "$out/redis.names" "$out/walkerd.names" | wc -l)):"
comm -13 "$out/redis.names" "$out/walkerd.names"
echo "# scrapes and logs in $out" >&2
