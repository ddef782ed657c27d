package command

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// Entry is one write as it travels through the Raft log. The leader builds
// it from a client's command (or a MULTI/EXEC transaction) and every node
// applies it with Apply; since Apply reads only the engine and the entry,
// every node computes the same state and the same reply.
type Entry struct {
	// NowMs is the leader's clock (Unix milliseconds) when the entry was
	// proposed. Relative TTLs and expiry checks use it, never a node's own
	// clock.
	NowMs int64
	// DB is the logical database (0..15) the commands start in.
	DB int
	// Cmds holds one write command, the queued commands of a MULTI/EXEC,
	// or (without Exec) consecutive writes of one client's pipeline, which
	// the leader proposes as one entry: each gets its own reply, and a
	// command refused as a whole (an element too long) takes back only
	// its own writes, as if each were an entry of its own. Each command is
	// its arguments, name first.
	Cmds [][][]byte
	// Exec: the reply is an array of the commands' replies (EXEC).
	Exec bool
	// Watches (EXEC only) abort the transaction, with a null array reply,
	// unless every watched key still has the version WATCH recorded.
	Watches []Watch
	// User is the ACL user whose command this is, when it is restricted
	// ("" for one that may run anything): scripts in the entry may call
	// only what the user may (ScriptPermission), checked against the
	// users the log has replicated, so every node decides alike.
	User string
	// Parsed, when the proposer sets it, holds Cmds already parsed (one
	// per command), so that the proposing node does not parse them again.
	// It is not encoded: every other node parses Cmds itself.
	Parsed []Parsed
	// Room lists arguments that lie in buffers with spare bytes before and
	// after them (the protocol guard reads large bulks so): Encode frames
	// the entry around the largest of them in place instead of copying it,
	// and Apply stores a string value among them with its type byte
	// written in the byte before it (ctx.encodeString), so a buffer in Room
	// is the entry's own, and Encode comes before Apply. It is not
	// encoded.
	Room []Roomy
}

// Roomy is a large argument, Buf[Off:Off+Len], read into a buffer with
// spare bytes on both sides. Encode may write the entry's other bytes into
// them, so the buffer must hold nothing else, and every entry encoded
// around it must be the same entry (the bytes written are then the same).
type Roomy struct {
	Buf      []byte
	Off, Len int
}

// Arg is the argument itself.
func (r Roomy) Arg() []byte { return r.Buf[r.Off : r.Off+r.Len : r.Off+r.Len] }

// Watch is a key watched by WATCH and the version it had then: the engine
// sequence number of the write that set it (Meta.Seq), 0 when the key was
// absent or expired.
type Watch struct {
	DB  int
	Key []byte
	Seq uint64
}

// Entry wire format, version 1. uvarint and varint are encoding/binary's.
//
//	+---------+-------------+---------+-------+
//	| version | NowMs       | DB      | flags |   version = 1, flags bit 0 = Exec,
//	| 1 byte  | varint      | uvarint | 1 byte|   bit 1 = User follows
//	+---------+-------------+---------+-------+
//	| [User: len uvarint, bytes] (flags bit 1 only)
//	+-------------------------------------------------------------------+
//	| ncmds uvarint | per command: nargs uvarint, per arg: len uvarint, bytes
//	+---------------+------------------------------------------------------+
//	| nwatches uvarint | per watch: DB uvarint, keylen uvarint, key, Seq uvarint
//	+------------------+---------------------------------------------------+
//
// Nothing may follow the last watch.
const entryVersion = 1

const (
	flagExec = 1
	flagUser = 2
)

// Limits DecodeEntry enforces, so a hostile entry cannot make it allocate
// more than its own size suggests.
const (
	maxDB = 15
)

// ErrBadEntry wraps every reason DecodeEntry refuses its input.
var ErrBadEntry = errors.New("command: malformed log entry")

