package command

import (
	"encoding/binary"
	"errors"
	"math"
)

// Writer receives a command's reply one value at a time, as Redis's
// addReply* functions build one. Commands write to it and never see the
// protocol: the server's Writer encodes RESP2 or RESP3 for its client, and a
// Recorder keeps the reply as a typed value for the state machine's Result.
// An aggregate (Array, Map, Set) is followed by its elements (a Map by n
// key-value pairs).
type Writer interface {
	Status(s string)
	Error(msg string) // the whole message, code included ("ERR syntax error")
	Int(n int64)
	Bulk(b []byte)
	BulkString(s string)
	Null()      // no value: RESP2's null bulk string
	NullArray() // no aggregate: RESP2's null array (an aborted EXEC, a BLPOP timeout)
	Array(n int)
	Map(n int) // n key-value pairs
	Set(n int)
	Double(f float64)
	Bool(b bool)
	// PairArray(n) begins an array of n pairs (HRANDFIELD WITHVALUES,
	// ZRANGE WITHSCORES), each begun by Pair: 2n flat values in RESP2, n
	// arrays of two in RESP3, as Redis 7 replies them.
	PairArray(n int)
	Pair()
}

// Kind is the type of one Token of a Reply.
type Kind uint8

// Kinds of reply tokens, one for each Writer method.
const (
	KindStatus Kind = iota + 1
	KindError
	KindInt
	KindBulk
	KindNull
	KindNullArray
	KindArray
	KindMap
	KindSet
	KindDouble
	KindBool
	KindPairArray
	KindPair
	// KindHumanDouble is a double already formatted (S) as Redis's
	// addReplyHumanLongDouble formats it: a bulk string in RESP2, a
	// double in RESP3 (HumanDoubler).
	KindHumanDouble
	// KindKeyedArray and KindKeyed are a map keyed by name as XREAD
	// replies it: n arrays of two in RESP2, a map in RESP3 (KeyedArrayer).
	KindKeyedArray
	KindKeyed
)

// HumanDoubler is a Writer that can answer a preformatted double as Redis's
// addReplyHumanLongDouble does (GEOPOS, WITHCOORD): the text as a bulk
// string in RESP2, as a RESP3 double (",text") in RESP3. Writers without it
// get the text as a bulk string.
type HumanDoubler interface {
	HumanDouble(text string)
}

// KeyedArrayer is a Writer that can answer a map as Redis's XREAD and
// XREADGROUP do (addReplyArrayLen of 2 per key in RESP2 only, a map in
// RESP3): KeyedArray(n) begins n pairs, each begun by Keyed. Writers
// without it get the RESP2 shape.
type KeyedArrayer interface {
	KeyedArray(n int)
	Keyed()
}

// keyedArray begins a KeyedArrayer map of n pairs in w.
func keyedArray(w Writer, n int) {
	if k, ok := w.(KeyedArrayer); ok {
		k.KeyedArray(n)
	} else {
		w.Array(n)
	}
}

// keyed begins one pair of a keyedArray.
func keyed(w Writer) {
	if k, ok := w.(KeyedArrayer); ok {
		k.Keyed()
	} else {
		w.Array(2)
	}
}

// humanDouble writes a preformatted double to w.
func humanDouble(w Writer, text string) {
	if h, ok := w.(HumanDoubler); ok {
		h.HumanDouble(text)
		return
	}
	w.BulkString(text)
}

// Token is one value of a Reply: an aggregate token (Array, Map, Set) is
// followed by the tokens of its elements.
type Token struct {
	Kind Kind
	N    int64   // Int's value; an aggregate's length (Map: pairs); Bool: 0 or 1
	F    float64 // Double's value
	S    []byte  // Status, Error and Bulk text
}

// Reply is one command's whole reply as typed tokens, in the order a
// Writer received them. It is what the replicated core returns; the server
// alone turns it into protocol bytes (WriteTo a Writer of its own).
type Reply []Token

// Recorder is a Writer that records a Reply.
type Recorder struct{ R Reply }

