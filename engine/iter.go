package engine

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/walkerdb/walkerdb/engine/keydir"
	"github.com/walkerdb/walkerdb/engine/record"
)

// IterOptions bound an Iterator and say what it reads.
type IterOptions struct {
	// Lower is the least key the Iterator yields (inclusive); nil: no
	// bound.
	Lower []byte
	// Upper is the key the Iterator stops before (exclusive); nil: no
	// bound.
	Upper []byte
	// Prefix keeps only keys that begin with it, within Lower and Upper
	// too; nil or empty keeps all. It is a pair of bounds: [Prefix, the
	// least key past every key with Prefix).
	Prefix []byte
	// KeysOnly promises that Value will not be called, so that moving
	// needs no read of a value: only the header of a record that carries
	// an expiry, to judge it. Value then returns an error.
	KeysOnly bool
	// IncludeExpired yields keys that expired at the View's time but are
	// still stored, as DB.Scan's option does (for callers that delete
	// them). Then moving reads nothing from disk at all.
	IncludeExpired bool
}

// Iterator walks the live keys of a View in ascending byte order, forward
// or back. Make one with View.Iter; it is unpositioned until First, Last,
// SeekGE or SeekLT.
//
// # Validity
//
// An Iterator belongs to the View it was made in and may be used only
// inside that View's callback: the View's read lock is what keeps the
// index and the segments still beneath it. After the callback returns,
// every move fails and Err reports an error wrapping ErrClosed. Several
// Iterators may run at once, on several goroutines, inside one View or in
// Views of their own; one Iterator is not safe for concurrent use.
//
// Each positioning method (First, Last, SeekGE, SeekLT, Next, Prev)
// returns whether the Iterator is at a key, the same answer as Valid
// afterwards. Because a View sees one state, an Iterator sees every key
// that is live at the View's time exactly once, whatever was written
// before the View began, synced into the ordered index or not.
//
// # Bounds and direction
//
// The Iterator never leaves [Lower, Upper) ∩ Prefix: SeekGE below the
// lower bound lands on the first key, SeekLT above the upper bound on the
// last. Direction may change at any key: Prev after Next returns the key
// Next left. As in pebble, an Iterator that runs off one end may be turned
// round: Prev after Next (or SeekGE) has returned false goes to the last
// key, and Next after Prev (or SeekLT) has returned false to the first. Next
// on an unpositioned Iterator is First, and Prev is Last.
//
// # Expiry
//
// Keys that expired at the View's time are skipped (unless
// IncludeExpired), judged exactly as View.Get judges them: the value and
// its expiry are read and checked against the record's CRC, and kept for
// Value. With KeysOnly the expiry is taken from the record's header alone,
// as View.Lookup takes it.
//
// # Aliasing
//
// Key returns the Iterator's own buffer: valid until the next move, and
// not to be changed. Value returns a fresh copy the caller owns. The
// Iterator copies the bounds in IterOptions; the caller may reuse them.
//
// # Errors
//
// A record that fails its CRC, or is not the record its key points at,
// is never returned as data: the read (Value, Meta, or a move that judges
// expiry) fails with an error wrapping ErrCorruption, the Iterator becomes
// invalid, every move after fails, and Err returns the error. Check Err
// after a loop ends, as with pebble:
//
//	it := v.Iter(engine.IterOptions{Prefix: p})
//	defer it.Close()
//	for ok := it.First(); ok; ok = it.Next() {
//		val, err := it.Value()
//		if err != nil {
//			return err
//		}
//		use(it.Key(), val)
//	}
//	return it.Err()
type Iterator struct {
	v              *View
	kit            *keydir.Iter
	keysOnly       bool
	includeExpired bool

	key   []byte        // the current key, copied out of the index
	hdr   record.Header // the current record's header, when hdrOK
	hdrOK bool
	val   []byte // the current value read to judge expiry, when valOK
	valOK bool

	err    error
	closed bool
}

// Mistakes of the caller's, not states of the data: not exported, but the
// last wraps ErrClosed.
var (
	errKeysOnly = errors.New("engine: Value of a KeysOnly iterator")
	errNoKey    = errors.New("engine: iterator is not at a key")
	errIterDone = fmt.Errorf("engine: iterator used after its View returned: %w", ErrClosed)
)

// Iter returns an unpositioned Iterator over the View's live keys within
// o's bounds. It does not read the disk, and costs about the same whatever
// was written since the index was last sorted.
func (v *View) Iter(o IterOptions) *Iterator {
	if v.done {
		return &Iterator{v: v, err: errIterDone}
	}
	lower, upper := o.Lower, o.Upper
	if len(o.Prefix) > 0 {
		if bytes.Compare(o.Prefix, lower) > 0 {
			lower = o.Prefix
		}
		if end := keydir.PrefixEnd(o.Prefix); end != nil && (upper == nil || bytes.Compare(end, upper) < 0) {
			upper = end
		}
	}
	return &Iterator{
		v:              v,
		kit:            v.db.kd.NewIter(lower, upper),
		keysOnly:       o.KeysOnly,
		includeExpired: o.IncludeExpired,
	}
}

// First moves to the first key, and reports whether there is one.
func (it *Iterator) First() bool { return it.usable() && it.settle(it.kit.First(), 1) }

// Last moves to the last key, and reports whether there is one.
func (it *Iterator) Last() bool { return it.usable() && it.settle(it.kit.Last(), -1) }

