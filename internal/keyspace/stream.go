package keyspace

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Streams.
//
// A stream is a collection (metadata Count: its number of entries) whose
// elements fall in six families, each named by its first byte:
//
//	'e' id                          -> fields   an entry (StreamEntryValue)
//	'n' master id                   -> node     a node of entries (StreamNode)
//	'g' group                       -> group    a consumer group (StreamGroup)
//	'c' len group consumer          -> consumer a group's consumer (StreamConsumer)
//	'p' len group id                -> pending  a group's pending entry (StreamPending)
//	'q' len group len consumer id   -> (empty)  the same entry, by consumer
//
// id is a stream ID as 16 bytes, milliseconds then sequence, both big
// endian, so byte order is ID order; len is a uvarint length, so that the
// keys of group "a" never run into those of group "ab". Every family is
// ordered as Redis orders its radix trees: entries by ID, groups and
// consumers by name, pending entries by ID.
//
// Nodes mirror the listpacks of Redis's stream radix tree (t_stream.c):
// entries are appended to the last node until it holds
// stream-node-max-entries of them (deleted ones included), then a new
// node starts, keyed by its first entry's ID. XADD and XTRIM with "~"
// remove whole nodes only, so a node layout like Redis's gives Redis's
// results; Redis also starts a node when a listpack passes
// stream-node-max-bytes (4096 bytes), which walkerd does not model.
//
// The metadata Extra of a stream is StreamMeta: 56 bytes.
//
//	+-------------+-------------------+-------------+---------------+
//	| last id     | max deleted id    | first id    | entries added |
//	| 16 bytes    | 16 bytes          | 16 bytes    | 8 bytes BE    |
//	+-------------+-------------------+-------------+---------------+

// Stream element families.
const (
	StreamEntryFamily         = 'e'
	StreamNodeFamily          = 'n'
	StreamGroupFamily         = 'g'
	StreamConsumerFamily      = 'c'
	StreamPendingFamily       = 'p'
	StreamConsumerPendFamily  = 'q'
	streamMetaLen             = 56
	streamIDLen               = 16
	streamGroupFixedLen       = 16 + 8 + 8 + 8
	streamConsumerLen         = 8 + 8 + 8
	streamPendingFixedLen     = 8 + 8
	StreamNodeMaxEntriesRedis = 100 // Redis's stream-node-max-entries default
)

// StreamID is a stream entry ID: milliseconds and a sequence number.
type StreamID struct {
	Ms, Seq uint64
}

// MaxStreamID is the greatest ID ("+").
var MaxStreamID = StreamID{math.MaxUint64, math.MaxUint64}

