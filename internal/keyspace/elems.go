package keyspace

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Elements.
//
// Each collection type names its elements in the sub-key's element bytes
// (SubKeyParts.Elem) and keeps a value in the sub-key's engine value:
//
//	hash        field                             -> value
//	set         member                            -> (empty)
//	list        position, 8 bytes BE              -> element
//	sorted set  'm' member                        -> score, float64 bits BE
//	            's' sortable score (8 B) member   -> (empty)
//
// A list's metadata Extra is its head position (8 bytes BE; absent: a new
// list, ListStart): the list is the Count positions [head, head+Count).
// A sorted set keeps each member twice: by member ('m', for ZSCORE) and by
// score then member ('s', an index giving ranges by score in one ordered
// walk, as Redis orders its skiplist). The functions below encode and
// decode these bytes; walkerd's command layer writes them and every
// reader (walkerdump, the tests) decodes them here.

// ListStart is the position of a new list's first element: the middle of
// the position space, so a list can grow 2^63 elements either way.
const ListStart = uint64(1) << 63

// Sorted set element families: the first byte of a sorted set's element
// bytes.
const (
	ZMemberFamily = 'm' // 'm' member -> score (float64 bits BE)
	ZScoreFamily  = 's' // 's' ZSortable(score) member -> empty
)

// ListPos is the element bytes of list position p.
func ListPos(p uint64) []byte { return AppendListPos(make([]byte, 0, 8), p) }

// AppendListPos appends ListPos(p) to dst.
func AppendListPos(dst []byte, p uint64) []byte { return binary.BigEndian.AppendUint64(dst, p) }

// DecodeListPos decodes a list element's element bytes. It fails, wrapping
// ErrBadKey, on anything but 8 bytes.
func DecodeListPos(elem []byte) (uint64, error) {
	if len(elem) != 8 {
		return 0, fmt.Errorf("%w: list position of %d bytes", ErrBadKey, len(elem))
	}
	return binary.BigEndian.Uint64(elem), nil
}

// EncodeListHead is the metadata Extra of a list whose first element is
// at position head.
func EncodeListHead(head uint64) []byte { return binary.BigEndian.AppendUint64(nil, head) }

// ListHead is the head position of a list from its metadata Extra:
// ListStart when Extra is empty (a list that never had one written). It
// fails, wrapping ErrBadKey, on an Extra of another length.
func ListHead(extra []byte) (uint64, error) {
	switch len(extra) {
	case 0:
		return ListStart, nil
	case 8:
		return binary.BigEndian.Uint64(extra), nil
	}
	return 0, fmt.Errorf("%w: list head of %d bytes", ErrBadKey, len(extra))
}

// ZMemberElem is the element bytes of a sorted set member's by-member
// sub-key ('m' member); its value is ZScoreValue(score).
func ZMemberElem(member []byte) []byte {
	return append(append(make([]byte, 0, 1+len(member)), ZMemberFamily), member...)
}

// ZScoreElem is the element bytes of a sorted set member's by-score
// sub-key ('s' ZSortable(score) member); its value is empty.
func ZScoreElem(score float64, member []byte) []byte {
	b := make([]byte, 0, 9+len(member))
	b = append(b, ZScoreFamily)
	b = AppendZSortable(b, score)
	return append(b, member...)
}

// ZScoreValue is the engine value of a by-member sub-key: the score's
// float64 bits, big-endian.
func ZScoreValue(score float64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), math.Float64bits(score))
}

// DecodeZScoreValue decodes ZScoreValue. It fails, wrapping ErrBadKey, on
// anything but 8 bytes, or on NaN (Redis never stores one).
func DecodeZScoreValue(v []byte) (float64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: sorted set score of %d bytes", ErrBadKey, len(v))
	}
	f := math.Float64frombits(binary.BigEndian.Uint64(v))
	if math.IsNaN(f) {
		return 0, fmt.Errorf("%w: sorted set score is NaN", ErrBadKey)
	}
	return f, nil
}

