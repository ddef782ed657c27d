#!/usr/bin/env bash
# Collection commands, walkerd beside redis-server, in one run:
#   tools/bench/collections.sh        (after make build; ROUNDS=5 N=50000)
# redis-server runs with appendonly yes and appendfsync always, walkerd as
# a single Raft node (appendfsync always), both on loopback; 50 clients.
# Each round runs redis-benchmark's SET, LPUSH, RPOP, SADD, HSET, ZADD,
# LRANGE_100, LRANGE_600 and a ZRANGE of 100 against each server in turn;
# the table gives each figure's median over the rounds, the ratio to
# redis-server, and walkerd's ratio to its own SET. Every process it starts
# is stopped by pid.
source "$(dirname "$0")/lib.sh"
N=${N:-50000}
ROUNDS=${ROUNDS:-5}

RP=$(port); redis-server --port "$RP" --bind 127.0.0.1 --dir "$work" --appendonly yes --appendfsync always --save "" >"$work/redis.log" 2>&1 & pids+=($!)
WP=$(port); "$BIN/walkerd" -tcp 127.0.0.1:"$WP" -raft 127.0.0.1:"$(port)" -dir "$work/w/data" -raftdir "$work/w/raft" \
	--log-level warn >"$work/walkerd.log" 2>&1 & pids+=($!)
ready "$RP"; ready "$WP"
sleep 1
for p in "$RP" "$WP"; do
	for i in $(seq 1 150); do echo "ZADD zbench $i m$i"; done | redis-cli -p "$p" >/dev/null
done
out=$work/results
for r in $(seq "$ROUNDS"); do
	for p in "$RP" "$WP"; do
		name=redis; [ "$p" = "$WP" ] && name=walkerd
		redis-benchmark -p "$p" -c 50 -n "$N" -q -t set,lpush,rpop,sadd,hset,zadd,lrange_100,lrange_600 2>/dev/null |
			tr '\r' '\n' | grep "per second" | sed "s/^/$name /" >>"$out"
		redis-benchmark -p "$p" -c 50 -n "$N" -q ZRANGE zbench 0 99 2>/dev/null |
			tr '\r' '\n' | grep "per second" | sed "s/^ZRANGE zbench 0 99/$name ZRANGE_100/" >>"$out"
	done
done
python3 - "$out" <<'PY'
import re, statistics, sys, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r'(\w+) (\S+?)(?: \(.*?\))?: ([\d.]+) requests per second', line)
    if m:
        d[(m.group(2), m.group(1))].append(float(m.group(3)))
tests = list(dict.fromkeys(t for t, _ in d))
ws = statistics.median(d[("SET", "walkerd")])
print("| requests/s | redis-server (AOF always) | walkerd (Raft, 1 node) | walkerd/redis | walkerd / its SET |")
print("|---|---|---|---|---|")
for t in tests:
    r, w = statistics.median(d[(t, "redis")]), statistics.median(d[(t, "walkerd")])
    print(f"| {t} | {r:,.0f} | {w:,.0f} | {w/r:.2f} | {w/ws:.2f} |")
PY