// String formats an ID as Redis does: "<ms>-<seq>".
func (id StreamID) String() string {
	return strconv.FormatUint(id.Ms, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

// Compare orders IDs: -1, 0 or 1.
func (id StreamID) Compare(o StreamID) int {
	switch {
	case id.Ms < o.Ms:
		return -1
	case id.Ms > o.Ms:
		return 1
	case id.Seq < o.Seq:
		return -1
	case id.Seq > o.Seq:
		return 1
	}
	return 0
}

// IsZero reports 0-0.
func (id StreamID) IsZero() bool { return id.Ms == 0 && id.Seq == 0 }

// Next is the least ID greater than id; ok is false for the greatest.
func (id StreamID) Next() (StreamID, bool) {
	switch {
	case id.Seq < math.MaxUint64:
		return StreamID{id.Ms, id.Seq + 1}, true
	case id.Ms < math.MaxUint64:
		return StreamID{id.Ms + 1, 0}, true
	}
	return id, false
}

// Prev is the greatest ID less than id; ok is false for 0-0.
func (id StreamID) Prev() (StreamID, bool) {
	switch {
	case id.Seq > 0:
		return StreamID{id.Ms, id.Seq - 1}, true
	case id.Ms > 0:
		return StreamID{id.Ms - 1, math.MaxUint64}, true
	}
	return id, false
}

// AppendStreamID appends id's 16 bytes.
func AppendStreamID(dst []byte, id StreamID) []byte {
	dst = binary.BigEndian.AppendUint64(dst, id.Ms)
	return binary.BigEndian.AppendUint64(dst, id.Seq)
}

// DecodeStreamID reads the 16 bytes AppendStreamID wrote. It fails,
// wrapping ErrBadKey, on fewer.
func DecodeStreamID(b []byte) (StreamID, error) {
	if len(b) < streamIDLen {
		return StreamID{}, fmt.Errorf("%w: stream ID of %d bytes", ErrBadKey, len(b))
	}
	return StreamID{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}, nil
}

// StreamMeta is a stream's metadata Extra, as Redis's stream struct keeps
// it (t_stream.c): the last ID generated, the greatest ID ever deleted,
// the first entry's ID as Redis records it, and how many entries were
// ever added.
type StreamMeta struct {
	LastID, MaxDeletedID, FirstID StreamID
	EntriesAdded                  uint64
}

// EncodeStreamMeta is m as a metadata Extra.
func EncodeStreamMeta(m StreamMeta) []byte {
	b := make([]byte, 0, streamMetaLen)
	b = AppendStreamID(b, m.LastID)
	b = AppendStreamID(b, m.MaxDeletedID)
	b = AppendStreamID(b, m.FirstID)
	return binary.BigEndian.AppendUint64(b, m.EntriesAdded)
}

// DecodeStreamMeta decodes a stream's metadata Extra; an empty one is a
// new stream's. It fails, wrapping ErrBadKey, on another length.
func DecodeStreamMeta(extra []byte) (StreamMeta, error) {
	if len(extra) == 0 {
		return StreamMeta{}, nil
	}
	if len(extra) != streamMetaLen {
		return StreamMeta{}, fmt.Errorf("%w: stream metadata of %d bytes", ErrBadKey, len(extra))
	}
	var m StreamMeta
	m.LastID, _ = DecodeStreamID(extra)
	m.MaxDeletedID, _ = DecodeStreamID(extra[16:])
	m.FirstID, _ = DecodeStreamID(extra[32:])
	m.EntriesAdded = binary.BigEndian.Uint64(extra[48:])
	return m, nil
}

// StreamEntryElem is the element bytes of the entry id: 'e' id.
func StreamEntryElem(id StreamID) []byte {
	return AppendStreamID(append(make([]byte, 0, 17), StreamEntryFamily), id)
}

// StreamNodeElem is the element bytes of the node whose master (first)
// ID is id: 'n' id.
func StreamNodeElem(id StreamID) []byte {
	return AppendStreamID(append(make([]byte, 0, 17), StreamNodeFamily), id)
}

// EncodeStreamFields is an entry's engine value: its field-value pairs
// (fv alternates field and value) as a uvarint count of pairs, then each
// field and value as a uvarint length and its bytes.
func EncodeStreamFields(fv [][]byte) []byte {
	n := binary.MaxVarintLen64
	for _, b := range fv {
		n += binary.MaxVarintLen32 + len(b)
	}
	dst := binary.AppendUvarint(make([]byte, 0, n), uint64(len(fv)/2))
	for _, b := range fv {
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		dst = append(dst, b...)
	}
	return dst
}

// DecodeStreamFields decodes EncodeStreamFields: field, value, field,
// value... (aliasing v). It fails, wrapping ErrBadKey, on damage.
func DecodeStreamFields(v []byte) ([][]byte, error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)) {
		return nil, fmt.Errorf("%w: stream entry field count", ErrBadKey)
	}
	v = v[w:]
	out := make([][]byte, 0, 2*n)
	for i := uint64(0); i < 2*n; i++ {
		l, w := binary.Uvarint(v)
		if w <= 0 || l > uint64(len(v)-w) {
			return nil, fmt.Errorf("%w: stream entry field %d", ErrBadKey, i)
		}
		out = append(out, v[w:w+int(l)])
		v = v[w+int(l):]
	}
	if len(v) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after a stream entry", ErrBadKey, len(v))
	}
	return out, nil
}