// ReadOnly reports whether applying e can change nothing: e.Parsed is set
// and each of its commands reads (FlagReadonly) or touches no data
// (FlagPure), and is neither a write nor a command that may replicate (a
// script that may write, PUBLISH), as EVAL_RO refuses them (Redis's
// script.c scriptVerifyWriteCommandAllow). A MULTI/EXEC of reads is one.
// Such an entry may be proposed again when its first proposal's outcome
// was lost: a second apply answers as a first would and changes nothing.
func (e *Entry) ReadOnly() bool {
	if len(e.Parsed) != len(e.Cmds) {
		return false
	}
	for _, p := range e.Parsed {
		f := p.Spec.Flags
		if f&(FlagReadonly|FlagPure) == 0 || f&(FlagWrite|FlagMayReplicate) != 0 {
			return false
		}
	}
	return true
}

// Encode returns the entry's compact binary form. When an argument is in
// e.Room and the bytes around it fit its buffer's spare room, the result is
// that buffer, framed in place: a 512 MB SET is not copied to be logged.
func (e *Entry) Encode() []byte {
	ci, ai, r := e.roomy()
	if ci < 0 {
		b, _ := e.encode(make([]byte, 0, e.size()), nil, -1, -1)
		return b
	}
	head, tail := e.encode(make([]byte, 0, 256), make([]byte, 0, 64), ci, ai)
	if len(head) > r.Off || len(tail) > len(r.Buf)-r.Off-r.Len {
		b, _ := e.encode(make([]byte, 0, e.size()), nil, -1, -1)
		return b
	}
	start, end := r.Off-len(head), r.Off+r.Len+len(tail)
	copy(r.Buf[start:], head)
	copy(r.Buf[r.Off+r.Len:], tail)
	return r.Buf[start:end:end]
}

// FrameIn readies e, decoded from r's argument, to be framed in place in
// r's buffer by Encode, as a leader frames the entry a follower forwards
// (WALKER.APPLY) without a second copy of its value: e's arguments of min
// bytes or more that lie in the buffer join e.Room, and the other
// arguments and the watched keys that lie there, which Encode may write
// over, are copied.
func (e *Entry) FrameIn(r Roomy, min int) {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(r.Buf)))
	hi := lo + uintptr(len(r.Buf))
	in := func(a []byte) (int, bool) {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
		return int(p - lo), len(a) > 0 && p >= lo && p+uintptr(len(a)) <= hi
	}
	for _, c := range e.Cmds {
		for j, a := range c {
			off, ok := in(a)
			switch {
			case !ok:
			case len(a) >= min:
				e.Room = append(e.Room, Roomy{Buf: r.Buf, Off: off, Len: len(a)})
			default:
				c[j] = append([]byte(nil), a...)
			}
		}
	}
	for i := range e.Watches {
		if _, ok := in(e.Watches[i].Key); ok {
			e.Watches[i].Key = append([]byte(nil), e.Watches[i].Key...)
		}
	}
}

// roomy finds the largest argument of e that e.Room holds: its command
// and argument numbers, or -1, -1.
func (e *Entry) roomy() (ci, ai int, r Roomy) {
	ci, ai = -1, -1
	for _, cand := range e.Room {
		if cand.Len <= r.Len {
			continue
		}
		for i, c := range e.Cmds {
			for j, a := range c {
				if len(a) == cand.Len && unsafe.SliceData(a) == unsafe.SliceData(cand.Buf[cand.Off:]) {
					r, ci, ai = cand, i, j
				}
			}
		}
	}
	return ci, ai, r
}

// size bounds the encoding's length.
func (e *Entry) size() int {
	n := 1 + binary.MaxVarintLen64 + 3*binary.MaxVarintLen32 + 1 + len(e.User)
	for _, c := range e.Cmds {
		n += binary.MaxVarintLen32
		for _, a := range c {
			n += binary.MaxVarintLen32 + len(a)
		}
	}
	for _, w := range e.Watches {
		n += 2*binary.MaxVarintLen32 + binary.MaxVarintLen64 + len(w.Key)
	}
	return n
}

