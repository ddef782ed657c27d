package server

import (
	"strconv"

	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Keyspace notification classes (server.h NOTIFY_*), as
// notify-keyspace-events spells them.
const (
	notifyK       = 1 << 0  // K: __keyspace@<db>__:<key>
	notifyE       = 1 << 1  // E: __keyevent@<db>__:<event>
	notifyGeneric = 1 << 2  // g
	notifyString  = 1 << 3  // $
	notifyList    = 1 << 4  // l
	notifySet     = 1 << 5  // s
	notifyHash    = 1 << 6  // h
	notifyZset    = 1 << 7  // z
	notifyExpired = 1 << 8  // x
	notifyEvicted = 1 << 9  // e: accepted, never sent: walkerd evicts nothing (maxmemory 0)
	notifyStream  = 1 << 10 // t
	notifyKeyMiss = 1 << 11 // m
	notifyLoaded  = 1 << 12 // module only
	notifyModule  = 1 << 13 // d
	notifyNew     = 1 << 14 // n
	// A: every class but m and n.
	notifyAll = notifyGeneric | notifyString | notifyList | notifySet | notifyHash | notifyZset |
		notifyExpired | notifyEvicted | notifyStream | notifyModule
)

// parseNotifyFlags reads notify-keyspace-events as notify.c's
// keyspaceEventsStringToFlags: false for a character it does not know.
func parseNotifyFlags(v []byte) (int32, bool) {
	var f int32
	for _, ch := range v {
		switch ch {
		case 'A':
			f |= notifyAll
		case 'g':
			f |= notifyGeneric
		case '$':
			f |= notifyString
		case 'l':
			f |= notifyList
		case 's':
			f |= notifySet
		case 'h':
			f |= notifyHash
		case 'z':
			f |= notifyZset
		case 'x':
			f |= notifyExpired
		case 'e':
			f |= notifyEvicted
		case 'K':
			f |= notifyK
		case 'E':
			f |= notifyE
		case 't':
			f |= notifyStream
		case 'm':
			f |= notifyKeyMiss
		case 'd':
			f |= notifyModule
		case 'n':
			f |= notifyNew
		default:
			return 0, false
		}
	}
	return f, true
}

// notifyFlagsString is keyspaceEventsFlagsToString.
func notifyFlagsString(f int32) string {
	var b []byte
	if f&notifyAll == notifyAll {
		b = append(b, 'A')
	} else {
		for _, x := range []struct {
			f  int32
			ch byte
		}{{notifyGeneric, 'g'}, {notifyString, '$'}, {notifyList, 'l'}, {notifySet, 's'}, {notifyHash, 'h'},
			{notifyZset, 'z'}, {notifyExpired, 'x'}, {notifyEvicted, 'e'}, {notifyStream, 't'}, {notifyModule, 'd'},
			{notifyNew, 'n'}} {
			if f&x.f != 0 {
				b = append(b, x.ch)
			}
		}
	}
	if f&notifyK != 0 {
		b = append(b, 'K')
	}
	if f&notifyE != 0 {
		b = append(b, 'E')
	}
	if f&notifyKeyMiss != 0 {
		b = append(b, 'm')
	}
	return string(b)
}

// notifyParam is CONFIG GET/SET notify-keyspace-events.
func notifyParam() configParam {
	return configParam{
		get: func(s *Server) string { return notifyFlagsString(s.ps.notify.Load()) },
		check: func(v []byte) error {
			if _, ok := parseNotifyFlags(v); !ok {
				return errNotifyClass
			}
			return nil
		},
		set: func(s *Server, v []byte) error {
			f, _ := parseNotifyFlags(v)
			s.ps.notify.Store(f)
			s.reportNewEvents()
			return nil
		},
	}
}

// reportNewEvents tells the backends that offer it (backend.NewEvents)
// whether this node publishes "new" events, which need Touch.New: class n
// with K or E. Before a CONFIG SET of notify-keyspace-events answers, so
// the writes proposed after it report New as they must.
func (s *Server) reportNewEvents() {
	on := s.newEventsOn()
	for _, g := range s.allGroups() {
		if r, ok := g.(backend.NewEvents); ok {
			r.SetNewEvents(on)
		}
	}
}

// newEventsOn reports whether this node publishes "new" events.
func (s *Server) newEventsOn() bool {
	f := s.ps.notify.Load()
	return f&notifyNew != 0 && f&(notifyK|notifyE) != 0
}

type notifyError string

func (e notifyError) Error() string { return string(e) }

const errNotifyClass = notifyError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")

// eventClass is the class Redis notifies each event in (the type argument
// of the notifyKeyspaceEvent calls in t_*.c, db.c, expire.c, ...).
var eventClass = map[string]int32{
	"del": notifyGeneric, "expire": notifyGeneric, "persist": notifyGeneric, "rename_from": notifyGeneric,
	"rename_to": notifyGeneric, "move_from": notifyGeneric, "move_to": notifyGeneric, "copy_to": notifyGeneric,
	"restore": notifyGeneric, "sortstore": notifyGeneric, "swapdb": notifyGeneric,
	"new": notifyNew,

	"set": notifyString, "setrange": notifyString, "incrby": notifyString, "incrbyfloat": notifyString,
	"append": notifyString, "setbit": notifyString, "pfadd": notifyString,

	"lpush": notifyList, "rpush": notifyList, "lpop": notifyList, "rpop": notifyList, "linsert": notifyList,
	"lset": notifyList, "lrem": notifyList, "ltrim": notifyList,

	"sadd": notifySet, "srem": notifySet, "spop": notifySet, "sinterstore": notifySet, "sunionstore": notifySet,
	"sdiffstore": notifySet,

	"hset": notifyHash, "hdel": notifyHash, "hincrby": notifyHash, "hincrbyfloat": notifyHash,

	"zadd": notifyZset, "zincr": notifyZset, "zrem": notifyZset, "zpopmin": notifyZset, "zpopmax": notifyZset,
	"zremrangebyscore": notifyZset, "zremrangebyrank": notifyZset, "zremrangebylex": notifyZset,
	"zunionstore": notifyZset, "zinterstore": notifyZset, "zdiffstore": notifyZset, "zrangestore": notifyZset,
	"georadiusstore": notifyZset, "geosearchstore": notifyZset,

	"expired": notifyExpired, "evicted": notifyEvicted, "keymiss": notifyKeyMiss,

	"xadd": notifyStream, "xtrim": notifyStream, "xdel": notifyStream, "xsetid": notifyStream,
	"xgroup-create": notifyStream, "xgroup-createconsumer": notifyStream, "xgroup-delconsumer": notifyStream,
	"xgroup-destroy": notifyStream, "xgroup-setid": notifyStream,
}

// notifyEvents publishes the events of ts[i], a key's change, under ps.mu
// read-locked: "new" first when the command created the key (Touch.New,
// as db.c's dbAdd notifies it before the command's own event), then the
// event. RENAME and MOVE create their destination before the source's
// rename_from or move_from (renameGenericCommand and moveCommand dbAdd
// first, then notify both): the destination's "new" is published before
// the source's event.
func (ps *pubsub) notifyEvents(flags int32, ts []command.Touch, i int) {
	t := ts[i]
	if i+1 < len(ts) && ts[i+1].New && pairedTo(t.Event, ts[i+1].Event) {
		ps.notifyEvent(flags, command.Touch{DB: ts[i+1].DB, Key: ts[i+1].Key, Event: "new"})
	}
	if t.New && !(i > 0 && pairedTo(ts[i-1].Event, t.Event)) {
		ps.notifyEvent(flags, command.Touch{DB: t.DB, Key: t.Key, Event: "new"})
	}
	ps.notifyEvent(flags, t)
}

// pairedTo reports the two events of one RENAME or MOVE, in order.
func pairedTo(from, to string) bool {
	return from == "rename_from" && to == "rename_to" || from == "move_from" && to == "move_to"
}

// keyMiss returns the hook of a read on this node in database db that
// publishes "keymiss" for each key it did not find (db.c's
// lookupKeyReadWithFlags; notify-keyspace-events class m), or nil when
// the class is off or nobody subscribes. Only this node's subscribers
// hear it: a read is not replicated. The reads are the read-only commands
// this node serves (a follower's forwarded read misses on the node that
// runs it); writes, which Redis also makes look up keys for reading
// (SUNIONSTORE's sources), and scripts notify no misses.
func (ps *pubsub) keyMiss(db int) func(key []byte) {
	flags := ps.notify.Load()
	if flags&notifyKeyMiss == 0 || flags&(notifyK|notifyE) == 0 || ps.nsubs.Load() == 0 {
		return nil
	}
	return func(key []byte) {
		ps.mu.RLock()
		defer ps.mu.RUnlock()
		ps.notifyEvent(flags, command.Touch{DB: db, Key: key, Event: "keymiss"})
	}
}

// notifyEvent publishes one key event (notifyKeyspaceEvent) to this node's
// subscribers, under ps.mu read-locked: the keyspace channel first, then
// the keyevent channel.
func (ps *pubsub) notifyEvent(flags int32, t command.Touch) {
	class, ok := eventClass[t.Event]
	if !ok {
		class = notifyGeneric
	}
	if flags&class == 0 {
		return
	}
	db := strconv.Itoa(t.DB)
	if flags&notifyK != 0 {
		ch := append([]byte("__keyspace@"+db+"__:"), t.Key...)
		ps.deliver(ch, []byte(t.Event), false)
	}
	if flags&notifyE != 0 {
		ch := []byte("__keyevent@" + db + "__:" + t.Event)
		ps.deliver(ch, t.Key, false)
	}
}
