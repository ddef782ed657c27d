#!/bin/sh
# Measures walkerdump on a directory of about 1.2 GB: verify and merge
# throughput (MB/s of segment bytes), and recover time with 10 damaged
# places. 7 million records of 16-byte keys and 128-byte values, every key
# written twice, so merge drops half. The directory is made under TMPDIR
# (it needs about 3 GB free) and deleted at the end.
#   ./bench.sh                       7M records
#   WALKERDUMP_BENCH_RECORDS=1000000 ./bench.sh
set -eu
cd "$(dirname "$0")"
WALKERDUMP_BENCH_RECORDS=${WALKERDUMP_BENCH_RECORDS:-7000000} \
	exec go test -run '^$' -bench '^BenchmarkOffline$' -benchtime 1x -timeout 60m -v .
