#!/usr/bin/env bash
# Measure walkerd beside redis-server on this machine, in one run:
#   tools/bench/compare.sh            (after make build)
# Starts redis-server, a single walkerd (Raft, appendfsync always) and a
# three-node walkerd cluster, all on loopback, runs redis-benchmark and
# walkerbench against them, prints the tables, and stops every process it
# started (by pid). Numbers on a shared 2-core VM are noisy: compare the
# columns of one run, not runs.
source "$(dirname "$0")/lib.sh"
N=${N:-200000}
wait_ready() { # addr port
	for _ in $(seq 100); do
		redis-cli -p "$1" info raft 2>/dev/null | grep -q raft_ready:true && return 0
		redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && [ "${2:-}" = plain ] && return 0
		sleep 0.1
	done
	echo "node on $1 never became ready" >&2; exit 1
}
walkerd() { # name resp raft [args...]
	local name=$1 resp=$2 raft=$3; shift 3
	"$BIN/walkerd" -id "$name" -tcp 127.0.0.1:"$resp" -raft 127.0.0.1:"$raft" \
		-dir "$work/$name/data" -raftdir "$work/$name/raft" --log-level warn "$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
}

RP=$(port); redis-server --port "$RP" --save "" --appendonly no --bind 127.0.0.1 >"$work/redis.log" 2>&1 & pids+=($!)
RPA=$(port); redis-server --port "$RPA" --save "" --appendonly yes --appendfsync always --dir "$work" --bind 127.0.0.1 >"$work/redis-aof.log" 2>&1 & pids+=($!)
S=$(port); walkerd single "$S" "$(port)"
C1=$(port); C2=$(port); C3=$(port)
walkerd n1 "$C1" "$(port)"
wait_ready "$RP" plain; wait_ready "$RPA" plain; wait_ready "$S"; wait_ready "$C1"
walkerd n2 "$C2" "$(port)" -join 127.0.0.1:"$C1"
walkerd n3 "$C3" "$(port)" -join 127.0.0.1:"$C1"
for _ in $(seq 100); do redis-cli -p "$C1" info raft | grep -q raft_members:3 && break; sleep 0.1; done

echo "== redis-benchmark, 50 clients, 100-byte values, $N requests, 100,000 keys"
for P in 1 16; do
	for t in get set; do
		for target in "redis-server:$RP" "redis-aof-always:$RPA" "walkerd-1:$S" "walkerd-3:$C1"; do
			name=${target%%:*} p=${target##*:}
			r=$(redis-benchmark -p "$p" -t "$t" -c 50 -d 100 -r 100000 -n "$N" -P "$P" -q 2>/dev/null | tr '\r' '\n' | grep -E "^(GET|SET):" | tail -1)
			printf "P=%-2s %-4s %-18s %s\n" "$P" "$t" "$name" "$r"
		done
	done
done

echo
echo "== walkerbench side by side (p99 and errors included)"
for P in 1 16; do
	"$BIN/walkerbench" run -t set,get -c 50 -P "$P" -d 100 -r 100000 -n "$N" --warmup 0 \
		--target redis-server=127.0.0.1:"$RP" --target walkerd-1=127.0.0.1:"$S" --target walkerd-3=127.0.0.1:"$C1" 2>/dev/null || true
done

echo
echo "== three nodes: SET, and consistent reads (LEVELGET level 2), through the leader"
"$BIN/walkerbench" run -t set -c 50 -P 1 -d 100 -r 100000 -n "$N" --warmup 0 --target walkerd-3=127.0.0.1:"$C1" 2>/dev/null || true
"$BIN/walkerbench" run -t get --level consistent -c 50 -P 1 -d 100 -r 100000 -n "$N" --warmup 0 --target walkerd-3=127.0.0.1:"$C1" 2>&1 || true
