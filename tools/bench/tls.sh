#!/usr/bin/env bash
# The cost of TLS, walkerd beside redis-server 7.0:
#   tools/bench/tls.sh            (ROUNDS=3 N=100000 by default)
# Builds walkerd from the tree, makes a CA and a server certificate with
# openssl, and starts on loopback: redis-server (--save '' --appendonly no)
# serving plain text and TLS (tls-auth-clients no), a standalone walkerd
# and a one-node walkerd cluster (defaults: appendfsync always), each with
# --tcp and --tls-port, and two three-node clusters with a cluster secret:
# one whose nodes talk plain text (benchmarked on its leader's plain
# port), one whose nodes use mutual TLS (--tls-cluster yes; benchmarked on
# its leader's TLS port), so that "3 nodes" compares a cluster without TLS
# anywhere to one with TLS everywhere. Then redis-benchmark -c 50 -n N -t set,get at -P 1
# and -P 16, plain and --tls, target after target in each round (rounds
# interleaved), and prints the median requests per second of the rounds
# with TLS's share of plain. Every process started is stopped by pid.
source "$(dirname "$0")/lib.sh"
N=${N:-100000}
ROUNDS=${ROUNDS:-3}

# A TLS build of redis-server asks for a certificate; one without TLS refuses tls-port.
probe=$(timeout 5 redis-server --port 0 --tls-port "$(port)" --save "" 2>&1 || true)
grep -q "No tls-cert-file configured" <<<"$probe" || { echo "redis-server was built without TLS" >&2; exit 1; }
(cd walkerd && go build -o "$work/walkerd" .)

# Certificates: a CA, a server certificate for 127.0.0.1.
c=$work/certs; mkdir -p "$c"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=bench-ca \
	-keyout "$c/ca.key" -out "$c/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=bench-server \
	-keyout "$c/server.key" -out "$c/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$c/ext"
openssl x509 -req -in "$c/server.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" -CAcreateserial -days 1 \
	-extfile "$c/ext" -out "$c/server.crt" 2>/dev/null
tlsargs=(--tls-cert-file "$c/server.crt" --tls-key-file "$c/server.key" --tls-ca-cert-file "$c/ca.crt" --tls-auth-clients no)

# tready waits until the TLS port answers PING.
tready() { # port
	for _ in $(seq 150); do
		redis-cli --tls --cacert "$c/ca.crt" -p "$1" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	echo "nothing answers TLS PING on port $1" >&2; exit 1
}

RP=$(port) RT=$(port)
redis-server --port "$RP" --tls-port "$RT" --bind 127.0.0.1 --save "" --appendonly no "${tlsargs[@]}" \
	>"$work/redis.log" 2>&1 & pids+=($!)
SP=$(port) ST=$(port)
"$work/walkerd" --standalone -id s -tcp 127.0.0.1:"$SP" --tls-port "$ST" -raft 127.0.0.1:"$(port)" \
	-dir "$work/s/data" -raftdir "$work/s/raft" --log-level warn "${tlsargs[@]}" >"$work/s.log" 2>&1 & pids+=($!)
CP=$(port) CT=$(port)
"$work/walkerd" -id c -tcp 127.0.0.1:"$CP" --tls-port "$CT" -raft 127.0.0.1:"$(port)" \
	-dir "$work/c/data" -raftdir "$work/c/raft" --log-level warn "${tlsargs[@]}" >"$work/c.log" 2>&1 & pids+=($!)
# Two three-node clusters, one with mutual TLS between its nodes.
printf 'bench-cluster-secret-0123456789\n' >"$work/secret"; chmod 600 "$work/secret"
declare -A leader3
for kind in plain tls; do
	extra=(); [ "$kind" = tls ] && extra=(--tls-cluster yes)
	first=""
	for i in 1 2 3; do
		p=$(port) t=$(port) r=$(port)
		join=(); [ -n "$first" ] && join=(-join 127.0.0.1:"$first")
		"$work/walkerd" -id "$kind$i" -tcp 127.0.0.1:"$p" --tls-port "$t" -raft 127.0.0.1:"$r" \
			-dir "$work/$kind$i/data" -raftdir "$work/$kind$i/raft" --log-level warn --cluster-secret-file "$work/secret" \
			"${tlsargs[@]}" "${extra[@]}" "${join[@]}" >"$work/$kind$i.log" 2>&1 & pids+=($!)
		if [ -z "$first" ]; then first=$p; leader3[$kind]="$p:$t"; ready "$p" 150; fi
	done
done
for p in "$RP" "$SP" "$CP"; do ready "$p" 150; done
for p in "$RT" "$ST" "$CT"; do tready "$p"; done
for target in "$CP" "${leader3[plain]%%:*}" "${leader3[tls]%%:*}"; do
	for _ in $(seq 150); do redis-cli -p "$target" set warm 1 2>/dev/null | grep -q OK && break; sleep 0.1; done
done
# Both three-node clusters have three voters before any round.
for kind in plain tls; do
	for _ in $(seq 300); do
		[ "$(redis-cli -p "${leader3[$kind]%%:*}" raft.members 2>/dev/null | grep -c '^voter$')" = 3 ] && break; sleep 0.1
	done
done

raw=$work/raw
for r in $(seq "$ROUNDS"); do
	for P in 1 16; do
		for target in "redis-server:$RP:$RT" "walkerd-standalone:$SP:$ST" "walkerd-1node-cluster:$CP:$CT" \
			"walkerd-3nodes:${leader3[plain]%%:*}:${leader3[tls]#*:}"; do
			IFS=: read -r name plain tls <<<"$target"
			for mode in plain tls; do
				if [ "$mode" = plain ]; then args=(-p "$plain"); else args=(-p "$tls" --tls --cacert "$c/ca.crt"); fi
				redis-benchmark "${args[@]}" -c 50 -n "$N" -r 100000 -t set,get -P "$P" -q 2>/dev/null |
					tr '\r' '\n' | grep -E '^(SET|GET): [0-9.]+ requests per second' | sed 's/^\(SET\|GET\): \([0-9.]*\) requests per second.*/\1 \2/' |
					while read -r op rps; do echo "$name $P $op $mode $rps"; done >>"$raw"
			done
		done
	done
	echo "round $r of $ROUNDS done" >&2
done

echo "redis-benchmark -c 50 -n $N -r 100000, median of $ROUNDS interleaved rounds (requests per second)"
python3 - "$raw" <<'EOF'
import sys, statistics, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, p, op, mode, rps = line.split()
    d[(name, int(p), op, mode)].append(float(rps))
print(f"| {'target':<22} | P  | op  | {'plain':>9} | {'TLS':>9} | TLS/plain |")
print(f"|{'-'*24}|----|-----|{'-'*11}|{'-'*11}|-----------|")
order = ["redis-server", "walkerd-standalone", "walkerd-1node-cluster", "walkerd-3nodes"]
for p in (1, 16):
    for op in ("SET", "GET"):
        for name in order:
            pl, tl = d.get((name, p, op, "plain")), d.get((name, p, op, "tls"))
            if not pl or not tl:
                continue
            a, b = statistics.median(pl), statistics.median(tl)
            print(f"| {name:<22} | {p:<2} | {op} | {a:>9.0f} | {b:>9.0f} | {b/a:>8.0%}  |")
EOF
