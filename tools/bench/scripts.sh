#!/usr/bin/env bash
# Scripts and functions, walkerd beside redis-server, in one run:
#   tools/bench/scripts.sh                    (after make build; ROUNDS=5 N=50000)
#   OLD=/path/to/older/walkerd tools/bench/scripts.sh   (adds that binary too)
# redis-server runs with appendonly yes and appendfsync always, walkerd as
# a single Raft node, both on loopback; 50 clients. Each round, against
# each server in turn:
#   EVALSHA     a 3-command script (INCR, SET, GET) by its SHA1: a log entry
#   FCALL       the same as a function
#   EVALSHA_RO  a 2-command read script (GET, STRLEN): no log entry
#   SET         for scale
# The table gives each figure's median over the rounds and the ratio to
# redis-server. Every process it starts is stopped by pid.
source "$(dirname "$0")/lib.sh"
N=${N:-50000}
ROUNDS=${ROUNDS:-5}

RP=$(port); redis-server --port "$RP" --bind 127.0.0.1 --dir "$work" --appendonly yes --appendfsync always --save "" >"$work/redis.log" 2>&1 & pids+=($!)
targets=("redis=$RP")
start() { # name binary
	local p; p=$(port)
	"$2" -tcp 127.0.0.1:"$p" -raft 127.0.0.1:"$(port)" -dir "$work/$1/data" -raftdir "$work/$1/raft" \
		--log-level warn >"$work/$1.log" 2>&1 & pids+=($!)
	targets+=("$1=$p")
}
start walkerd "$BIN/walkerd"
[ -n "${OLD:-}" ] && start walkerd-old "$OLD"
for t in "${targets[@]}"; do ready "${t#*=}"; done
sleep 1
rw="redis.call('incr', KEYS[1]) redis.call('set', KEYS[2], ARGV[1]) return redis.call('get', KEYS[2])"
ro="return {redis.call('get', KEYS[1]), redis.call('strlen', KEYS[1])}"
lib="#!lua name=bench
redis.register_function('rw', function(keys, args) redis.call('incr', keys[1]) redis.call('set', keys[2], args[1]) return redis.call('get', keys[2]) end)"
out=$work/results
for r in $(seq "$ROUNDS"); do
	for t in "${targets[@]}"; do
		name=${t%%=*} p=${t#*=}
		sha=$(redis-cli -p "$p" script load "$rw")
		rsha=$(redis-cli -p "$p" script load "$ro")
		redis-cli -p "$p" function load replace "$lib" >/dev/null
		redis-cli -p "$p" set k:1 value >/dev/null
		bench "$p" "$name" EVALSHA EVALSHA "$sha" 2 c:__rand_int__ k:__rand_int__ value
		bench "$p" "$name" FCALL FCALL rw 2 c:__rand_int__ k:__rand_int__ value
		bench "$p" "$name" EVALSHA_RO EVALSHA_RO "$rsha" 1 k:1
		bench "$p" "$name" SET SET k:__rand_int__ value
	done
done
python3 - "$out" "${targets[@]}" <<'PY'
import re, statistics, sys, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r'(\S+) (\S+): ([\d.]+) requests per second', line)
    if m:
        d[(m.group(2), m.group(1))].append(float(m.group(3)))
names = [t.split("=")[0] for t in sys.argv[2:]]
tests = list(dict.fromkeys(t for t, _ in d))
print("| requests/s | " + " | ".join(names) + " | " + " | ".join(f"{n}/redis" for n in names[1:]) + " |")
print("|---" * (2 * len(names)) + "|")
for t in tests:
    med = [statistics.median(d[(t, n)]) if d[(t, n)] else 0 for n in names]
    print(f"| {t} | " + " | ".join(f"{m:,.0f}" for m in med) + " | " + " | ".join(f"{m/med[0]:.2f}" for m in med[1:]) + " |")
PY
