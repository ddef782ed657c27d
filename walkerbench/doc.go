// Command walkerbench measures WalkerDB: a RESP server over the network
// (walkerbench run), or the storage engine in process (walkerbench
// engine). It is written to be trusted: it counts every reply, checks what
// it reads, and measures latency so that stalls cannot hide.
//
//	walkerbench run --target redis=127.0.0.1:6379 --target walkerd=127.0.0.1:7379 \
//	    -t set,get -c 50 -P 16 -n 2000000 --plot bench.png
//	walkerbench run --target 127.0.0.1:7379 -t get --rate 20000 --duration 30s --level consistent
//	walkerbench engine -t put,get,batch --sync always,everysec,no --duration 5s --json
//
// # Targets
//
// Each --target ([name=]host:port) gets the same workload in turn, on its
// own connections and its own keys; the report shows them side by side,
// with each figure's ratio to the first target's. In engine mode the
// targets are the sync modes (--sync always,everysec,no), each in its own
// directory.
//
// # Workload
//
// Tests run one after another against a target: server mode set, get,
// incr, mset (--mset-keys keys per MSET, one request each) and mixed
// (--ratio set:get); engine mode put, get, delete, batch (--batch-size
// puts per Write, one request each) and mixed. Each test runs for
// --duration, or for --requests requests over all clients, after an
// unmeasured --warmup. Keys are chosen from --keyspace keys, uniformly or
// zipfian (key 0 the hottest, exponent --zipf-exponent). With --prefill
// (the default; --prefill=false to skip) every key is written once,
// unmeasured, before tests that read or delete. With --level, reads are
// LEVELGET key level (0 default, 1 stale, 2 consistent) instead of GET.
//
// # Clients
//
// In server mode each client is a connection of its own, written to raw
// TCP: a pipeline of --pipeline commands goes out in one write, and the
// replies are parsed in place from a buffered reader, without allocating.
// Against redis-server it drives as many requests per second as
// redis-benchmark does on the same workload. In engine mode each client is
// a goroutine calling the engine.
//
// # Latency
//
// Closed loop (the default): a client sends a pipeline, reads its
// replies, and sends the next; a reply's latency runs from the write of
// its pipeline to the read that brought its last byte. This is what
// redis-benchmark and memtier_benchmark measure, and it has their blind
// spot: while the server stalls, clients send nothing, so a one-second
// stall shows as a few slow requests, not as a second of them.
//
// Open loop (--rate N): requests are due at fixed times, N per second over
// all clients, and are sent when due whatever the replies are doing (a
// second goroutine per connection reads them). A reply's latency runs from
// when its request was due, so a stall is charged to every request that
// should have gone out during it (no coordinated omission). Waits use a
// timerfd, which wakes within tens of microseconds; how late requests
// actually left is reported as the send lag.
//
// Latencies go into HdrHistogram histograms (1 ns to 5 min, three
// significant digits); the report gives p50, p90, p99, p99.9 and max, and
// --json the whole distribution.
//
// # Checks
//
// Every request ends right (counted in ops/s), of unknown outcome, or as
// an error, counted by kind: an error reply, a connection failure
// (requests in flight are lost, and the client stops), or a mismatch. An
// unknown outcome is walkerd's -UNKNOWN reply to a write whose leader was
// lost while it was in flight: it may or may not have been applied. Such
// writes are counted and reported apart (the "unknown" row, a note), are
// not errors, and do not stop a prefill; the checks below allow for
// either outcome. Values are
// derived from their key and a version (see appendValue), so a read can be
// checked without remembering what was written:
//
//   - a value must be of the right length, and (for --verify of reads, all
//     by default) belong to its key, be intact, and be of a version the run
//     has written;
//   - a read of a key the run never wrote must be nil (the default key
//     prefix is new for each target);
//   - a read must not be nil once a write of its key was acknowledged
//     before the read was sent (except at --level stale);
//   - SET and MSET must answer +OK; INCR an integer no larger than the
//     INCRs sent to its key.
//
// The exit status is 1 when any result holds errors.
//
// # Output
//
// A table for people on stdout, or with --json the Report as JSON. On
// stderr, live progress when it is a terminal (the prefill's keys, then
// each test's ops/s); when it is not, a line every 10 s of a prefill, and
// nothing else. --plot FILE writes a PNG headed by the run's parameters
// (targets, clients, pipeline depth, value size, ...) with, per test, the
// latency by percentile and the throughput over time, a line per target.
package main
