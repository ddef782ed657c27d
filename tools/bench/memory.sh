#!/usr/bin/env bash
# Memory per element of a big sorted set, a big hash, a big stream and a
# big bitmap, walkerd beside redis-server:
#   tools/bench/memory.sh             (after make build; N=1000000)
#   KINDS="stream bitmap" tools/bench/memory.sh
# Loads N members (ZADD bigz) or N fields (HSET bigh) in batches of 1,000,
# N stream entries (XADD bigx, one field of 10 bytes each), or a bitmap of
# N bytes (SETBIT bigb at every 8th bit), with redis-cli --pipe into each. redis-server's figure is used_memory's
# growth; walkerd's is its resident set after a restart (the engine's
# keydir, not the write path's garbage) less a fresh node's. Every process
# it starts is stopped by pid.
source "$(dirname "$0")/lib.sh"
N=${N:-1000000}
gen() { # kind
	python3 - "$1" "$N" <<'PY'
import sys
kind, n = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
def cmd(args):
    b = b"*%d\r\n" % len(args)
    for a in args:
        a = str(a).encode()
        b += b"$%d\r\n%s\r\n" % (len(a), a)
    return b
if kind == "stream":
    for i in range(n):
        out.write(cmd(["XADD", "bigx", "%d-1" % (i + 1), "f", "value:%04d" % (i % 10000)]))
    sys.exit(0)
if kind == "bitmap":
    for i in range(n):
        out.write(cmd(["SETBIT", "bigb", i * 8 + (i % 8), 1]))
    sys.exit(0)
for s in range(0, n, 1000):
    args = ["ZADD", "bigz"] if kind == "zset" else ["HSET", "bigh"]
    for i in range(s, min(n, s + 1000)):
        args += [i * 1.5, "member:%d" % i] if kind == "zset" else ["field:%d" % i, "value:%d" % i]
    out.write(cmd(args))
PY
}
used() { redis-cli -p "$1" info memory | tr -d '\r' | sed -n 's/^used_memory://p'; }
rss() { ps -o rss= -p "$1" | tr -d ' '; }
echo "| $N elements (bitmap: bytes) | redis-server | walkerd |"
echo "|---|---|---|"
for kind in ${KINDS:-zset hash stream bitmap}; do
	gen "$kind" >"$work/$kind.resp"
	RP=$(port); redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & rpid=$!; pids+=($rpid)
	WP=$(port); RAFT=$(port)
	"$BIN/walkerd" -tcp 127.0.0.1:"$WP" -raft 127.0.0.1:"$RAFT" -dir "$work/$kind/data" -raftdir "$work/$kind/raft" \
		--log-level warn >/dev/null 2>&1 & wpid=$!; pids+=($wpid)
	ready "$RP" 300; ready "$WP" 300; sleep 1
	r0=$(used "$RP"); w0=$(rss "$wpid")
	redis-cli -p "$RP" --pipe <"$work/$kind.resp" >/dev/null
	redis-cli -p "$WP" --pipe <"$work/$kind.resp" >/dev/null
	r1=$(used "$RP")
	kill "$wpid"; wait "$wpid" 2>/dev/null || true
	"$BIN/walkerd" -tcp 127.0.0.1:"$WP" -raft 127.0.0.1:"$RAFT" -dir "$work/$kind/data" -raftdir "$work/$kind/raft" \
		--log-level warn >/dev/null 2>&1 & wpid=$!; pids+=($wpid)
	ready "$WP" 300; sleep 2
	w1=$(rss "$wpid")
	echo "| $kind | $(( (r1 - r0) / N )) B/element | $(( (w1 - w0) * 1024 / N )) B/element |"
	kill "$rpid" "$wpid"; wait "$rpid" "$wpid" 2>/dev/null || true
done
