package server

import (
	"strconv"

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
	notifyEvicted = 1 << 9  // e
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
			return nil
		},
	}
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

	"expired": notifyExpired, "evicted": notifyEvicted,

	"xadd": notifyStream, "xtrim": notifyStream, "xdel": notifyStream, "xsetid": notifyStream,
	"xgroup-create": notifyStream, "xgroup-createconsumer": notifyStream, "xgroup-delconsumer": notifyStream,
	"xgroup-destroy": notifyStream, "xgroup-setid": notifyStream,
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
