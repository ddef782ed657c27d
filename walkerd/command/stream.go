package command

import (
	"bytes"
	"strconv"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Streams are collections (coll.go) whose elements internal/keyspace
// (stream.go) lays out in families: entries by ID, the nodes that mirror
// Redis's listpacks, consumer groups, consumers and pending entries. This
// file is the one place the stream commands (cmd_stream.go,
// cmd_streamgroup.go) read and change them through.
//
// Entry IDs that XADD makes with "*" come from the log entry's clock
// (ctx.now), as TTLs do: every node makes the same ID, and since the
// leader's clock is carried in the log and a stream never goes below its
// last ID, IDs never go backwards across a failover.

type streamID = keyspace.StreamID

// streamNodeMaxEntries is Redis's stream-node-max-entries default: a node
// takes entries until it has held this many (deleted ones included).
// Nodes shape what XADD and XTRIM with "~" remove, so every node of a
// cluster must use the same figure: it is fixed, not a setting.
const streamNodeMaxEntries = keyspace.StreamNodeMaxEntriesRedis

// stream is a stream opened by one command.
type stream struct {
	*coll
	meta keyspace.StreamMeta
}

// openStream opens key as a stream. A missing key gives an empty stream
// (exists false) that save creates; wrong reports a key of another type.
func (c *ctx) openStream(key []byte) (s *stream, wrong bool) {
	co, wrong := c.openColl(key, keyspace.Stream)
	if wrong {
		return nil, true
	}
	co.keep = true
	s = &stream{coll: co}
	if co.found {
		m, err := keyspace.DecodeStreamMeta(co.extra)
		if err != nil {
			c.fail(err)
		}
		s.meta = m
	}
	return s, false
}

// exists reports whether the key held the stream when it was opened (or
// save has since created it).
func (s *stream) exists() bool { return s.found }

// length is the number of entries.
func (s *stream) length() int64 { return s.count }

// save writes the stream's metadata; an empty stream lives on, as in
// Redis. A new stream with nothing written is not created: call create
// for XGROUP CREATE ... MKSTREAM.
func (s *stream) save(c *ctx) {
	s.setExtra(keyspace.EncodeStreamMeta(s.meta))
	s.coll.save(c)
}

// create makes sure the stream exists when saved, even empty.
func (s *stream) create(c *ctx) { s.ensure(c) }

// entry reads the fields of entry id (field, value, field, value...).
func (s *stream) entry(c *ctx, id streamID) ([][]byte, bool) {
	v, ok := s.get(c, keyspace.StreamEntryElem(id))
	if !ok {
		return nil, false
	}
	fv, err := keyspace.DecodeStreamFields(v)
	if err != nil {
		c.fail(err)
		return nil, false
	}
	return fv, true
}

// hasEntry reports whether entry id exists.
func (s *stream) hasEntry(c *ctx, id streamID) bool {
	return s.has(c, keyspace.StreamEntryElem(id))
}

// walk calls f on the entries whose IDs lie in [start, end], in ID order
// or (rev) in reverse, until f returns false. fields alias nothing.
func (s *stream) walk(c *ctx, start, end streamID, rev bool, f func(id streamID, fields [][]byte) bool) {
	if start.Compare(end) > 0 {
		return
	}
	lo := keyspace.StreamEntryElem(start)
	var hi []byte
	if next, ok := end.Next(); ok {
		hi = keyspace.StreamEntryElem(next)
	} else {
		hi = []byte{keyspace.StreamEntryFamily + 1}
	}
	it := s.elems(c, lo, hi, rev)
	defer it.close()
	for ; it.Valid(); it.Next() {
		e := it.Key()[len(s.prefix):]
		id, err := keyspace.DecodeStreamID(e[1:])
		if err != nil {
			c.fail(err)
			return
		}
		fv, err := keyspace.DecodeStreamFields(bytes.Clone(it.Value()))
		if err != nil {
			c.fail(err)
			return
		}
		if !f(id, fv) {
			return
		}
	}
}

// edge is the first (or, last, the last) entry's ID; ok is false when the
// stream has none.
func (s *stream) edge(c *ctx, last bool) (id streamID, ok bool) {
	s.walk(c, streamID{}, keyspace.MaxStreamID, last, func(x streamID, _ [][]byte) bool {
		id, ok = x, true
		return false
	})
	return id, ok
}

// streamNode is a node and its master (first) ID.
type streamNode struct {
	master streamID
	keyspace.StreamNode
}

// nodes calls f on the nodes in ID order until it returns false.
func (s *stream) nodes(c *ctx, f func(n streamNode) bool) {
	it := s.elemsWithPrefix(c, []byte{keyspace.StreamNodeFamily}, false)
	defer it.close()
	for ; it.Valid(); it.Next() {
		n, ok := s.decodeNode(c, it.Key()[len(s.prefix):], it.Value())
		if !ok || !f(n) {
			return
		}
	}
}

func (s *stream) decodeNode(c *ctx, elem, v []byte) (streamNode, bool) {
	id, err := keyspace.DecodeStreamID(elem[1:])
	if err == nil {
		var n keyspace.StreamNode
		if n, err = keyspace.DecodeStreamNode(v); err == nil {
			return streamNode{id, n}, true
		}
	}
	c.fail(err)
	return streamNode{}, false
}

// nodeOf is the node that holds (or would hold) id: the last node whose
// master ID is at most id.
func (s *stream) nodeOf(c *ctx, id streamID) (n streamNode, ok bool) {
	hi := []byte{keyspace.StreamNodeFamily + 1}
	if next, more := id.Next(); more {
		hi = keyspace.StreamNodeElem(next)
	}
	it := s.elems(c, []byte{keyspace.StreamNodeFamily}, hi, true)
	defer it.close()
	if !it.Valid() {
		return streamNode{}, false
	}
	return s.decodeNode(c, it.Key()[len(s.prefix):], it.Value())
}

func (s *stream) putNode(c *ctx, n streamNode) {
	s.put(c, keyspace.EncodeStreamNode(n.StreamNode), keyspace.StreamNodeElem(n.master))
}

// appendEntry adds entry id (greater than every ID in the stream: the
// caller checks) with its fields, as t_stream.c's streamAppendItem does:
// into the last node, or a new one when the last has held
// streamNodeMaxEntries entries. It counts the entry and moves the last
// ID, entries-added and, for a stream that was empty, the first ID.
func (s *stream) appendEntry(c *ctx, id streamID, fields [][]byte) {
	n, ok := s.nodeOf(c, keyspace.MaxStreamID)
	if !ok || n.Live+n.Deleted >= streamNodeMaxEntries {
		n = streamNode{master: id}
	}
	n.Live++
	n.Last = id
	s.putNode(c, n)
	s.put(c, keyspace.EncodeStreamFields(fields), keyspace.StreamEntryElem(id))
	s.add(1)
	if s.count == 1 {
		s.meta.FirstID = id
	}
	s.meta.LastID = id
	s.meta.EntriesAdded++
}

// deleteEntry removes entry id if it exists, as streamIteratorRemoveEntry
// does: its node counts it deleted, and goes when no live entry is left.
// It does not touch the first or max-deleted IDs: the callers (XDEL,
// XTRIM) do, each as Redis does.
func (s *stream) deleteEntry(c *ctx, id streamID) bool {
	if !s.hasEntry(c, id) {
		return false
	}
	s.remove(c, keyspace.StreamEntryElem(id))
	s.add(-1)
	if n, ok := s.nodeOf(c, id); ok {
		if n.Live <= 1 {
			s.remove(c, keyspace.StreamNodeElem(n.master))
		} else {
			n.Live--
			n.Deleted++
			s.putNode(c, n)
		}
	}
	return true
}

// refreshFirstID sets the first ID Redis records after a deletion or a
// trim: the first live entry's, or 0-0 for an empty stream.
func (s *stream) refreshFirstID(c *ctx) {
	if id, ok := s.edge(c, false); ok {
		s.meta.FirstID = id
	} else {
		s.meta.FirstID = streamID{}
	}
}

// --- IDs as arguments ---

// errStreamID is Redis's reply to an ID it cannot read.
const errStreamID Error = "ERR Invalid stream ID specified as stream command argument"

// parseStreamID reads an ID argument as t_stream.c's
// streamGenericParseIDOrReply does: "-" and "+" (0-0 and the greatest ID,
// refused when strict), "<ms>-<seq>", or "<ms>" with missingSeq as the
// sequence; with allowSeqStar, "<ms>-*" too (seqGiven false then). Each
// number reads as Redis's string2ull does (strictUint). Longer than 127
// bytes is invalid.
func parseStreamID(arg []byte, missingSeq uint64, strict, allowSeqStar bool) (id streamID, seqGiven bool, err error) {
	if len(arg) > 127 {
		return id, false, errStreamID
	}
	arg = cstr(arg) // Redis reads the argument as a C string, to its first NUL
	if len(arg) == 1 && (arg[0] == '-' || arg[0] == '+') {
		if strict {
			return id, false, errStreamID
		}
		if arg[0] == '+' {
			return keyspace.MaxStreamID, true, nil
		}
		return streamID{}, true, nil
	}
	msPart, seqPart, hasSeq := bytes.Cut(arg, []byte{'-'})
	ms, ok := string2ull(msPart)
	if !ok {
		return id, false, errStreamID
	}
	if !hasSeq {
		return streamID{Ms: ms, Seq: missingSeq}, true, nil
	}
	if allowSeqStar && len(seqPart) == 1 && seqPart[0] == '*' {
		return streamID{Ms: ms}, false, nil
	}
	seq, ok := string2ull(seqPart)
	if !ok {
		return id, false, errStreamID
	}
	return streamID{Ms: ms, Seq: seq}, true, nil
}

// string2ull reads an unsigned 64-bit decimal as Redis's util.c
// string2ull does: a strict long long (string2ll) that is not negative,
// or else what C's strtoull takes whole: leading white space, a sign
// ("-n" is 2^64-n, as strtoull negates), digits, no overflow.
func string2ull(b []byte) (uint64, bool) {
	if v, ok := ParseInt(b); ok {
		return uint64(v), v >= 0
	}
	i := 0
	for i < len(b) && cIsSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	if i == len(b) {
		return 0, false
	}
	u, err := strconv.ParseUint(string(b[i:]), 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		u = -u
	}
	return u, true
}

// formatStreamID is id as Redis replies it.
func formatStreamID(id streamID) []byte { return []byte(id.String()) }

// replyEntry answers one entry as XRANGE and XREAD do: [id, [field,
// value, ...]].
func (c *ctx) replyEntry(id streamID, fields [][]byte) {
	c.r.Array(2)
	c.r.Bulk(formatStreamID(id))
	c.r.Array(len(fields))
	for _, f := range fields {
		c.r.Bulk(f)
	}
}
