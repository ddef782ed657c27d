#!/usr/bin/env bash
# The write path beside redis-server, in one run:
#   make build && tools/bench/compare.sh
#   BEFORE=/path/to/older/walkerd tools/bench/compare.sh   (adds its columns)
#
# The targets, on loopback:
#   redis-always     redis-server 7, appendonly yes, appendfsync always
#   redis-everysec   redis-server 7, appendonly yes, appendfsync everysec
#   w1-bolt, w1-wal  walkerd, one Raft node, raft-boltdb / raft-wal log
#   w1-goroutines    w1-wal with --event-loop=false: a goroutine per
#                    connection alone, as walkerd served before its loop
#   standalone       walkerd --standalone, appendfsync always
#   standalone-es    walkerd --standalone, appendfsync everysec
#   w3               walkerd, three Raft nodes (default log store), through the leader
#   go-floor         tools/bench/respfloor: a goroutine per connection, as
#                    walkerd, and nothing else (SET stores nothing, GET
#                    answers a fixed value): what Go's netpoller and
#                    scheduler cost here, under any server built like walkerd
#   epoll-floor      respfloor -epoll: the same replies from one event loop
#                    over epoll on a thread of its own, as redis-server
#                    serves its clients: what serving connections that way
#                    would win back
#   before-1, before-3   the same as w1 (default store) and w3 for $BEFORE, if set
# Each round starts each target alone, on an empty directory, runs
# redis-benchmark against it (50 clients, 100-byte values, N requests at
# -P 1 and N16 at -P 16, over 100,000 random keys; SET, then GET of what
# the SETs wrote), and stops it by pid before the next target starts. Each
# round begins one target further down the list. The table gives the
# median of each cell over ROUNDS rounds, the ratio of each column to
# redis-always, consistent reads (LEVELGET level 2) on three nodes, and the
# CPU each server spent per SET (-P 1), summed over a cluster's nodes, from
# /proc/PID/stat. The machine is shared and noisy: read the ratios of one
# run, not figures across runs.
#
# Why alone: with every target up at once, each cell ran beside two idle
# three-node clusters (about 0.2 of a core each at a CommitTimeout of
# 5 ms) and beside the merges and hint files the servers before it were
# still writing after their SET cells; every GET -P 16 cell, redis-server's
# included, then ran at about half its speed alone. For the same reason
# each cell waits (quiet, at most 30 s) until its own target is back near
# the CPU it used idle after start: a walkerd seals, hints and merges for
# seconds after a long SET cell.
#
# TARGETS="redis-always go-floor epoll-floor" runs only those (in that order).
#
# finn (github.com/tidwall/finn), the system WalkerDB succeeds, is not in
# the table: the module proxy here refuses its dependencies
# (tidwall/raft-boltdb, raft-fastlog, raft-leveldb, redlog), so it does not
# build.
source "$(dirname "$0")/lib.sh"
N=${N:-100000}
# A -P 16 cell of N requests lasts a fraction of a second, and then
# measures the benchmark's start more than the server: redis-server's GET
# -P 16 read 328k/s in cells of 100k requests and 706k/s in cells of 1M,
# in turns on the same machine. So -P 16 cells are ten times as long.
N16=${N16:-$((N * 10))}
ROUNDS=${ROUNDS:-3}
BEFORE=${BEFORE:-}
out=$work/results

wait_ready() { # port [plain]
	for _ in $(seq 150); do
		if [ "${2:-}" = plain ]; then
			redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
		else
			redis-cli -p "$1" info raft 2>/dev/null | grep -q raft_ready:true && return 0
		fi
		sleep 0.1
	done
	echo "node on $1 never became ready" >&2
	exit 1
}
# cluster BIN PREFIX: three nodes; leader's port into $ret. (Not in a
# subshell: pids must reach the cleanup.)
cluster() {
	local bin=$1 pre=$2 a b c
	a=$(port) b=$(port) c=$(port)
	node "$bin" "${pre}a" "$a"
	wait_ready "$a"
	node "$bin" "${pre}b" "$b" -join 127.0.0.1:"$a"
	node "$bin" "${pre}c" "$c" -join 127.0.0.1:"$a"
	for _ in $(seq 150); do redis-cli -p "$a" info raft | grep -q raft_members:3 && break; sleep 0.1; done
	wait_ready "$b" plain
	wait_ready "$c" plain
	ret=$a
}
redis() { # NAME FSYNC: port into $ret
	ret=$(port)
	mkdir -p "$work/$1"
	redis-server --port "$ret" --save "" --appendonly yes --appendfsync "$2" --dir "$work/$1" --bind 127.0.0.1 >"$work/$1.log" 2>&1 &
	pids+=($!)
	echo $! >"$work/$1.pid"
}

# start NAME: starts the target NAME on an empty directory and waits
# until it serves; its port into $ret.
start() {
	case $1 in
	redis-always) redis "$1" always ;;
	redis-everysec) redis "$1" everysec ;;
	w1-bolt) ret=$(port); node "$BIN/walkerd" "$1" "$ret" --raft-log bolt ;;
	w1-wal) ret=$(port); node "$BIN/walkerd" "$1" "$ret" --raft-log wal ;;
	w1-goroutines) ret=$(port); node "$BIN/walkerd" "$1" "$ret" --raft-log wal --event-loop=false ;;
	standalone) ret=$(port); node "$BIN/walkerd" "$1" "$ret" --standalone ;;
	standalone-es) ret=$(port); node "$BIN/walkerd" "$1" "$ret" --standalone --appendfsync everysec ;;
	w3) cluster "$BIN/walkerd" "$1" ;;
	before-1) ret=$(port); node "$BEFORE" "$1" "$ret" ;;
	before-3) cluster "$BEFORE" "$1" ;;
	go-floor | epoll-floor)
		ret=$(port)
		local mode=()
		[ "$1" = go-floor ] || mode=(-epoll -loops 1)
		"$work/respfloor" -addr 127.0.0.1:"$ret" "${mode[@]}" >"$work/$1.log" 2>&1 &
		pids+=($!)
		echo $! >"$work/$1.pid"
		;;
	esac
	case $1 in
	redis-* | standalone* | *-floor) wait_ready "$ret" plain ;;
	*) wait_ready "$ret" ;;
	esac
}
# stop NAME: stops the target's processes by pid (SIGKILL after 10 s),
# waits for them to exit, and removes their directories.
stop() {
	local f pid keep=() q
	for f in "$work/$1.pid" "$work/$1"[abc].pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$f"
		for q in "${pids[@]}"; do [ "$q" = "$pid" ] || keep+=("$q"); done
		pids=("${keep[@]}") keep=()
	done
	rm -rf "${work:?}/$1" "$work/$1"[abc]
}

