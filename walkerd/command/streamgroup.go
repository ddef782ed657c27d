package command

import (
	"bytes"
	"slices"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Consumer groups of a stream, stored as sub-keys of the stream
// (internal/keyspace stream.go): a group ('g' name -> StreamGroup), its
// consumers ('c' len group consumer -> StreamConsumer), its pending
// entries list ('p' len group id -> StreamPending, Redis's group PEL) and
// the same entries by consumer ('q' len group len consumer id -> empty,
// Redis's consumer PEL). Redis keeps one streamNACK shared by both PELs;
// walkerd keeps the NACK in 'p' and only the index in 'q', so a change of
// delivery time or count is one write.
//
// The counts XINFO and XPENDING report without a walk are kept in the
// values: a group's Pending (its 'p' entries, the sum of its consumers'
// Pending, its 'q' entries) and Consumers, a consumer's Pending. Every
// change of the PELs goes through sgGroup, which keeps them exact;
// TestStreamGroupInvariants checks them after random operations.
//
// A DEL of the stream drops every group with it: the sub-keys belong to
// the stream's version.

// sgGroup is one consumer group opened by a command: its value, and the
// consumers the command read or changed. flush writes what changed.
type sgGroup struct {
	s     *stream
	name  []byte
	g     keyspace.StreamGroup
	dirty bool
	cons  map[string]*sgConsumer
}

// sgConsumer is a consumer of an sgGroup.
type sgConsumer struct {
	name  []byte
	v     keyspace.StreamConsumer
	dirty bool
}

// openGroup reads group name of s; ok is false when there is none.
func (s *stream) openGroup(c *ctx, name []byte) (gr *sgGroup, ok bool) {
	v, found := s.get(c, keyspace.StreamGroupElem(name))
	if !found {
		return nil, false
	}
	g, err := keyspace.DecodeStreamGroup(v)
	if err != nil {
		c.fail(err)
		return nil, false
	}
	return &sgGroup{s: s, name: name, g: g, cons: map[string]*sgConsumer{}}, true
}

// createGroup makes group name with its last delivered ID and entries
// read (-1: unknown), as streamCreateCG does; ok is false when the group
// exists.
func (s *stream) createGroup(c *ctx, name []byte, last streamID, entriesRead int64) bool {
	if s.has(c, keyspace.StreamGroupElem(name)) {
		return false
	}
	s.put(c, keyspace.EncodeStreamGroup(keyspace.StreamGroup{LastID: last, EntriesRead: entriesRead}),
		keyspace.StreamGroupElem(name))
	return true
}

// groupNames lists the groups of s in name order (Redis's rax order).
func (s *stream) groupNames(c *ctx) [][]byte {
	var out [][]byte
	it := s.elemsWithPrefix(c, []byte{keyspace.StreamGroupFamily}, false)
	defer it.close()
	for ; it.Valid(); it.Next() {
		out = append(out, s.elemOf(it)[1:])
	}
	return out
}

// groupCount is the number of groups of s.
func (s *stream) groupCount(c *ctx) int {
	n := 0
	it := s.elemsWithPrefix(c, []byte{keyspace.StreamGroupFamily}, false)
	defer it.close()
	for ; it.Valid(); it.Next() {
		n++
	}
	return n
}

// destroyGroup removes group name, its consumers and both its PELs, as
// streamFreeCG frees them. O(consumers + pending entries).
func (s *stream) destroyGroup(c *ctx, name []byte) {
	for _, p := range [][]byte{keyspace.StreamConsumerPrefix(name), keyspace.StreamPendingPrefix(name), sgPendByConsumerGroupPrefix(name)} {
		s.removePrefix(c, p)
	}
	s.remove(c, keyspace.StreamGroupElem(name))
}

// removePrefix removes every element beginning with p.
func (s *stream) removePrefix(c *ctx, p []byte) {
	var elems [][]byte
	it := s.elemsWithPrefix(c, p, false)
	for ; it.Valid(); it.Next() {
		elems = append(elems, s.elemOf(it))
	}
	it.close()
	for _, e := range elems {
		s.remove(c, e)
	}
}

// sgPendByConsumerGroupPrefix is the prefix of every 'q' element of group
// g: 'q' len g (the consumer family's layout, another family byte).
func sgPendByConsumerGroupPrefix(g []byte) []byte {
	p := keyspace.StreamConsumerPrefix(g)
	p[0] = keyspace.StreamConsumerPendFamily
	return p
}

// setLast sets the group's last delivered ID and entries read.
func (gr *sgGroup) setLast(id streamID, entriesRead int64) {
	gr.g.LastID, gr.g.EntriesRead = id, entriesRead
	gr.dirty = true
}

// consumer reads consumer name; nil when the group has none.
func (gr *sgGroup) consumer(c *ctx, name []byte) *sgConsumer {
	if cs, ok := gr.cons[string(name)]; ok {
		return cs
	}
	v, found := gr.s.get(c, keyspace.StreamConsumerElem(gr.name, name))
	if !found {
		return nil
	}
	cv, err := keyspace.DecodeStreamConsumer(v)
	if err != nil {
		c.fail(err)
		return nil
	}
	cs := &sgConsumer{name: bytes.Clone(name), v: cv}
	gr.cons[string(name)] = cs
	return cs
}

// createConsumer makes consumer name, seen now, as streamCreateConsumer
// does, with its "xgroup-createconsumer" event on key; nil when it
// exists.
func (gr *sgGroup) createConsumer(c *ctx, key, name []byte) *sgConsumer {
	if gr.consumer(c, name) != nil {
		return nil
	}
	cs := &sgConsumer{name: bytes.Clone(name), v: keyspace.StreamConsumer{SeenTime: c.now, ActiveTime: c.now}, dirty: true}
	gr.cons[string(name)] = cs
	gr.g.Consumers++
	gr.dirty = true
	c.touch(key, "xgroup-createconsumer")
	return cs
}

// lookupOrCreate is the consumer name, made if missing, its seen time
// now (streamLookupConsumer with refresh, else streamCreateConsumer).
func (gr *sgGroup) lookupOrCreate(c *ctx, key, name []byte) *sgConsumer {
	if cs := gr.consumer(c, name); cs != nil {
		cs.v.SeenTime = c.now
		cs.dirty = true
		return cs
	}
	return gr.createConsumer(c, key, name)
}

// deleteConsumer removes consumer cs and its pending entries from both
// PELs, as streamDelConsumer does, and reports how many it had.
func (gr *sgGroup) deleteConsumer(c *ctx, cs *sgConsumer) uint64 {
	ids := gr.consumerPending(c, cs.name, streamID{}, keyspace.MaxStreamID, 0)
	for _, id := range ids {
		gr.s.remove(c, keyspace.StreamPendingElem(gr.name, id))
		gr.s.remove(c, keyspace.StreamConsumerPendElem(gr.name, cs.name, id))
	}
	gr.g.Pending -= uint64(len(ids))
	gr.g.Consumers--
	gr.dirty = true
	gr.s.remove(c, keyspace.StreamConsumerElem(gr.name, cs.name))
	delete(gr.cons, string(cs.name))
	return cs.v.Pending
}

// consumerNames lists the group's consumers in name order.
func (gr *sgGroup) consumerNames(c *ctx) [][]byte {
	p := keyspace.StreamConsumerPrefix(gr.name)
	var out [][]byte
	it := gr.s.elemsWithPrefix(c, p, false)
	defer it.close()
	for ; it.Valid(); it.Next() {
		out = append(out, gr.s.elemOf(it)[len(p):])
	}
	return out
}

// pending reads the group's pending entry id.
func (gr *sgGroup) pending(c *ctx, id streamID) (keyspace.StreamPending, bool) {
	v, found := gr.s.get(c, keyspace.StreamPendingElem(gr.name, id))
	if !found {
		return keyspace.StreamPending{}, false
	}
	p, err := keyspace.DecodeStreamPending(bytes.Clone(v))
	if err != nil {
		c.fail(err)
		return keyspace.StreamPending{}, false
	}
	return p, true
}

// sgPend is a pending entry and its ID.
type sgPend struct {
	id streamID
	keyspace.StreamPending
}

// walkPending calls f on the group's pending entries with IDs in
// [start, end], in ID order, until f returns false.
func (gr *sgGroup) walkPending(c *ctx, start, end streamID, f func(p sgPend) bool) {
	if start.Compare(end) > 0 {
		return
	}
	prefix := keyspace.StreamPendingPrefix(gr.name)
	lo := keyspace.StreamPendingElem(gr.name, start)
	hi := prefixEnd(prefix)
	if next, ok := end.Next(); ok {
		hi = keyspace.StreamPendingElem(gr.name, next)
	}
	it := gr.s.elems(c, lo, hi, false)
	defer it.close()
	for ; it.Valid(); it.Next() {
		e := it.Key()[len(gr.s.prefix)+len(prefix):]
		id, err := keyspace.DecodeStreamID(e)
		if err != nil {
			c.fail(err)
			return
		}
		p, err := keyspace.DecodeStreamPending(bytes.Clone(it.Value()))
		if err != nil {
			c.fail(err)
			return
		}
		if !f(sgPend{id, p}) {
			return
		}
	}
}

// edgePending is the group PEL's first (or, last, its last) ID.
func (gr *sgGroup) edgePending(c *ctx, last bool) (id streamID, ok bool) {
	prefix := keyspace.StreamPendingPrefix(gr.name)
	it := gr.s.elemsWithPrefix(c, prefix, last)
	defer it.close()
	if !it.Valid() {
		return id, false
	}
	id, err := keyspace.DecodeStreamID(it.Key()[len(gr.s.prefix)+len(prefix):])
	if err != nil {
		c.fail(err)
		return id, false
	}
	return id, true
}

// consumerPending lists the IDs in consumer name's PEL within [start,
// end], at most count of them (0: all).
func (gr *sgGroup) consumerPending(c *ctx, name []byte, start, end streamID, count int) []streamID {
	if start.Compare(end) > 0 {
		return nil
	}
	prefix := keyspace.StreamConsumerPendPrefix(gr.name, name)
	lo := keyspace.StreamConsumerPendElem(gr.name, name, start)
	hi := prefixEnd(prefix)
	if next, ok := end.Next(); ok {
		hi = keyspace.StreamConsumerPendElem(gr.name, name, next)
	}
	var out []streamID
	it := gr.s.elems(c, lo, hi, false)
	defer it.close()
	for ; it.Valid() && (count <= 0 || len(out) < count); it.Next() {
		id, err := keyspace.DecodeStreamID(it.Key()[len(gr.s.prefix)+len(prefix):])
		if err != nil {
			c.fail(err)
			return out
		}
		out = append(out, id)
	}
	return out
}

// putPending writes pending entry id, owned by cs, moving it from its
// previous owner (prev, "" when it was not pending) as Redis moves a NACK
// between consumer PELs; counts follow.
func (gr *sgGroup) putPending(c *ctx, id streamID, p keyspace.StreamPending, prev []byte, wasPending bool, cs *sgConsumer) {
	p.Consumer = cs.name
	gr.s.put(c, keyspace.EncodeStreamPending(p), keyspace.StreamPendingElem(gr.name, id))
	if wasPending && bytes.Equal(prev, cs.name) {
		return
	}
	if wasPending {
		gr.s.remove(c, keyspace.StreamConsumerPendElem(gr.name, prev, id))
		if old := gr.consumer(c, prev); old != nil {
			old.v.Pending--
			old.dirty = true
		}
	} else {
		gr.g.Pending++
		gr.dirty = true
	}
	gr.s.put(c, nil, keyspace.StreamConsumerPendElem(gr.name, cs.name, id))
	cs.v.Pending++
	cs.dirty = true
}

// removePending drops pending entry id (owned by owner) from both PELs.
func (gr *sgGroup) removePending(c *ctx, id streamID, owner []byte) {
	gr.s.remove(c, keyspace.StreamPendingElem(gr.name, id))
	gr.s.remove(c, keyspace.StreamConsumerPendElem(gr.name, owner, id))
	gr.g.Pending--
	gr.dirty = true
	if cs := gr.consumer(c, owner); cs != nil {
		cs.v.Pending--
		cs.dirty = true
	}
}

// flush writes the group and the consumers that changed.
func (gr *sgGroup) flush(c *ctx) {
	if gr.dirty {
		gr.s.put(c, keyspace.EncodeStreamGroup(gr.g), keyspace.StreamGroupElem(gr.name))
		gr.dirty = false
	}
	names := make([]string, 0, len(gr.cons))
	for n, cs := range gr.cons {
		if cs.dirty {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		cs := gr.cons[n]
		gr.s.put(c, keyspace.EncodeStreamConsumer(cs.v), keyspace.StreamConsumerElem(gr.name, cs.name))
		cs.dirty = false
	}
}

// --- read counters and lag (t_stream.c, Redis 7.0) ---

// sgInvalidRead is Redis's SCG_INVALID_ENTRIES_READ.
const sgInvalidRead = -1

// rangeHasTombstones reports whether a deleted entry may lie in [start,
// end], as streamRangeHasTombstones judges by the greatest deleted ID.
func (s *stream) rangeHasTombstones(start, end streamID) bool {
	m := s.meta
	if s.length() == 0 || m.MaxDeletedID.IsZero() {
		return false
	}
	if m.FirstID.Compare(m.MaxDeletedID) > 0 {
		return false
	}
	return start.Compare(m.MaxDeletedID) <= 0 && m.MaxDeletedID.Compare(end) <= 0
}

// estimateEntriesRead is the number of entries added up to id, when it
// can be known, as streamEstimateDistanceFromFirstEverEntry finds it;
// sgInvalidRead when it cannot.
func (s *stream) estimateEntriesRead(id streamID) int64 {
	m := s.meta
	added := int64(m.EntriesAdded)
	if added == 0 {
		return 0
	}
	if s.length() == 0 && id.Compare(m.LastID) < 1 {
		return added
	}
	switch cmp := id.Compare(m.LastID); {
	case cmp == 0:
		return added
	case cmp > 0:
		return sgInvalidRead
	}
	cmpFirst := id.Compare(m.FirstID)
	if m.MaxDeletedID.IsZero() || m.MaxDeletedID.Compare(m.FirstID) < 0 {
		switch {
		case cmpFirst < 0:
			return added - s.length()
		case cmpFirst == 0:
			return added - s.length() + 1
		}
	}
	return sgInvalidRead
}

// lag is the number of entries the group has yet to read, as
// streamReplyWithCGLag computes it; ok is false when it cannot be known.
func (s *stream) lag(g keyspace.StreamGroup) (int64, bool) {
	added := int64(s.meta.EntriesAdded)
	if added == 0 {
		return 0, true
	}
	if g.EntriesRead != sgInvalidRead && !s.rangeHasTombstones(g.LastID, keyspace.MaxStreamID) {
		return added - g.EntriesRead, true
	}
	if read := s.estimateEntriesRead(g.LastID); read != sgInvalidRead {
		return added - read, true
	}
	return 0, false
}

// raxNodes estimates Redis's rax node count (XINFO STREAM's
// radix-tree-nodes) for a radix tree holding the nodes' master IDs as
// 16-byte keys: walkerd has no rax, so it counts the nodes of the
// canonical compressed radix tree of those keys as rax builds it by
// appending (a compressed node per shared run, a branching node per
// fork, a leaf per key; 1 for an empty tree). Redis's tree may differ
// after deletions, which rax does not always recompress.
func raxNodes(keys [][]byte) int64 {
	if len(keys) == 0 {
		return 1
	}
	var count func(ks [][]byte, depth int) int64
	var branch func(ks [][]byte, depth int) int64
	count = func(ks [][]byte, depth int) int64 {
		if len(ks) == 1 {
			if depth == len(ks[0]) {
				return 1
			}
			return 2 // a compressed node for the rest, then the leaf
		}
		// the keys are sorted and distinct: their common prefix from depth
		l := depth
		first, last := ks[0], ks[len(ks)-1]
		for l < len(first) && l < len(last) && first[l] == last[l] {
			l++
		}
		if l > depth {
			return 1 + branch(ks, l)
		}
		return branch(ks, depth)
	}
	branch = func(ks [][]byte, depth int) int64 {
		n := int64(1)
		for i := 0; i < len(ks); {
			j := i + 1
			for j < len(ks) && ks[j][depth] == ks[i][depth] {
				j++
			}
			n += count(ks[i:j], depth+1)
			i = j
		}
		return n
	}
	return count(keys, 0)
}
