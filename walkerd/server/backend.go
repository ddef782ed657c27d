package server

import (
	"errors"
	"fmt"
	"sync"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Backend is what the RESP front runs commands against: the standalone
// engine, or the Raft store (package store). Its methods are called from
// many connection goroutines at once and must be safe for that.
type Backend interface {
	// Engine is the local engine, for reads.
	Engine() *engine.DB
	// Apply runs a write and returns the RESP reply the state machine
	// computed (command.Apply's). Errors: *NotLeaderError on a follower
	// (the server forwards the entry to the leader); ErrUnknownOutcome when
	// leadership was lost while the entry was in flight (the server
	// answers with an "UNKNOWN" error and never retries); any other error
	// becomes an error reply. Apply may re-stamp nothing: the server has
	// set e.NowMs.
	Apply(e *command.Entry) ([]byte, error)
	// ReadBarrier prepares a read at a consistency level: 0 default (the
	// leader reads its state), 1 stale (any node reads its own), 2
	// consistent (linearizable). nil: read locally now; *NotLeaderError:
	// forward the read to the leader; any other error becomes an error
	// reply.
	ReadBarrier(level int) error
	// Cluster answers JOIN, LEAVE, SNAPSHOT, RAFT.MEMBERS, RAFT.LEADER and
	// RAFT.TRANSFER (args[0] is the name as the client sent it) with a
	// RESP reply.
	Cluster(args [][]byte) []byte
	// InfoRaft is the body of INFO's "# Raft" section: "key:value\r\n"
	// lines.
	InfoRaft() string
}

// NotLeaderError says this node is not the leader.
type NotLeaderError struct {
	// LeaderAddr is the leader's RESP address, "" when no leader is known.
	LeaderAddr string
}

func (e *NotLeaderError) Error() string {
	if e.LeaderAddr == "" {
		return "server: not the leader, and no leader is known"
	}
	return "server: not the leader; the leader is " + e.LeaderAddr
}

// Errors of the server package.
var (
	// ErrUnknownOutcome: a write was proposed but leadership was lost before
	// its outcome was known. It may or may not have been applied.
	ErrUnknownOutcome = errors.New("server: outcome unknown: leadership lost while the write was in flight")
	// ErrNotSent may be wrapped by a Forwarder's error to say the command
	// certainly never reached the leader (a failed dial): the server then
	// reports a plain failure instead of an unknown outcome.
	ErrNotSent = errors.New("server: request not sent")
)

// Forwarder carries commands from a follower to the leader.
type Forwarder interface {
	// Do sends one command to the node at addr and returns its raw RESP
	// reply bytes (whole, any size). It is called from many connection
	// goroutines at once.
	Do(addr string, args [][]byte) ([]byte, error)
}

// NewStandalone returns the backend of standalone mode: the engine alone,
// no Raft. Writes apply under a mutex, each with the next index of a
// counter that starts at db.Seq(), so sequence numbers keep growing across
// restarts and WATCH versions stay unique.
func NewStandalone(db *engine.DB) Backend {
	return &standalone{db: db, index: db.Seq()}
}

// NewStandaloneGroupCommit is NewStandalone for appendfsync always at group
// commit speed. Open db with engine.SyncNo: each write is applied under the
// mutex as usual, and made durable with db.Sync after the mutex is released,
// so writers that arrive meanwhile share one fsync; the reply still waits
// for it. (With an engine opened in SyncAlways, NewStandalone fsyncs inside
// its mutex: one fsync per write, no sharing.)
func NewStandaloneGroupCommit(db *engine.DB) Backend {
	return &standalone{db: db, index: db.Seq(), syncAfter: true}
}

type standalone struct {
	db        *engine.DB
	mu        sync.Mutex
	index     uint64
	syncAfter bool
}

func (s *standalone) Engine() *engine.DB { return s.db }

func (s *standalone) Apply(e *command.Entry) ([]byte, error) {
	s.mu.Lock()
	s.index++
	reply, err := command.ApplyEntry(s.db, s.index, e)
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	if s.syncAfter {
		if err := s.db.Sync(); err != nil {
			return nil, fmt.Errorf("%w: sync: %v", ErrUnknownOutcome, err)
		}
	}
	return reply, nil
}

func (s *standalone) ReadBarrier(level int) error { return nil }

func (s *standalone) Cluster(args [][]byte) []byte {
	return command.AppendError(nil, "ERR this command requires cluster mode")
}

func (s *standalone) InfoRaft() string { return "raft_state:standalone\r\n" }
