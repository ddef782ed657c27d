package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// Bounds of one command of a collection's export: a big collection is
// written as many commands, none holding more than exportBatchElems
// elements or (past the first element) exportBatchBytes bytes of them.
const (
	exportBatchElems = 256
	exportBatchBytes = 1 << 20
)

// exporter writes export's output from the directory's keys met in
// ascending engine order, in one pass. The order is what makes one pass
// enough (internal/keyspace): every database's metadata keys come before
// every sub-key, and a collection's sub-keys are one contiguous run (its
// SubPrefix). So the exporter writes strings as it meets them, remembers
// each live collection's metadata by its sub-key prefix, and writes the
// collection when its run of sub-keys comes: no lookups, each record read
// once, memory one small entry per live collection. A sub-key whose prefix
// no live metadata names is of a dead version (deleted, overwritten or
// expired, not yet swept by walkerd) and is skipped.
type exporter struct {
	w     *bufio.Writer
	json  bool
	buf   []byte
	curDB int

	live map[string]*liveColl // SubPrefix -> a live collection
	cur  *liveColl            // the collection whose sub-keys are being written
	args [][]byte             // RESP: the pending command of cur's elements
	size int                  // bytes of elements in args
	nEl  int                  // JSON: elements written of cur

	strings, colls, elems, expired, deadElems int64
	internal, foreign, streams, short         skipped
	pending                                   int64 // stream pending entries, which plain commands cannot restore
}

// liveColl is a live collection met by its metadata.
type liveColl struct {
	db     int
	key    []byte
	prefix string // its sub-keys' prefix (keyspace.SubPrefix)
	meta   keyspace.Meta
	head   uint64 // a list's head position
	exp    int64
	got    int64 // elements written
	met    bool  // its sub-keys were met

	// A stream (RESP only): its metadata, whether XSETID was written, and
	// its consumers (group, name), which come before their groups.
	smeta     keyspace.StreamMeta
	sdone     bool
	consumers [][2][]byte
}

func newExporter(w *bufio.Writer, jsonLines bool) *exporter {
	return &exporter{w: w, json: jsonLines, curDB: -1, live: map[string]*liveColl{}}
}

// key takes the next key in engine order, with its value and expiry.
func (e *exporter) key(key, value []byte, exp, now int64) error {
	if keyspace.IsSub(key) {
		return e.sub(key, value)
	}
	db, k, ok := keyspace.SplitMeta(key)
	switch {
	case !ok && len(key) > 0 && key[0] == keyspace.Internal:
		e.internal.add(key, nil)
		return nil
	case !ok:
		e.foreign.add(key, nil)
		return nil
	}
	m, err := keyspace.DecodeMeta(value)
	switch {
	case err != nil:
		e.foreign.add(key, value)
		return nil
	case exp != 0 && exp <= now:
		e.expired++
		return nil
	case m.Type == keyspace.Stream && e.json:
		e.streams.add(key, value)
		return nil
	case m.Type != keyspace.String:
		lc := &liveColl{db: db, key: k, meta: m, exp: exp, prefix: string(keyspace.SubPrefix(db, k, m.Version))}
		if m.Type == keyspace.Stream {
			if lc.smeta, err = keyspace.DecodeStreamMeta(m.Extra); err != nil {
				e.foreign.add(key, value)
				return nil
			}
		}
		if m.Type == keyspace.List {
			if lc.head, err = keyspace.ListHead(m.Extra); err != nil {
				e.foreign.add(key, value)
				return nil
			}
		}
		e.live[lc.prefix] = lc
		return nil
	}
	e.strings++
	if e.json {
		j := exportJSON{DB: db, Type: "string", ExpireAt: exp}
		j.Key, j.KeyBase64 = jsonBytes(k)
		j.Value, j.ValueBase64 = jsonBytes(m.Value)
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		_, err = e.w.Write(append(b, '\n'))
		return err
	}
	e.buf = e.selectDB(e.buf[:0], db)
	if exp != 0 {
		e.buf = resp.AppendCommand(e.buf, [][]byte{[]byte("SET"), k, m.Value, []byte("PXAT"), strconv.AppendInt(nil, exp, 10)})
	} else {
		e.buf = resp.AppendCommand(e.buf, [][]byte{[]byte("SET"), k, m.Value})
	}
	_, err = e.w.Write(e.buf)
	return err
}

// selectDB appends SELECT db to dst when the stream is not in db already.
func (e *exporter) selectDB(dst []byte, db int) []byte {
	if db == e.curDB {
		return dst
	}
	e.curDB = db
	return resp.AppendCommand(dst, [][]byte{[]byte("SELECT"), []byte(strconv.Itoa(db))})
}