func (r *Recorder) add(t Token) { r.R = append(r.R, t) }
func (r *Recorder) Status(s string) {
	if s == "OK" && r.R == nil {
		r.R = okReply[:1:1] // read only: an append copies it
		return
	}
	r.add(Token{Kind: KindStatus, S: []byte(s)})
}
func (r *Recorder) Error(msg string)    { r.add(Token{Kind: KindError, S: []byte(msg)}) }
func (r *Recorder) Int(n int64)         { r.add(Token{Kind: KindInt, N: n}) }
func (r *Recorder) Bulk(b []byte)       { r.add(Token{Kind: KindBulk, S: b}) }
func (r *Recorder) BulkString(s string) { r.add(Token{Kind: KindBulk, S: []byte(s)}) }
func (r *Recorder) Null()               { r.add(Token{Kind: KindNull}) }
func (r *Recorder) NullArray()          { r.add(Token{Kind: KindNullArray}) }
func (r *Recorder) Array(n int)         { r.add(Token{Kind: KindArray, N: int64(n)}) }
func (r *Recorder) Map(n int)           { r.add(Token{Kind: KindMap, N: int64(n)}) }
func (r *Recorder) Set(n int)           { r.add(Token{Kind: KindSet, N: int64(n)}) }
func (r *Recorder) Double(f float64)    { r.add(Token{Kind: KindDouble, F: f}) }
func (r *Recorder) Bool(b bool)         { r.add(Token{Kind: KindBool, N: b2i(b)}) }
func (r *Recorder) PairArray(n int)     { r.add(Token{Kind: KindPairArray, N: int64(n)}) }
func (r *Recorder) Pair()               { r.add(Token{Kind: KindPair}) }
func (r *Recorder) KeyedArray(n int)    { r.add(Token{Kind: KindKeyedArray, N: int64(n)}) }
func (r *Recorder) Keyed()              { r.add(Token{Kind: KindKeyed}) }
func (r *Recorder) HumanDouble(text string) {
	r.add(Token{Kind: KindHumanDouble, S: []byte(text)})
}
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// okReply is the reply +OK, which most writes answer: Recorders share it
// (nothing writes into a Reply's tokens once recorded).
var okReply = Reply{{Kind: KindStatus, S: []byte("OK")}}

// ErrorReply returns a Reply of one error.
func ErrorReply(msg string) Reply { return Reply{{Kind: KindError, S: []byte(msg)}} }

// WriteTo replays the reply into w.
func (r Reply) WriteTo(w Writer) {
	for _, t := range r {
		switch t.Kind {
		case KindStatus:
			w.Status(string(t.S))
		case KindError:
			w.Error(string(t.S))
		case KindInt:
			w.Int(t.N)
		case KindBulk:
			w.Bulk(t.S)
		case KindNull:
			w.Null()
		case KindNullArray:
			w.NullArray()
		case KindArray:
			w.Array(int(t.N))
		case KindMap:
			w.Map(int(t.N))
		case KindSet:
			w.Set(int(t.N))
		case KindDouble:
			w.Double(t.F)
		case KindBool:
			w.Bool(t.N != 0)
		case KindPairArray:
			w.PairArray(int(t.N))
		case KindPair:
			w.Pair()
		case KindHumanDouble:
			humanDouble(w, string(t.S))
		case KindKeyedArray:
			keyedArray(w, int(t.N))
		case KindKeyed:
			keyed(w)
		}
	}
}

// Err returns the reply's error text when the reply is one error.
func (r Reply) Err() (string, bool) {
	if len(r) == 1 && r[0].Kind == KindError {
		return string(r[0].S), true
	}
	return "", false
}

// IsNull reports whether the reply is one null or null array: a blocking
// command's attempt that found nothing to pop.
func (r Reply) IsNull() bool {
	return len(r) == 1 && (r[0].Kind == KindNull || r[0].Kind == KindNullArray)
}

// Int returns the reply's value when the reply is one integer.
func (r Reply) Int() (int64, bool) {
	if len(r) == 1 && r[0].Kind == KindInt {
		return r[0].N, true
	}
	return 0, false
}

