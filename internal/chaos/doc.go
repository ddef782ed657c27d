// Package chaos tests a walkerd cluster the way Jepsen tests databases:
// real processes, real faults, and checkers that read the whole history of
// what the clients saw. tools/chaos is its command; `make chaos-short`
// (part of `make test`) runs it for two minutes with a fixed seed, `make
// chaos` for as long as asked.
//
// # The cluster and its network
//
// Node i (0-based) is a walkerd process that owns the loopback IP
// 127.0.0.(11+i): its RESP and Raft ports bind there, and so does a proxy
// (a Proxy of the run's Net) in front of each. The node advertises its
// proxies (--raft-advertise, --advertise), so every Raft connection and
// every follower-to-leader forward goes through the proxy of its
// destination, and walkerd dials from its own IP, so the proxy knows the
// source node from the source address. The harness can thus stall (hold
// the bytes, as a firewall dropping packets that TCP later retransmits),
// reset, or delay the traffic between any two nodes without root. Clients
// reach each node's RESP port directly: a partition separates the nodes,
// not the clients from them.
//
// # Nemeses
//
// kill (SIGKILL a random node, restart it), kill-leader, pause (SIGSTOP a
// node, the leader half the time, then SIGCONT), partition-leader (the
// leader, with one follower of five, cut from the majority), split (a
// random minority from the majority), isolate (one node from all), delay
// (latency on every link), member (LEAVE a node through another, stop it,
// bring it back with -join, half the time with its data wiped), and
// restart-all (SIGKILL every node at once, restart them all). A schedule
// picks one every few seconds; network and process faults are sometimes
// combined. Each fault is healed before the next, and everything is healed
// when the run ends. After each heal the harness measures how long every
// node takes to apply the leader's commit index (catch-up).
//
// # Workloads and checkers
//
// Clients talk to every node (client i to node i mod n). A write's outcome
// is ok, fail (CLUSTERDOWN, TRYAGAIN, LOADING: walkerd says it was never
// appended) or unknown (UNKNOWN, a timeout, a broken connection, anything
// unexpected); unknown writes may take effect at any time after they
// began, and the checkers allow exactly that.
//
//   - register: SET, DEL and reads at every level (LEVELGET 0/1/2 and
//     plain GET) on three keys, replaced by fresh ones every 10 s.
//     Consistent reads with all writes must be linearizable (porcupine,
//     key by key; a failure writes the key's HTML visualisation). Default
//     reads are checked the same way, for information. Every read at every
//     level must return a value that was written and not reported failed.
//     Certainly-stale reads (a newer write was acknowledged before the read
//     began) are counted per level, and for default reads inside the
//     windows of leader partitions and leader pauses.
//   - append: APPEND of unique tokens, MULTI/EXEC appending one token to
//     two lists, MULTI/EXEC of three SETs, GETs at every level and MGET.
//     Every list read at any level must be a prefix of the final list; no
//     acknowledged append may be lost, none may appear twice or out of
//     real-time order, no failed append may appear, transactions are all
//     or nothing and in one order on every list, consistent reads see
//     every acknowledged append.
//   - counter: INCR and reads. The final value must lie between the
//     acknowledged INCRs and those plus the unknown ones; INCR replies are
//     unique and grow in real time; consistent reads never go back and
//     never miss an acknowledged INCR.
//   - collections: RPUSH, SADD and HSET of unique tokens on two lists,
//     two sets and two hashes, and LRANGE, SMEMBERS, HGETALL during the
//     run. The final contents, read from every node after convergence
//     (they must agree), hold every acknowledged token exactly once, no
//     token never sent or whose write failed, no duplicate, and unknown
//     ones at most once; RPUSH's reply is its token's final position;
//     every list read is a prefix of the final list, every set and hash
//     read a subset of the final one.
//   - streams: XADD of unique tokens with "*" IDs to two streams, consumed
//     by one consumer group (XREADGROUP >, XACK, XAUTOCLAIM of entries left
//     pending). Acknowledged IDs are unique and grow in real time; the
//     final streams (alike on every node) hold every acknowledged XADD at
//     its ID and nothing never sent or failed; no entry is delivered twice
//     through ">"; after a final drain every entry was delivered and none
//     is pending on any node.
//
// After the faults stop the harness waits until every node's
// WALKER.DIGEST agrees (the convergence time), then reads every key at
// level 2 for the checkers (collections and streams: from every node).
//
// # Results
//
// The results folder holds report.json (counts, faults, verdicts,
// convergence), summary.txt, history.jsonl.gz (every operation, a JSON
// object a line), faults.jsonl, the nodes' logs under nodes/, and, on a
// violation, each failing key's porcupine visualisation and the nodes'
// data directories.
package chaos
