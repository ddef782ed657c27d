#!/usr/bin/env bash
# Stream and bitmap commands, walkerd beside redis-server, in one run:
#   tools/bench/streams.sh            (after make build; ROUNDS=5 N=50000)
# redis-server runs with appendonly yes and appendfsync always, walkerd as
# a single Raft node, both on loopback; 50 clients. Each round, against
# each server in turn, on a fresh stream:
#   XADD        XADD xbench * f <value>                   (new entries)
#   XREADGROUP  XREADGROUP GROUP g c COUNT 1 STREAMS ybench >   (ybench is
#               loaded first with N entries 1-1 .. 1-N: each call takes the
#               next one, leaving a pending list of N)
#   XACK        XACK ybench g 1-<random 1..N>  (most are pending)
#   SETBIT      SETBIT bits:<random> 100 1   (redis-benchmark's random
#               numbers are zero-padded, which a bit offset refuses, so the
#               key is random)
#   BITCOUNT    BITCOUNT bbench (a 1 MB bitmap)
# The table gives each figure's median over the rounds and the ratio to
# redis-server. Every process it starts is stopped by pid.
source "$(dirname "$0")/lib.sh"
N=${N:-50000}
ROUNDS=${ROUNDS:-5}

RP=$(port); redis-server --port "$RP" --bind 127.0.0.1 --dir "$work" --appendonly yes --appendfsync always --save "" >"$work/redis.log" 2>&1 & pids+=($!)
WP=$(port); "$BIN/walkerd" -tcp 127.0.0.1:"$WP" -raft 127.0.0.1:"$(port)" -dir "$work/w/data" -raftdir "$work/w/raft" \
	--log-level warn >"$work/walkerd.log" 2>&1 & pids+=($!)
ready "$RP"; ready "$WP"
sleep 1
python3 - "$N" >"$work/ybench.resp" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(1, n + 1):
    a = [b"XADD", b"ybench", b"1-%d" % i, b"f", b"v%d" % i]
    sys.stdout.buffer.write(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
PY
out=$work/results
for r in $(seq "$ROUNDS"); do
	for p in "$RP" "$WP"; do
		name=redis; [ "$p" = "$WP" ] && name=walkerd
		redis-cli -p "$p" del xbench ybench bbench >/dev/null
		redis-cli -p "$p" setbit bbench 8388607 0 >/dev/null
		redis-cli -p "$p" --pipe <"$work/ybench.resp" >/dev/null
		redis-cli -p "$p" xgroup create ybench g 0 >/dev/null
		bench "$p" "$name" XADD XADD xbench '*' f __rand_int__
		bench "$p" "$name" XREADGROUP XREADGROUP GROUP g c COUNT 1 STREAMS ybench '>'
		bench "$p" "$name" XACK XACK ybench g 1-__rand_int__
		bench "$p" "$name" SETBIT SETBIT bits:__rand_int__ 100 1
		bench "$p" "$name" BITCOUNT BITCOUNT bbench
	done
done
python3 - "$out" <<'PY'
import re, statistics, sys, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r'(\w+) (\S+): ([\d.]+) requests per second', line)
    if m:
        d[(m.group(2), m.group(1))].append(float(m.group(3)))
tests = list(dict.fromkeys(t for t, _ in d))
print("| requests/s | redis-server (AOF always) | walkerd (Raft, 1 node) | walkerd/redis |")
print("|---|---|---|---|")
for t in tests:
    r, w = statistics.median(d[(t, "redis")]), statistics.median(d[(t, "walkerd")])
    print(f"| {t} | {r:,.0f} | {w:,.0f} | {w/r:.2f} |")
PY
