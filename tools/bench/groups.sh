#!/usr/bin/env bash
# Write throughput as Raft groups are added, beside Redis Cluster, in one
# run:
#   make build && tools/bench/groups.sh
#   GROUP_COUNTS="1 2 4 8" ROUNDS=3 N=100000 tools/bench/groups.sh
#
# Starts, on loopback, each group count G of $GROUP_COUNTS:
#   w3-gG   three walkerd nodes, --groups G --cluster-mode yes: each group
#           fsyncs its own Raft log, leaders spread over the nodes
#   w1-gG   one walkerd node, --groups G (every group led locally)
# and:
#   rc3     Redis Cluster: three redis-server masters, appendonly yes,
#           appendfsync always
#   redis   one redis-server, appendonly yes, appendfsync always
# then runs redis-benchmark (50 clients, 100-byte values, N requests over
# 100,000 random keys) for SET at -P 1 and -P 16 against each, in ROUNDS
# interleaved rounds, and prints the median of each cell and its ratio to
# the group count's first column (w3-g1, w1-g1). Three-node targets with
# two or more masters are driven by redis-benchmark --cluster, which
# refuses a cluster of one master: w3-g1 is driven through its leader, as
# a cluster client would (every slot is the leader's). One-node targets
# take plain redis-benchmark: every group's leader is there. Every process
# it started is stopped by pid. The machine is shared and noisy: read the
# ratios of one run, not figures across runs.
source "$(dirname "$0")/lib.sh"
N=${N:-100000}
ROUNDS=${ROUNDS:-3}
GROUP_COUNTS=${GROUP_COUNTS:-1 2 4 8}
out=$work/results

# settled PORT G NODES: every group has NODES voters and a leader, and
# with several nodes the leaders are spread (no node leads more than
# ceil(G/NODES) groups).
settled() {
	local p=$1 g=$2 n=$3
	for _ in $(seq 600); do
		if redis-cli -p "$p" info raft 2>/dev/null | tr -d '\r' | python3 -c '
import sys, collections
g, n = int(sys.argv[1]), int(sys.argv[2])
lines = {}
for l in sys.stdin:
    k, _, v = l.strip().partition(":")
    lines[k] = v
if g == 1:
    ok = lines.get("raft_members") == str(n) and lines.get("raft_leader_id")
else:
    gs = [dict(kv.split("=", 1) for kv in v.split(",")) for k, v in lines.items() if k.startswith("raft_group") and k != "raft_groups"]
    lead = collections.Counter(x["leader"] for x in gs)
    ok = len(gs) == g and all(x["voters"] == str(n) and x["leader"] for x in gs) and max(lead.values()) <= -(-g // n)
sys.exit(0 if ok else 1)' "$g" "$n"; then return 0; fi
		sleep 0.1
	done
	echo "the cluster on $p never settled ($g groups, $n nodes)" >&2
	exit 1
}
leader_port() { # PORT: the RESP port of the (g1) leader, as INFO raft names it
	redis-cli -p "$1" info raft | tr -d '\r' | sed -n 's/^raft_leader_addr:.*:\([0-9]*\)$/\1/p'
}

targets=()
add() { targets+=("$1:$2:$3"); } # name port mode(cluster|plain)
for g in $GROUP_COUNTS; do
	a=$(port) b=$(port) c=$(port)
	node "$BIN/walkerd" "w3-g$g-a" "$a" --groups "$g" --cluster-mode yes
	ready "$a"
	node "$BIN/walkerd" "w3-g$g-b" "$b" --groups "$g" --cluster-mode yes -join 127.0.0.1:"$a"
	node "$BIN/walkerd" "w3-g$g-c" "$c" --groups "$g" --cluster-mode yes -join 127.0.0.1:"$a"
	settled "$a" "$g" 3
	if [ "$g" = 1 ]; then add "w3-g$g" "$(leader_port "$a")" plain; else add "w3-g$g" "$a" cluster; fi
	p=$(port)
	node "$BIN/walkerd" "w1-g$g" "$p" --groups "$g"
	ready "$p"
	settled "$p" "$g" 1
	add "w1-g$g" "$p" plain
done
rcports=()
for i in 1 2 3; do
	# Redis Cluster's bus listens 10000 above the port: keep it below 55536.
	p=$(port)
	while [ "$p" -gt 55000 ]; do p=$(port); done
	mkdir -p "$work/rc$i"
	(cd "$work/rc$i" && exec redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
		--save "" --appendonly yes --appendfsync always --dir "$work/rc$i") >"$work/rc$i.log" 2>&1 &
	pids+=($!)
	rcports+=("$p")
done
for p in "${rcports[@]}"; do ready "$p"; done
redis-cli --cluster create $(for p in "${rcports[@]}"; do printf '127.0.0.1:%s ' "$p"; done) --cluster-replicas 0 --cluster-yes >"$work/rc-create.log" 2>&1
for _ in $(seq 100); do redis-cli -p "${rcports[0]}" cluster info | grep -q cluster_state:ok && break; sleep 0.1; done
add rc3 "${rcports[0]}" cluster
p=$(port)
mkdir -p "$work/redis"
redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always --dir "$work/redis" >"$work/redis.log" 2>&1 &
pids+=($!)
ready "$p"
add redis "$p" plain

rb() { # port mode P: SET requests per second
	local flag=""
	[ "$2" = cluster ] && flag=--cluster
	redis-benchmark $flag -h 127.0.0.1 -p "$1" -c 50 -d 100 -r 100000 -n "$N" -P "$3" -t set -q 2>/dev/null |
		tr '\r' '\n' | grep "per second" | tail -1 | sed 's/^.*: \([0-9.]*\) requests per second.*/\1/'
}

: >"$out"
echo "== $ROUNDS rounds, $N SETs each, 50 clients, 100-byte values, 100,000 keys" >&2
for r in $(seq "$ROUNDS"); do
	for P in 1 16; do
		for t in "${targets[@]}"; do
			IFS=: read -r name p mode <<<"$t"
			echo "SET-P$P $name $(rb "$p" "$mode" "$P")" >>"$out"
		done
		echo "round $r: -P $P done" >&2
	done
done

python3 - "$out" "${targets[@]}" <<'EOF'
import statistics, sys
path, targets = sys.argv[1], [t.split(":")[0] for t in sys.argv[2:]]
rows = {}
for line in open(path):
    parts = line.split()
    if len(parts) == 3 and parts[2]:
        rows.setdefault(parts[0], {}).setdefault(parts[1], []).append(float(parts[2]))
med = lambda xs: statistics.median(xs) if xs else 0
print("| SET/s (median; ratio to the same layout with 1 group) | " + " | ".join(targets) + " |")
print("|---" * (len(targets) + 1) + "|")
for test in ["SET-P1", "SET-P16"]:
    cells = []
    for t in targets:
        v = med(rows.get(test, {}).get(t, []))
        base = None
        if t.startswith("w3-g") or t.startswith("w1-g"):
            base = med(rows.get(test, {}).get(t.split("-g")[0] + "-g1", []))
        cells.append(f"{v/1000:.1f}k" + (f" ({v/base:.2f})" if base else ""))
    print(f"| {test} | " + " | ".join(cells) + " |")
EOF