// StreamNode is a node's engine value: how many of its entries are live
// and how many were deleted (Redis's listpack "count" and "deleted"), and
// the ID of the last entry appended to it, deleted or not (what
// t_stream.c's lpGetEdgeStreamID reads when XTRIM MINID weighs a node).
//
//	+-----------------+-----------------+-------------+
//	| live, uvarint   | deleted, uvarint| last id     |
//	+-----------------+-----------------+-------------+
type StreamNode struct {
	Live, Deleted uint64
	Last          StreamID
}

// EncodeStreamNode is n as an engine value.
func EncodeStreamNode(n StreamNode) []byte {
	b := binary.AppendUvarint(make([]byte, 0, 8+streamIDLen), n.Live)
	b = binary.AppendUvarint(b, n.Deleted)
	return AppendStreamID(b, n.Last)
}

// DecodeStreamNode decodes EncodeStreamNode. It fails, wrapping
// ErrBadKey, on damage.
func DecodeStreamNode(v []byte) (StreamNode, error) {
	live, w1 := binary.Uvarint(v)
	if w1 <= 0 {
		return StreamNode{}, fmt.Errorf("%w: stream node", ErrBadKey)
	}
	del, w2 := binary.Uvarint(v[w1:])
	if w2 <= 0 || w1+w2+streamIDLen != len(v) {
		return StreamNode{}, fmt.Errorf("%w: stream node", ErrBadKey)
	}
	last, _ := DecodeStreamID(v[w1+w2:])
	return StreamNode{live, del, last}, nil
}

// appendName appends a uvarint length and the name.
func appendName(dst, name []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(name))), name...)
}

// StreamGroupElem is the element bytes of consumer group g: 'g' g.
func StreamGroupElem(g []byte) []byte {
	return append(append(make([]byte, 0, 1+len(g)), StreamGroupFamily), g...)
}

// StreamConsumerPrefix is the element bytes every consumer of group g
// begins with: 'c' len g. StreamConsumerElem appends the consumer.
func StreamConsumerPrefix(g []byte) []byte {
	return appendName(append(make([]byte, 0, 2+len(g)), StreamConsumerFamily), g)
}

// StreamConsumerElem is the element bytes of consumer name of group g.
func StreamConsumerElem(g, name []byte) []byte {
	return append(StreamConsumerPrefix(g), name...)
}

// StreamPendingPrefix is the element bytes every pending entry of group g
// begins with: 'p' len g. StreamPendingElem appends the ID.
func StreamPendingPrefix(g []byte) []byte {
	return appendName(append(make([]byte, 0, 2+len(g)), StreamPendingFamily), g)
}

// StreamPendingElem is the element bytes of group g's pending entry id.
func StreamPendingElem(g []byte, id StreamID) []byte {
	return AppendStreamID(StreamPendingPrefix(g), id)
}

// StreamConsumerPendPrefix is the element bytes every pending entry of
// consumer name of group g begins with, in the by-consumer family: 'q'
// len g len name. StreamConsumerPendElem appends the ID.
func StreamConsumerPendPrefix(g, name []byte) []byte {
	b := appendName(append(make([]byte, 0, 4+len(g)+len(name)), StreamConsumerPendFamily), g)
	return appendName(b, name)
}

// StreamConsumerPendElem is the element bytes of id in the by-consumer
// family.
func StreamConsumerPendElem(g, name []byte, id StreamID) []byte {
	return AppendStreamID(StreamConsumerPendPrefix(g, name), id)
}

// StreamGroup is a consumer group's engine value, as Redis's streamCG
// keeps it: the last ID delivered to it, the entries it has read (-1:
// unknown, Redis's SCG_INVALID_ENTRIES_READ), and how many entries are
// pending and consumers it has (counts walkerd keeps for XINFO).
//
//	+-------------+---------------+-------------+-------------+
//	| last id     | entries read  | pending     | consumers   |
//	| 16 bytes    | 8 bytes BE    | 8 bytes BE  | 8 bytes BE  |
//	+-------------+---------------+-------------+-------------+
type StreamGroup struct {
	LastID      StreamID
	EntriesRead int64
	Pending     uint64
	Consumers   uint64
}