// encode appends the encoding to b. With ci >= 0 it stops at argument ai
// of command ci: that argument's length goes to b, and what follows its
// bytes goes to tail instead, so the argument itself is not written.
func (e *Entry) encode(b, tail []byte, ci, ai int) ([]byte, []byte) {
	b = append(b, entryVersion)
	b = binary.AppendVarint(b, e.NowMs)
	b = binary.AppendUvarint(b, uint64(e.DB))
	var flags byte
	if e.Exec {
		flags |= flagExec
	}
	if e.User != "" {
		flags |= flagUser
	}
	b = append(b, flags)
	if e.User != "" {
		b = binary.AppendUvarint(b, uint64(len(e.User)))
		b = append(b, e.User...)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Cmds)))
	head := b
	for i, c := range e.Cmds {
		b = binary.AppendUvarint(b, uint64(len(c)))
		for j, a := range c {
			b = binary.AppendUvarint(b, uint64(len(a)))
			if i == ci && j == ai {
				head, b = b, tail // the argument's bytes are the caller's
				continue
			}
			b = resp.AppendLarge(b, a)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(e.Watches)))
	for _, w := range e.Watches {
		b = binary.AppendUvarint(b, uint64(w.DB))
		b = binary.AppendUvarint(b, uint64(len(w.Key)))
		b = append(b, w.Key...)
		b = binary.AppendUvarint(b, w.Seq)
	}
	if ci < 0 {
		return b, nil
	}
	return head, b
}

// DecodeEntry parses an encoded entry. The arguments and keys of the result
// alias b: do not change b while the entry is in use. It never panics; any
// malformed input yields an error wrapping ErrBadEntry.
func DecodeEntry(b []byte) (*Entry, error) {
	d := decoder{b: b}
	if v := d.byte(); v != entryVersion {
		if d.err != nil {
			return nil, d.err
		}
		return nil, fmt.Errorf("%w: version %d", ErrBadEntry, v)
	}
	e := &Entry{}
	e.NowMs = d.varint()
	db := d.uvarint()
	if db > maxDB {
		d.fail("database %d", db)
	}
	e.DB = int(db)
	flags := d.byte()
	if flags&^(flagExec|flagUser) != 0 {
		d.fail("flags %#x", flags)
	}
	e.Exec = flags&flagExec != 0
	if flags&flagUser != 0 {
		e.User = string(d.bytes())
	}
	// Every command takes at least one byte (its argument count) and every
	// argument at least one (its length), so counts are bounded by what is
	// left of the input.
	ncmds := d.count()
	if d.err == nil && ncmds > 0 {
		e.Cmds = make([][][]byte, ncmds)
	}
	for i := 0; i < ncmds && d.err == nil; i++ {
		nargs := d.count()
		if d.err != nil {
			break
		}
		args := make([][]byte, nargs)
		for j := range args {
			args[j] = d.bytes()
		}
		e.Cmds[i] = args
	}
	nw := d.count()
	if d.err == nil && nw > 0 {
		e.Watches = make([]Watch, nw)
	}
	for i := 0; i < nw && d.err == nil; i++ {
		wdb := d.uvarint()
		if wdb > maxDB {
			d.fail("watch database %d", wdb)
		}
		e.Watches[i] = Watch{DB: int(wdb), Key: d.bytes(), Seq: d.uvarint()}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return e, nil
}

type decoder struct {
	b   []byte
	err error
	bad error // the sentinel errors wrap; nil: ErrBadEntry
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		bad := d.bad
		if bad == nil {
			bad = ErrBadEntry
		}
		d.err = fmt.Errorf("%w: "+format, append([]any{bad}, args...)...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items that take at least one byte each.
func (d *decoder) count() int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)) {
		d.fail("count %d beyond the %d bytes left", v, len(d.b))
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length %d beyond the %d bytes left", n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}
