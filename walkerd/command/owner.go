package command

import (
	"sync"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Slot ownership on a node with several Raft groups (walkerd --groups):
// each group's engine holds the keys of some hash slots only. A command
// runs in the group of its keys, but a script may name other keys in its
// redis.call: one of a slot its group does not own fails with Redis
// Cluster's error, as script.c refuses a key of a slot another node
// serves, rather than reading or writing the wrong group's engine.

// errNonLocalKey is Redis Cluster's error for a script's key of a slot
// the node does not serve (script.c).
const errNonLocalKey = "ERR Script attempted to access a non local key in a cluster node"

// owners maps an engine's data directory to the slots its group owns. The
// directory, not the *engine.DB, is the key: a snapshot restore reopens
// the engine in the same directory.
var owners sync.Map // string -> func(slot uint16) bool

// SetOwner records that the engine in directory dir holds the slots owns
// accepts; nil forgets it (every slot, as with one group).
func SetOwner(dir string, owns func(slot uint16) bool) {
	if owns == nil {
		owners.Delete(dir)
		return
	}
	owners.Store(dir, owns)
}

// nonLocalKey reports whether args, a command of spec s run by a script on
// db, names a key of a slot db's group does not own.
func nonLocalKey(db *engine.DB, s *Spec, args [][]byte) bool {
	v, ok := owners.Load(db.Dir())
	if !ok {
		return false
	}
	owns := v.(func(uint16) bool)
	for _, r := range KeyAccess(s, args) {
		if !owns(keyspace.Slot(r.Key)) {
			return true
		}
	}
	return false
}