// sub takes a sub-key: an element of the collection being written, the
// first of the next one, or one of a dead version.
func (e *exporter) sub(key, value []byte) error {
	p, err := keyspace.SplitSub(key)
	if err != nil {
		e.foreign.add(key, nil)
		return nil
	}
	if e.cur == nil || e.cur.prefix != string(p.Prefix) {
		if err := e.endColl(); err != nil {
			return err
		}
		lc := e.live[string(p.Prefix)]
		if lc == nil {
			e.deadElems++
			return nil
		}
		if err := e.beginColl(lc); err != nil {
			return err
		}
	}
	lc := e.cur
	if lc.meta.Type == keyspace.Stream {
		return e.streamElem(lc, key, p.Elem, value)
	}
	el, err := keyspace.DecodeElem(lc.meta.Type, p.Elem, value)
	switch {
	case err != nil:
		e.short.add(key, []byte{byte(lc.meta.Type)})
		return nil
	case el.Index:
		return nil // a sorted set's by-score entry: the member was written from its by-member one
	case lc.meta.Type == keyspace.List && el.Pos-lc.head >= uint64(lc.meta.Count):
		e.short.add(key, []byte{byte(lc.meta.Type)}) // outside [head, head+count)
		return nil
	}
	lc.got++
	e.elems++
	if e.json {
		return e.jsonElem(lc.meta.Type, el)
	}
	n := len(el.Name) + len(el.Value)
	if len(e.args) > 2 && (len(e.args)-2 >= exportBatchElems*argsPerElem(lc.meta.Type) || e.size+n > exportBatchBytes) {
		if err := e.flush(); err != nil {
			return err
		}
	}
	switch lc.meta.Type {
	case keyspace.Hash:
		e.args = append(e.args, el.Name, el.Value)
	case keyspace.List:
		e.args = append(e.args, el.Value)
	case keyspace.Set:
		e.args = append(e.args, el.Name)
	case keyspace.ZSet:
		e.args = append(e.args, []byte(formatScore(el.Score)), el.Name)
	}
	e.size += n
	return nil
}

func argsPerElem(t keyspace.Type) int {
	if t == keyspace.Hash || t == keyspace.ZSet {
		return 2
	}
	return 1
}

// addCommand is the command that adds elements to a collection of type t.
func addCommand(t keyspace.Type) []byte {
	switch t {
	case keyspace.Hash:
		return []byte("HSET")
	case keyspace.List:
		return []byte("RPUSH")
	case keyspace.Set:
		return []byte("SADD")
	}
	return []byte("ZADD")
}

// beginColl starts writing a collection: RESP DEL key (so that the stream
// rebuilds it whole, as SET replaces a string), JSON the object's head.
func (e *exporter) beginColl(lc *liveColl) error {
	e.cur, lc.met = lc, true
	if e.json {
		e.nEl = 0
		e.buf = append(e.buf[:0], `{"db":`...)
		e.buf = strconv.AppendInt(e.buf, int64(lc.db), 10)
		e.buf = appendJSONField(append(e.buf, ','), "key", lc.key)
		e.buf = append(e.buf, `,"type":"`...)
		e.buf = append(e.buf, lc.meta.Type.String()...)
		e.buf = append(e.buf, `","expire_at":`...)
		e.buf = strconv.AppendInt(e.buf, lc.exp, 10)
		e.buf = append(e.buf, `,"elements":[`...)
		_, err := e.w.Write(e.buf)
		return err
	}
	e.buf = e.selectDB(e.buf[:0], lc.db)
	e.buf = resp.AppendCommand(e.buf, [][]byte{[]byte("DEL"), lc.key})
	e.args = append(e.args[:0], addCommand(lc.meta.Type), lc.key)
	e.size = 0
	_, err := e.w.Write(e.buf)
	return err
}

// flush writes the pending command of the current collection's elements.
func (e *exporter) flush() error {
	if len(e.args) <= 2 {
		return nil
	}
	e.buf = resp.AppendCommand(e.buf[:0], e.args)
	e.args, e.size = e.args[:2], 0
	_, err := e.w.Write(e.buf)
	return err
}