// AppendZSortable appends a score encoded so that byte order is numeric
// order: -inf first, +inf last, -0 as +0 (they compare equal in Redis, so
// their members order by member). The sign bit is flipped for
// non-negative scores and every bit for negative ones.
func AppendZSortable(dst []byte, f float64) []byte {
	if f == 0 {
		f = 0 // -0 sorts as +0
	}
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, u)
}

// DecodeZSortable decodes the 8 bytes AppendZSortable wrote (-0 reads +0).
// It fails, wrapping ErrBadKey, on fewer than 8 bytes.
func DecodeZSortable(b []byte) (float64, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("%w: sortable score of %d bytes", ErrBadKey, len(b))
	}
	u := binary.BigEndian.Uint64(b)
	if u&(1<<63) != 0 {
		u &^= 1 << 63
	} else {
		u = ^u
	}
	return math.Float64frombits(u), nil
}

// Element is one element of a collection, decoded from a sub-key's
// element bytes and its engine value by DecodeElem. The byte slices alias
// the inputs.
type Element struct {
	// Name is a hash field or a set or sorted set member; nil for a list
	// element.
	Name []byte
	// Value is a hash field's value or a list element; nil for set and
	// sorted set members.
	Value []byte
	// Pos is a list element's position.
	Pos uint64
	// Score is a sorted set member's score.
	Score float64
	// Index marks a sorted set's by-score sub-key: an index entry, not an
	// element of its own (its member also has a by-member sub-key, which
	// DecodeElem reads as the element). Name and Score are set from it.
	Index bool
}

// DecodeElem decodes one sub-key of a collection of type t from its
// element bytes (SubKeyParts.Elem) and engine value. It fails, wrapping
// ErrBadKey, on bytes that do not fit t's layout: a list position that is
// not 8 bytes, a sorted set element of no known family or a score that is
// not 8 bytes, a set member with a value, a string or an unknown type.
func DecodeElem(t Type, elem, value []byte) (Element, error) {
	switch t {
	case Hash:
		return Element{Name: elem, Value: value}, nil
	case Set:
		if len(value) != 0 {
			return Element{}, fmt.Errorf("%w: set member with a %d-byte value", ErrBadKey, len(value))
		}
		return Element{Name: elem}, nil
	case List:
		p, err := DecodeListPos(elem)
		if err != nil {
			return Element{}, err
		}
		return Element{Value: value, Pos: p}, nil
	case ZSet:
		if len(elem) == 0 {
			return Element{}, fmt.Errorf("%w: empty sorted set element", ErrBadKey)
		}
		switch elem[0] {
		case ZMemberFamily:
			f, err := DecodeZScoreValue(value)
			if err != nil {
				return Element{}, err
			}
			return Element{Name: elem[1:], Score: f}, nil
		case ZScoreFamily:
			f, err := DecodeZSortable(elem[1:])
			if err != nil {
				return Element{}, err
			}
			if len(value) != 0 {
				return Element{}, fmt.Errorf("%w: sorted set score index with a %d-byte value", ErrBadKey, len(value))
			}
			return Element{Name: elem[9:], Score: f, Index: true}, nil
		}
		return Element{}, fmt.Errorf("%w: sorted set element family %#x", ErrBadKey, elem[0])
	}
	return Element{}, fmt.Errorf("%w: %v has no elements", ErrBadKey, t)
}

// ElemKey is the element bytes under which a collection of type t stores
// the element e: the inverse of DecodeElem (for an Index element of a
// sorted set, its by-score key). Its engine value is ElemValue(t, e).
func ElemKey(t Type, e Element) []byte {
	switch t {
	case List:
		return ListPos(e.Pos)
	case ZSet:
		if e.Index {
			return ZScoreElem(e.Score, e.Name)
		}
		return ZMemberElem(e.Name)
	}
	return e.Name
}

// ElemValue is the engine value ElemKey's sub-key holds.
func ElemValue(t Type, e Element) []byte {
	switch t {
	case Hash, List:
		return e.Value
	case ZSet:
		if !e.Index {
			return ZScoreValue(e.Score)
		}
	}
	return []byte{}
}