// EncodeStreamGroup is g as an engine value.
func EncodeStreamGroup(g StreamGroup) []byte {
	b := AppendStreamID(make([]byte, 0, streamGroupFixedLen), g.LastID)
	b = binary.BigEndian.AppendUint64(b, uint64(g.EntriesRead))
	b = binary.BigEndian.AppendUint64(b, g.Pending)
	return binary.BigEndian.AppendUint64(b, g.Consumers)
}

// DecodeStreamGroup decodes EncodeStreamGroup. It fails, wrapping
// ErrBadKey, on another length.
func DecodeStreamGroup(v []byte) (StreamGroup, error) {
	if len(v) != streamGroupFixedLen {
		return StreamGroup{}, fmt.Errorf("%w: stream group of %d bytes", ErrBadKey, len(v))
	}
	id, _ := DecodeStreamID(v)
	return StreamGroup{LastID: id, EntriesRead: int64(binary.BigEndian.Uint64(v[16:])),
		Pending: binary.BigEndian.Uint64(v[24:]), Consumers: binary.BigEndian.Uint64(v[32:])}, nil
}

// StreamConsumer is a consumer's engine value: when it was last seen (Unix
// ms, Redis 7.0's seen-time), and how many entries it has pending.
//
//	+--------------+--------------+--------------+
//	| seen time    | active time  | pending      |
//	| 8 bytes BE   | 8 bytes BE   | 8 bytes BE   |
//	+--------------+--------------+--------------+
//
// Active time is kept for Redis 7.2's XINFO fields; 7.0 does not show it.
type StreamConsumer struct {
	SeenTime, ActiveTime int64
	Pending              uint64
}

// EncodeStreamConsumer is c as an engine value.
func EncodeStreamConsumer(c StreamConsumer) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, streamConsumerLen), uint64(c.SeenTime))
	b = binary.BigEndian.AppendUint64(b, uint64(c.ActiveTime))
	return binary.BigEndian.AppendUint64(b, c.Pending)
}

// DecodeStreamConsumer decodes EncodeStreamConsumer. It fails, wrapping
// ErrBadKey, on another length.
func DecodeStreamConsumer(v []byte) (StreamConsumer, error) {
	if len(v) != streamConsumerLen {
		return StreamConsumer{}, fmt.Errorf("%w: stream consumer of %d bytes", ErrBadKey, len(v))
	}
	return StreamConsumer{SeenTime: int64(binary.BigEndian.Uint64(v)), ActiveTime: int64(binary.BigEndian.Uint64(v[8:])),
		Pending: binary.BigEndian.Uint64(v[16:])}, nil
}

// StreamPending is a pending entry's engine value, as Redis's streamNACK
// keeps it: when it was last delivered (Unix ms), how many times, and to
// which consumer.
//
//	+----------------+----------------+----------------+
//	| delivery time  | delivery count | consumer       |
//	| 8 bytes BE     | 8 bytes BE     | rest           |
//	+----------------+----------------+----------------+
type StreamPending struct {
	DeliveryTime  int64
	DeliveryCount uint64
	Consumer      []byte
}

// EncodeStreamPending is p as an engine value.
func EncodeStreamPending(p StreamPending) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, streamPendingFixedLen+len(p.Consumer)), uint64(p.DeliveryTime))
	b = binary.BigEndian.AppendUint64(b, p.DeliveryCount)
	return append(b, p.Consumer...)
}

// DecodeStreamPending decodes EncodeStreamPending (Consumer aliases v).
// It fails, wrapping ErrBadKey, on fewer than 16 bytes.
func DecodeStreamPending(v []byte) (StreamPending, error) {
	if len(v) < streamPendingFixedLen {
		return StreamPending{}, fmt.Errorf("%w: stream pending entry of %d bytes", ErrBadKey, len(v))
	}
	return StreamPending{DeliveryTime: int64(binary.BigEndian.Uint64(v)), DeliveryCount: binary.BigEndian.Uint64(v[8:]),
		Consumer: v[16:]}, nil
}