// endColl finishes the collection being written, if any: its last batch
// and its expiry.
func (e *exporter) endColl() error {
	lc := e.cur
	if lc == nil {
		return nil
	}
	e.cur = nil
	e.colls++
	if lc.got != lc.meta.Count {
		e.short.add(keyspace.MetaKey(lc.db, lc.key), []byte{byte(lc.meta.Type)})
	}
	if e.json {
		_, err := e.w.WriteString("]}\n")
		return err
	}
	if err := e.flush(); err != nil {
		return err
	}
	e.args = e.args[:0]
	if lc.meta.Type == keyspace.Stream {
		if err := e.streamFinish(lc); err != nil {
			return err
		}
	}
	if lc.exp == 0 {
		return nil
	}
	e.buf = resp.AppendCommand(e.buf[:0], [][]byte{[]byte("PEXPIREAT"), lc.key, strconv.AppendInt(nil, lc.exp, 10)})
	_, err := e.w.Write(e.buf)
	return err
}

// jsonElem writes one element of the current collection's JSON array.
func (e *exporter) jsonElem(t keyspace.Type, el keyspace.Element) error {
	e.buf = e.buf[:0]
	if e.nEl > 0 {
		e.buf = append(e.buf, ',')
	}
	e.nEl++
	e.buf = append(e.buf, '{')
	switch t {
	case keyspace.Hash:
		e.buf = appendJSONField(e.buf, "field", el.Name)
		e.buf = appendJSONField(append(e.buf, ','), "value", el.Value)
	case keyspace.List:
		e.buf = appendJSONField(e.buf, "value", el.Value)
	case keyspace.Set:
		e.buf = appendJSONField(e.buf, "member", el.Name)
	case keyspace.ZSet:
		e.buf = appendJSONField(e.buf, "member", el.Name)
		e.buf = append(e.buf, `,"score":"`...)
		e.buf = append(e.buf, formatScore(el.Score)...)
		e.buf = append(e.buf, '"')
	}
	e.buf = append(e.buf, '}')
	_, err := e.w.Write(e.buf)
	return err
}

// appendJSONField appends "name":"text" for valid UTF-8 and
// "name_base64":"<standard base64>" otherwise, as jsonBytes chooses.
func appendJSONField(dst []byte, name string, b []byte) []byte {
	plain, b64 := jsonBytes(b)
	var v []byte
	if plain != nil {
		v = jsonString(*plain)
	} else {
		name += "_base64"
		v, _ = json.Marshal(b64) // a []byte: base64, never fails
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return append(dst, v...)
}

// jsonString is s as a JSON string, HTML characters unescaped as the
// encoder export uses writes them.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string never fails
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// formatScore writes a score so that Redis's ZADD reads back the same
// float64: "inf", "-inf", or C's %.17g (Go's 'g' with 17 digits is the
// same text), which round-trips every finite double.
func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

// finish ends the walk: the last collection, and every live collection
// whose sub-keys never came (damage: counted).
func (e *exporter) finish() error {
	if err := e.endColl(); err != nil {
		return err
	}
	var unmet []*liveColl
	for _, lc := range e.live {
		if !lc.met {
			unmet = append(unmet, lc)
		}
	}
	slices.SortFunc(unmet, func(a, b *liveColl) int { return strings.Compare(a.prefix, b.prefix) }) // the same examples every time
	for _, lc := range unmet {
		if lc.meta.Type == keyspace.Stream && lc.meta.Count == 0 {
			// An empty stream with no group has no sub-key: write it now.
			if err := e.beginColl(lc); err != nil {
				return err
			}
			if err := e.endColl(); err != nil {
				return err
			}
			continue
		}
		e.short.add(keyspace.MetaKey(lc.db, lc.key), []byte{byte(lc.meta.Type)})
	}
	return e.w.Flush()
}

// summary is the line export writes on stderr.
func (e *exporter) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "exported %d keys (%d strings, %d collections with %d elements); skipped %d expired, %d internal%s, %d outside walkerd's layout%s",
		e.strings+e.colls, e.strings, e.colls, e.elems, e.expired, e.internal.n, e.internal.examples(), e.foreign.n, e.foreign.examples())
	if e.deadElems > 0 {
		fmt.Fprintf(&b, ", %d elements of deleted, overwritten or expired collections (walkerd sweeps them)", e.deadElems)
	}
	if e.streams.n > 0 {
		fmt.Fprintf(&b, ", %d streams%s (JSON export writes no streams)", e.streams.n, e.streams.examples())
	}
	if e.pending > 0 {
		fmt.Fprintf(&b, ", %d pending entries of stream consumer groups (no plain command restores them)", e.pending)
	}
	if e.short.n > 0 {
		fmt.Fprintf(&b, "; warning: %d collection elements or counts that do not match their metadata%s (run verify)", e.short.n, e.short.examples())
	}
	return b.String()
}

