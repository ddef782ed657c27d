package main

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// keyName renders an engine key for people. It is the one way walkerdump
// names a key, in every command's text (dump, inspect, export), after
// walkerd's layout (package keyspace):
//
//	db0 string "user:1"               a metadata key: database, type, user key
//	db0 key "user:1"                  the same when its value is not at hand
//	db2 hash "h" v=1048577 elem "f"   an element sub-key: its collection's version and the element
//	internal member "n1"              walkerd's own keys (0xFF 'm' id: a member's RESP address)
//	internal 0xff78                   another internal key, whole
//	raw 4078                          a key outside the layout, in hex
//
// meta is the metadata value that types the key: a metadata key's own
// value, or an element sub-key's collection's; nil when it is not at hand
// (a tombstone, an element met without its collection), and then the type
// reads "key". User keys and elements are Go-quoted when printable, 0x-hex
// otherwise (see text).
func keyName(key, meta []byte) string {
	typ := "key"
	switch t, ok := keyspace.TypeOf(meta); {
	case ok:
		typ = t.String()
	case len(meta) > 0:
		typ = fmt.Sprintf("type?%d", meta[0]) // not a type of this layout
	case meta != nil:
		typ = "type?" // an empty value
	}
	switch {
	case keyspace.IsMeta(key):
		db, k, _ := keyspace.SplitMeta(key)
		return fmt.Sprintf("db%d %s %s", db, typ, text(k))
	case keyspace.IsSub(key):
		p, err := keyspace.SplitSub(key)
		if err != nil {
			break
		}
		return fmt.Sprintf("db%d %s %s v=%d elem %s", p.DB, typ, text(p.Key), p.Version, text(p.Elem))
	case len(key) > 0 && key[0] == keyspace.Internal:
		if id, ok := strings.CutPrefix(string(key), string(keyspace.MemberPrefix)); ok {
			return "internal member " + text([]byte(id))
		}
		if string(key) == string(keyspace.PlacementKey) {
			return "internal placement" // the placement group's state, JSON
		}
		return "internal 0x" + hex.EncodeToString(key)
	}
	return "raw " + hex.EncodeToString(key)
}

// keyNamer names keys met in an order where a collection's metadata key
// comes before its elements (the engine's key order, or a log that writes
// a collection before its elements): it remembers each collection's type
// by version, so that its elements are named with it.
type keyNamer struct {
	types map[string]byte // sub-key prefix (keyspace.SubPrefix) -> type
}

// name is keyName for a key whose engine value is value (nil when not at
// hand). A collection's metadata teaches the namer its elements' type.
func (n *keyNamer) name(key, value []byte) string {
	switch {
	case keyspace.IsMeta(key) && value != nil:
		if m, err := keyspace.DecodeMeta(value); err == nil && m.Type != keyspace.String {
			db, k, _ := keyspace.SplitMeta(key)
			if n.types == nil {
				n.types = map[string]byte{}
			}
			n.types[string(keyspace.SubPrefix(db, k, m.Version))] = byte(m.Type)
		}
		return keyName(key, value)
	case keyspace.IsSub(key):
		if p, err := keyspace.SplitSub(key); err == nil {
			if t, ok := n.types[string(p.Prefix)]; ok {
				return keyName(key, []byte{t})
			}
		}
	}
	return keyName(key, nil)
}

// detail decodes what a record's key and value hold beyond its name, for
// dump: a collection's metadata gives its element count (and a list its
// head), an element what its type stores in the element bytes (a list
// position, a sorted set member and score). Positions and heads are
// counted from keyspace.ListStart, where a new list begins. "" when there
// is nothing more to say or the type is not known. Call it after name,
// which teaches the namer the types.
func (n *keyNamer) detail(key, value []byte) string {
	switch {
	case value == nil:
	case keyspace.IsMeta(key):
		m, err := keyspace.DecodeMeta(value)
		if err != nil || m.Type == keyspace.String {
			return ""
		}
		s := fmt.Sprintf("v=%d count=%d", m.Version, m.Count)
		if m.Type == keyspace.List {
			if h, err := keyspace.ListHead(m.Extra); err == nil {
				s += fmt.Sprintf(" head=%+d", int64(h-keyspace.ListStart))
			}
		}
		return s
	case keyspace.IsSub(key):
		p, err := keyspace.SplitSub(key)
		if err != nil {
			return ""
		}
		t, ok := n.types[string(p.Prefix)]
		if !ok {
			return ""
		}
		el, err := keyspace.DecodeElem(keyspace.Type(t), p.Elem, value)
		switch {
		case err != nil:
			return "malformed: " + err.Error()
		case keyspace.Type(t) == keyspace.List:
			return fmt.Sprintf("pos=%+d", int64(el.Pos-keyspace.ListStart))
		case keyspace.Type(t) == keyspace.ZSet && el.Index:
			return fmt.Sprintf("by-score index: score=%s member %s", formatScore(el.Score), text(el.Name))
		case keyspace.Type(t) == keyspace.ZSet:
			return fmt.Sprintf("member %s score=%s", text(el.Name), formatScore(el.Score))
		}
	}
	return ""
}