// Reply and Result wire form, for forwarding between nodes (never RESP):
// uvarint and varint are encoding/binary's.
//
//	reply   = ntokens uvarint, then per token: kind byte and
//	          Status/Error/Bulk/HumanDouble: len uvarint, bytes
//	          Int: varint   Array/Map/Set: n uvarint   Double: 8 bytes LE
//	          Bool: 1 byte  Null/NullArray: nothing
//	result  = version byte (1) | flags byte (bit 0 aborted, bit 1 log
//	          position) | [index uvarint, term uvarint: with bit 1] |
//	          error: len uvarint, bytes | nreplies uvarint | replies...
//
// Touched keys are not carried: every node's state machine reports its own.

const resultVersion = 1

// ErrBadReply wraps every reason DecodeResult refuses its input.
var ErrBadReply = errors.New("command: malformed encoded result")

func appendReply(b []byte, r Reply) []byte {
	b = binary.AppendUvarint(b, uint64(len(r)))
	for _, t := range r {
		b = append(b, byte(t.Kind))
		switch t.Kind {
		case KindStatus, KindError, KindBulk, KindHumanDouble:
			b = binary.AppendUvarint(b, uint64(len(t.S)))
			b = append(b, t.S...)
		case KindInt:
			b = binary.AppendVarint(b, t.N)
		case KindArray, KindMap, KindSet, KindPairArray, KindKeyedArray:
			b = binary.AppendUvarint(b, uint64(t.N))
		case KindDouble:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(t.F))
		case KindBool:
			b = append(b, byte(t.N))
		}
	}
	return b
}

// EncodeReply returns a reply's wire form.
func EncodeReply(r Reply) []byte { return appendReply(nil, r) }

// DecodeReply parses EncodeReply's output. The result aliases b.
func DecodeReply(b []byte) (Reply, error) {
	d := decoder{b: b, bad: ErrBadReply}
	r := d.reply()
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

func (d *decoder) reply() Reply {
	n := d.count()
	if d.err != nil {
		return nil
	}
	r := make(Reply, n)
	for i := range r {
		t := Token{Kind: Kind(d.byte())}
		switch t.Kind {
		case KindStatus, KindError, KindBulk, KindHumanDouble:
			t.S = d.bytes()
		case KindInt:
			t.N = d.varint()
		case KindArray, KindMap, KindSet, KindPairArray, KindKeyedArray:
			v := d.uvarint()
			if v > math.MaxInt32 {
				d.fail("aggregate of %d", v)
			}
			t.N = int64(v)
		case KindDouble:
			if len(d.b) < 8 {
				d.fail("truncated double")
				break
			}
			t.F = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
			d.b = d.b[8:]
		case KindBool:
			t.N = int64(d.byte() & 1)
		case KindNull, KindNullArray, KindPair, KindKeyed:
		default:
			d.fail("token kind %d", t.Kind)
		}
		if d.err != nil {
			return nil
		}
		r[i] = t
	}
	return r
}

// EncodeResult returns the wire form of a result's replies (not its
// touched keys).
func EncodeResult(res *Result) []byte {
	b := []byte{resultVersion, 0}
	if res.Aborted {
		b[1] = 1
	}
	if res.Index != 0 || res.Term != 0 {
		b[1] |= 2
		b = binary.AppendUvarint(b, res.Index)
		b = binary.AppendUvarint(b, res.Term)
	}
	b = binary.AppendUvarint(b, uint64(len(res.Error)))
	b = append(b, res.Error...)
	b = binary.AppendUvarint(b, uint64(len(res.Replies)))
	for _, r := range res.Replies {
		b = appendReply(b, r)
	}
	return b
}

// DecodeResult parses EncodeResult's output. It never panics; malformed
// input yields an error wrapping ErrBadReply. The result aliases b.
func DecodeResult(b []byte) (*Result, error) {
	d := decoder{b: b, bad: ErrBadReply}
	if v := d.byte(); v != resultVersion && d.err == nil {
		d.fail("version %d", v)
	}
	flags := d.byte()
	res := &Result{Aborted: flags&1 != 0}
	if flags&2 != 0 {
		res.Index, res.Term = d.uvarint(), d.uvarint()
	}
	res.Error = string(d.bytes())
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		res.Replies = append(res.Replies, d.reply())
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return res, nil
}
