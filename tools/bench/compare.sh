#!/usr/bin/env bash
# The write path beside redis-server, in one run:
#   make build && tools/bench/compare.sh
#   BEFORE=/path/to/older/walkerd tools/bench/compare.sh   (adds its columns)
#
# Starts, on loopback:
#   redis-always     redis-server 7, appendonly yes, appendfsync always
#   redis-everysec   redis-server 7, appendonly yes, appendfsync everysec
#   w1-bolt, w1-wal  walkerd, one Raft node, raft-boltdb / raft-wal log
#   standalone       walkerd --standalone, appendfsync always
#   standalone-es    walkerd --standalone, appendfsync everysec
#   w3               walkerd, three Raft nodes (default log store), through the leader
#   before-1, before-3   the same as w1 (default store) and w3 for $BEFORE, if set
# then runs redis-benchmark (50 clients, 100-byte values, N requests at
# -P 1 and N16 at -P 16, over 100,000 random keys) for SET and GET against
# each, in
# ROUNDS interleaved rounds, and prints the median of each cell, the ratio
# of each column to redis-always, consistent reads (LEVELGET level 2) on
# three nodes, and the CPU each server spent per SET (-P 1), summed over
# a cluster's nodes, from /proc/PID/stat. Every process it started is
# stopped by pid. The machine is shared and noisy: read the ratios of one
# run, not figures across runs.
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

targets=()
add() { targets+=("$1:$2"); }
redis redis-always always; add redis-always "$ret"
redis redis-everysec everysec; add redis-everysec "$ret"
p=$(port); node "$BIN/walkerd" w1-bolt "$p" --raft-log bolt; add w1-bolt "$p"
p=$(port); node "$BIN/walkerd" w1-wal "$p" --raft-log wal; add w1-wal "$p"
p=$(port); node "$BIN/walkerd" standalone "$p" --standalone; add standalone "$p"
p=$(port); node "$BIN/walkerd" standalone-es "$p" --standalone --appendfsync everysec; add standalone-es "$p"
cluster "$BIN/walkerd" w3; add w3 "$ret"
if [ -n "$BEFORE" ]; then
	p=$(port); node "$BEFORE" before-1 "$p"; add before-1 "$p"
	cluster "$BEFORE" before-3; add before-3 "$ret"
fi
for t in "${targets[@]}"; do
	case ${t%%:*} in
	redis-* | standalone*) wait_ready "${t##*:}" plain ;;
	*) wait_ready "${t##*:}" ;;
	esac
done

# cpu NAME...: clock ticks (utime+stime) of the named processes, summed.
cpu() {
	local sum=0 f t
	for n in "$@"; do
		for f in "$work/$n.pid" "$work/$n"[abc].pid; do
			[ -e "$f" ] || continue
			# fields 14 and 15 of stat; after "comm) " they are 12 and 13
			t=$(sed 's/^.*) //' "/proc/$(cat "$f")/stat" | awk '{print $12 + $13}')
			sum=$((sum + t))
		done
	done
	echo "$sum"
}
rb() { # port P test...: requests per second
	local p=$1 P=$2 n=$N
	shift 2
	[ "$P" = 1 ] || n=$N16
	redis-benchmark -p "$p" -c 50 -d 100 -r 100000 -n "$n" -P "$P" -q "$@" 2>/dev/null |
		tr '\r' '\n' | grep "per second" | tail -1 | sed 's/^.*: \([0-9.]*\) requests per second.*/\1/'
}

: >"$out"
echo "== $ROUNDS rounds, $N requests each at -P 1 and $N16 at -P 16, 50 clients, 100-byte values, 100,000 keys" >&2
for r in $(seq "$ROUNDS"); do
	for test in "SET 1" "SET 16" "GET 1" "GET 16"; do
		set -- $test
		for t in "${targets[@]}"; do
			name=${t%%:*} p=${t##*:}
			c0=$(cpu "$name")
			v=$(rb "$p" "$2" -t "$(echo "$1" | tr A-Z a-z)")
			c1=$(cpu "$name")
			echo "$1-P$2 $name ${v:-0} $((c1 - c0))" >>"$out"
		done
		echo "round $r: $1 -P $2 done" >&2
	done
	for t in "${targets[@]}"; do
		case ${t%%:*} in w3 | before-3)
			v=$(rb "${t##*:}" 1 LEVELGET key:__rand_int__ 2)
			echo "LEVELGET2-P1 ${t%%:*} ${v:-0} 0" >>"$out"
			;;
		esac
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