targets=(redis-always redis-everysec go-floor epoll-floor w1-bolt w1-wal w1-goroutines standalone standalone-es w3)
[ -z "${TARGETS:-}" ] || read -ra targets <<<"$TARGETS"
go build -o "$work/respfloor" ./tools/bench/respfloor
[ -z "$BEFORE" ] || targets+=(before-1 before-3)

# cpu NAME: clock ticks (utime+stime, 1/100 s) of the target's processes, summed.
cpu() {
	local sum=0 f t
	for f in "$work/$1.pid" "$work/$1"[abc].pid; do
		[ -e "$f" ] || continue
		# fields 14 and 15 of stat; after "comm) " they are 12 and 13
		t=$(sed 's/^.*) //' "/proc/$(cat "$f")/stat" | awk '{print $12 + $13}')
		sum=$((sum + t))
	done
	echo "$sum"
}
# idle_of NAME: the target's ticks over one second, into $idle.
idle_of() {
	local c0
	c0=$(cpu "$1")
	sleep 1
	idle=$(($(cpu "$1") - c0))
}
# quiet NAME: waits, at most 30 s, until the target spends no more than
# twice its idle ticks (and 2 more) over half a second.
quiet() {
	local c0 d
	for _ in $(seq 60); do
		c0=$(cpu "$1")
		sleep 0.5
		d=$(($(cpu "$1") - c0))
		[ "$d" -le $((idle + 2)) ] && return 0
	done
	echo "$1 still busy ($d ticks in 0.5 s, idle $idle a second) after 30 s; measuring anyway" >&2
}
rb() { # port P test...: requests per second
	local p=$1 P=$2 n=$N
	shift 2
	[ "$P" = 1 ] || n=$N16
	redis-benchmark -p "$p" -c 50 -d 100 -r 100000 -n "$n" -P "$P" -q "$@" 2>/dev/null |
		tr '\r' '\n' | grep "per second" | tail -1 | sed 's/^.*: \([0-9.]*\) requests per second.*/\1/'
}

: >"$out"
echo "== $ROUNDS rounds, each target alone, $N requests each at -P 1 and $N16 at -P 16, 50 clients, 100-byte values, 100,000 keys" >&2
nt=${#targets[@]}
for r in $(seq "$ROUNDS"); do
	for i in $(seq 0 $((nt - 1))); do
		name=${targets[$(((i + r - 1) % nt))]}
		start "$name"
		p=$ret
		sleep 1
		idle_of "$name"
		for test in "SET 1" "SET 16" "GET 1" "GET 16"; do
			set -- $test
			quiet "$name"
			c0=$(cpu "$name")
			v=$(rb "$p" "$2" -t "$(echo "$1" | tr A-Z a-z)")
			c1=$(cpu "$name")
			echo "$1-P$2 $name ${v:-0} $((c1 - c0))" >>"$out"
		done
		case $name in w3 | before-3)
			quiet "$name"
			v=$(rb "$p" 1 LEVELGET key:__rand_int__ 2)
			echo "LEVELGET2-P1 $name ${v:-0} 0" >>"$out"
			;;
		esac
		stop "$name"
		echo "round $r: $name done" >&2
	done
done

# The table: medians over the rounds, the ratio to redis-always beside.
python3 - "$out" "$N" "${targets[@]}" <<'EOF'
import statistics, sys
path, n, targets = sys.argv[1], int(sys.argv[2]), [t.split(":")[0] for t in sys.argv[3:]]
rows = {}
for line in open(path):
    test, name, v, ticks = line.split()
    rows.setdefault(test, {}).setdefault(name, []).append((float(v), int(ticks)))
med = lambda xs: statistics.median(xs) if xs else 0
print("| ops/s (median; ratio to redis-always) | " + " | ".join(targets) + " |")
print("|---" * (len(targets) + 1) + "|")
for test in ["SET-P1", "SET-P16", "GET-P1", "GET-P16", "LEVELGET2-P1"]:
    if test not in rows:
        continue
    base = med([v for v, _ in rows[test].get("redis-always", [])])
    cells = []
    for t in targets:
        vs = [v for v, _ in rows[test].get(t, [])]
        if not vs:
            cells.append("")
            continue
        m = med(vs)
        cells.append(f"{m/1000:.1f}k" + (f" ({m/base:.2f}x)" if base else ""))
    print(f"| {test} | " + " | ".join(cells) + " |")
# CPU per SET at -P 1: ticks are 1/100 s (CLK_TCK); each run made n SETs.
cells = []
for t in targets:
    ts = [k for _, k in rows["SET-P1"].get(t, [])]
    cells.append(f"{med(ts) * 10_000 / n:.1f}" if ts else "")
print("| CPU µs per SET -P1 (all nodes) | " + " | ".join(cells) + " |")
EOF
