// Command walkerctl is WalkerDB's cluster admin tool. It talks RESP to any
// walkerd node and never imports walkerd.
//
//	walkerctl [--addr host:port[,host:port...]] [--user U] [--password P]
//	          [--tls [--cacert F] [--cert F --key F]] [--timeout 5s] [--json] COMMAND
//
//	join ID RAFT-ADDR [RESP-ADDR]   add a node: a non-voter, promoted once caught up (any node; followers forward)
//	leave ID                        remove a member
//	members                         every member, each asked at its RESP address: role, reachable, applied, lag
//	leader                          the leader as the node at --addr knows it
//	transfer [ID]                   hand leadership over and wait for the new leader
//	snapshot [--all]                take a Raft snapshot
//	backup FILE                     the leader's data, streamed to FILE (checked, then renamed into place)
//	status [--max-lag N]            one-screen health; exit 6 when unhealthy
//	levelget KEY LEVEL, get, set, del   quick data checks
//	info [SECTION...] [--all]       INFO of one node, or of every member side by side
//	slots                           the hash slot map: range, group, leader and its address, replicas
//	groups [--all]                  the Raft groups: slots, state, term, leader, voters, indexes; --all: every member's view
//	migrate SLOT GROUP [--no-wait]  move a hash slot (or FIRST-LAST) to another group, then wait until it has moved (--wait-timeout 60s)
//	merge FROM INTO                 move every slot range of FROM to INTO, one move after the other, then end FROM
//	split GROUP [INTO]              make a group on GROUP's members (or use INTO, one that serves none) and move the upper half of GROUP's slots to it
//	rebalance [--dry-run]           spread group leaders over the nodes (RAFT.TRANSFER), then slots over the groups
//	completion bash|zsh|fish        shell completion script
//
// Exit codes: 0 ok, 1 a node refused or another failure, 2 usage, 3 a node
// unreachable, 4 authentication (NOAUTH/WRONGPASS), 5 no leader, 6 status
// found the cluster unhealthy. Each command's --help repeats them.
//
// Files: main.go (the app, common flags), client.go (one connection, RESP
// via internal/resp), errors.go (error kinds and exit codes), table.go
// (table and JSON output), and one file per command.
package main