// SeekGE moves to the first key >= key, and reports whether there is one.
func (it *Iterator) SeekGE(key []byte) bool {
	return it.usable() && it.settle(it.kit.SeekGE(key), 1)
}

// SeekLT moves to the last key < key, and reports whether there is one.
func (it *Iterator) SeekLT(key []byte) bool {
	return it.usable() && it.settle(it.kit.SeekLT(key), -1)
}

// Next moves to the next key, and reports whether there is one.
func (it *Iterator) Next() bool { return it.usable() && it.settle(it.kit.Next(), 1) }

// Prev moves to the previous key, and reports whether there is one.
func (it *Iterator) Prev() bool { return it.usable() && it.settle(it.kit.Prev(), -1) }

// Valid reports whether the Iterator is at a key.
func (it *Iterator) Valid() bool {
	return it.err == nil && !it.closed && it.kit.Valid()
}

// Key is the current key, or nil when the Iterator is not at one. The
// slice is the Iterator's: valid until the next move, and not to be
// changed.
func (it *Iterator) Key() []byte {
	if !it.Valid() {
		return nil
	}
	return it.key
}

// Value returns a copy of the current key's value, checked against its
// CRC. It fails with an error wrapping ErrCorruption (which Err then
// returns too) when the record is damaged, and with an error when the
// Iterator is not at a key or is KeysOnly.
func (it *Iterator) Value() ([]byte, error) {
	if err := it.atKey(); err != nil {
		return nil, err
	}
	if it.keysOnly {
		return nil, errKeysOnly
	}
	if it.valOK { // read to judge expiry: hand it over once
		v := it.val
		it.val, it.valOK = nil, false
		return v, nil
	}
	loc := it.kit.Loc()
	v, _, err := it.v.db.segs[loc.Segment()].readValue(loc.Offset(), it.key)
	if err != nil {
		it.err = err
		return nil, err
	}
	return v, nil
}

// Meta returns the current key's metadata, from its record's header (as
// View.Lookup does: the header is not covered by a check of its own). A
// header that does not decode fails with an error wrapping ErrCorruption,
// which Err then returns too.
func (it *Iterator) Meta() (Meta, error) {
	if err := it.atKey(); err != nil {
		return Meta{}, err
	}
	if !it.hdrOK {
		loc := it.kit.Loc()
		s := it.v.db.segs[loc.Segment()]
		h, err := s.readHeader(loc.Offset())
		if err != nil {
			it.err = s.wrap(loc.Offset(), err)
			return Meta{}, it.err
		}
		it.hdr, it.hdrOK = h, true
	}
	return Meta{ValueLen: int(it.hdr.ValueLen), ExpireAt: it.hdr.ExpireAt, Seq: it.hdr.Seq}, nil
}

// MayExpire reports whether the current key's record carries an expiry
// time, from the index alone (keydir.FlagExpires): a key for which it is
// false never expires, and Meta would read its header to say ExpireAt 0.
func (it *Iterator) MayExpire() bool {
	return it.atKey() == nil && it.kit.Loc().Expires()
}

// Err is the error that stopped the Iterator, if any: it wraps
// ErrCorruption when a record was damaged, and ErrClosed when the
// Iterator was used after its View returned. A loop that ended with a
// false move ended at a bound only if Err is nil.
func (it *Iterator) Err() error { return it.err }

// Close releases the Iterator and returns Err. The Iterator must not be
// used after; Close again returns the same.
func (it *Iterator) Close() error {
	if !it.closed {
		it.closed = true
		if it.kit != nil {
			it.kit.Close()
		}
		it.key, it.val = nil, nil
	}
	return it.err
}

// usable reports whether the Iterator may move, and records why not.
func (it *Iterator) usable() bool {
	if it.err != nil || it.closed {
		return false
	}
	if it.v.done {
		it.err = errIterDone
		return false
	}
	return true
}

func (it *Iterator) atKey() error {
	switch {
	case it.err != nil:
		return it.err
	case it.v.done:
		it.err = errIterDone
		return it.err
	case !it.Valid():
		return errNoKey
	}
	return nil
}

// settle finishes a move of the index's iterator, which stopped at a key
// (ok) or ran out: it steps on in direction dir past keys that expired,
// and reads what judging them needs.
func (it *Iterator) settle(ok bool, dir int) bool {
	for ; ok; ok = it.step(dir) {
		it.key = append(it.key[:0], it.kit.Key()...)
		it.hdrOK, it.valOK, it.val = false, false, nil
		loc := it.kit.Loc()
		if it.includeExpired || !loc.Expires() {
			return true
		}
		s := it.v.db.segs[loc.Segment()]
		var exp int64
		if it.keysOnly {
			h, err := s.readHeader(loc.Offset())
			if err != nil {
				it.err = s.wrap(loc.Offset(), err)
				return false
			}
			it.hdr, it.hdrOK, exp = h, true, h.ExpireAt
		} else {
			v, e, err := s.readValue(loc.Offset(), it.key)
			if err != nil {
				it.err = err
				return false
			}
			it.val, it.valOK, exp = v, true, e
		}
		if exp == 0 || !it.v.db.expired(exp, it.v.now) { // as DB.get
			return true
		}
	}
	return false
}

func (it *Iterator) step(dir int) bool {
	if dir > 0 {
		return it.kit.Next()
	}
	return it.kit.Prev()
}