// Streams (RESP only). A stream's sub-keys come in family order
// (internal/keyspace stream.go): consumers ('c'), entries ('e'), groups
// ('g'), nodes ('n'), pending entries ('p', 'q'). export writes
//
//	DEL key
//	XADD key <id> field value ...                       each entry, its own ID
//	XADD key MAXLEN 0 0-1 x y                           only for a stream with no entry
//	XSETID key <last id> ENTRIESADDED <n> MAXDELETEDID <id>
//	XGROUP CREATE key <group> <last delivered id> ENTRIESREAD <n>
//	XGROUP CREATECONSUMER key <group> <consumer>        each consumer
//
// so that the stream's entries, last ID, entries-added, max-deleted ID
// (first ID follows from the entries) and its groups' positions load into
// Redis 7.0 or later. Nodes are walkerd's own layout and are not written.
// What plain commands cannot restore is left out and counted: the
// pending entries of groups (XREADGROUP or XCLAIM would redeliver them,
// changing their delivery counts and times) and consumers' seen times.
// When the max-deleted ID exceeds the last ID (7.0's XSETID allows it), a
// first XSETID sets it and a second lowers the last ID, since XSETID
// refuses a MAXDELETEDID above its own ID.

func (e *exporter) command(args ...[]byte) error {
	e.buf = resp.AppendCommand(e.buf[:0], args)
	_, err := e.w.Write(e.buf)
	return err
}

// streamElem takes one sub-key of the stream being written.
func (e *exporter) streamElem(lc *liveColl, key, elem, value []byte) error {
	if len(elem) == 0 {
		e.short.add(key, []byte{byte(lc.meta.Type)})
		return nil
	}
	switch elem[0] {
	case keyspace.StreamConsumerFamily:
		g, name, ok := splitName(elem[1:])
		if !ok {
			e.short.add(key, []byte{byte(lc.meta.Type)})
			return nil
		}
		lc.consumers = append(lc.consumers, [2][]byte{slices.Clone(g), slices.Clone(name)})
		return nil
	case keyspace.StreamEntryFamily:
		id, err := keyspace.DecodeStreamID(elem[1:])
		var fv [][]byte
		if err == nil {
			fv, err = keyspace.DecodeStreamFields(value)
		}
		if err != nil || len(elem) != 17 || len(fv) == 0 || lc.sdone {
			e.short.add(key, []byte{byte(lc.meta.Type)})
			return nil
		}
		lc.got++
		e.elems++
		return e.command(append([][]byte{[]byte("XADD"), lc.key, []byte(id.String())}, fv...)...)
	case keyspace.StreamGroupFamily:
		if err := e.streamFinish(lc); err != nil {
			return err
		}
		g, err := keyspace.DecodeStreamGroup(value)
		if err != nil {
			e.short.add(key, []byte{byte(lc.meta.Type)})
			return nil
		}
		name := elem[1:]
		if err := e.command([]byte("XGROUP"), []byte("CREATE"), lc.key, name, []byte(g.LastID.String()),
			[]byte("ENTRIESREAD"), strconv.AppendInt(nil, g.EntriesRead, 10)); err != nil {
			return err
		}
		for _, c := range lc.consumers {
			if string(c[0]) == string(name) {
				if err := e.command([]byte("XGROUP"), []byte("CREATECONSUMER"), lc.key, name, c[1]); err != nil {
					return err
				}
			}
		}
		return nil
	case keyspace.StreamPendingFamily:
		e.pending++
	}
	return e.streamFinish(lc) // nodes, pending entries: after every entry
}

// streamFinish writes, once, what follows a stream's entries: the entry
// that creates a stream that has none, and its XSETID.
func (e *exporter) streamFinish(lc *liveColl) error {
	if lc.sdone {
		return nil
	}
	lc.sdone = true
	m := lc.smeta
	if lc.got == 0 {
		if err := e.command([]byte("XADD"), lc.key, []byte("MAXLEN"), []byte("0"), []byte("0-1"), []byte("x"), []byte("y")); err != nil {
			return err
		}
	}
	added := strconv.AppendUint(nil, m.EntriesAdded, 10)
	if m.MaxDeletedID.Compare(m.LastID) > 0 {
		md := []byte(m.MaxDeletedID.String())
		if err := e.command([]byte("XSETID"), lc.key, md, []byte("ENTRIESADDED"), added, []byte("MAXDELETEDID"), md); err != nil {
			return err
		}
		return e.command([]byte("XSETID"), lc.key, []byte(m.LastID.String()))
	}
	return e.command([]byte("XSETID"), lc.key, []byte(m.LastID.String()), []byte("ENTRIESADDED"), added,
		[]byte("MAXDELETEDID"), []byte(m.MaxDeletedID.String()))
}

// splitName splits a uvarint-length-prefixed name from what follows it.
func splitName(b []byte) (name, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}
