package command

import (
	"encoding/binary"
	"hash/crc64"
	"math"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// DUMP and RESTORE carry a value in WalkerDB's own payload format, not
// Redis's RDB encoding:
//
//	+-------+---------+------+----------------------+-----------+
//	| "WDB" | version | type | body                 | CRC-64    |
//	| 3 B   | 1 B     | 1 B  |                      | 8 B BE    |
//	+-------+---------+------+----------------------+-----------+
//
// type is keyspace.Type (0 string, 1 list, 2 set, 3 zset, 4 hash, 6
// stream); the
// CRC is CRC-64/ECMA-182 (hash/crc64's ECMA table) of every byte before
// it. A blob is uvarint length then bytes. The body, for each type:
//
//	string  blob
//	list    uvarint n, then n blobs, head to tail
//	set     uvarint n, then n blobs (members)
//	hash    uvarint n, then n pairs of blobs (field, value)
//	zset    uvarint n, then n of (blob member, 8 B BE float64 bits score)
//	stream  blob metadata extra (keyspace.StreamMeta), uvarint entries,
//	        uvarint n, then n pairs of blobs (element, value): every
//	        sub-key of the stream as internal/keyspace lays it out
//	        (entries, nodes, groups, consumers, both PELs), in byte order
//
// n is at least 1 (Redis has no empty collections), but for a stream,
// which may be empty. DUMP writes set
// members, hash fields and zset members in byte order, so a value's
// payload is the same wherever it is dumped; RESTORE takes them in any
// order.
//
// RESTORE refuses a payload whose magic, version or CRC is wrong with
// Redis's "ERR DUMP payload version or checksum are wrong", so a payload
// DUMPed by Redis (RDB-encoded, Redis's own footer) is refused with that
// error; one whose CRC holds but whose body does not decode (truncated,
// trailing bytes, a duplicate member, a NaN score, an unknown type) gets
// Redis's "ERR Bad data format".
const (
	dumpMagic   = "WDB"
	dumpVersion = 1
)

var crcTable = crc64.MakeTable(crc64.ECMA)

func init() {
	register(
		&Spec{Name: "dump", Arity: 2, Flags: FlagReadonly, Cats: CatKeyspace, FirstKey: 1, LastKey: 1, Step: 1,
			Group: "generic", Since: "2.6.0", run: runDump},
		&Spec{Name: "restore", Arity: -4, Flags: FlagWrite | FlagDenyOOM, Cats: CatKeyspace | CatDangerous,
			FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "2.6.0", parse: parseRestore, run: runRestore},
	)
}

// dumpValue is a decoded payload: a type and its elements.
type dumpValue struct {
	typ    keyspace.Type
	str    []byte    // string
	els    [][]byte  // list elements, set members, hash fields, zset members
	vals   [][]byte  // hash values
	scores []float64 // zset scores
	extra  []byte    // stream metadata extra
	count  int64     // stream entries
}

func appendBlob(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// encodeDump builds the payload of v.
func encodeDump(v *dumpValue) []byte {
	b := append([]byte(dumpMagic), dumpVersion, byte(v.typ))
	switch v.typ {
	case keyspace.String:
		b = appendBlob(b, v.str)
	case keyspace.Stream:
		b = appendBlob(b, v.extra)
		b = binary.AppendUvarint(b, uint64(v.count))
		b = binary.AppendUvarint(b, uint64(len(v.els)))
		for i, e := range v.els {
			b = appendBlob(appendBlob(b, e), v.vals[i])
		}
	default:
		b = binary.AppendUvarint(b, uint64(len(v.els)))
		for i, e := range v.els {
			b = appendBlob(b, e)
			switch v.typ {
			case keyspace.Hash:
				b = appendBlob(b, v.vals[i])
			case keyspace.ZSet:
				b = binary.BigEndian.AppendUint64(b, math.Float64bits(v.scores[i]))
			}
		}
	}
	return binary.BigEndian.AppendUint64(b, crc64.Checksum(b, crcTable))
}

// verifyDump checks a payload's header and CRC (Redis's verifyDumpPayload).
func verifyDump(p []byte) bool {
	if len(p) < len(dumpMagic)+2+8 || string(p[:len(dumpMagic)]) != dumpMagic || p[len(dumpMagic)] != dumpVersion {
		return false
	}
	body := p[:len(p)-8]
	return binary.BigEndian.Uint64(p[len(p)-8:]) == crc64.Checksum(body, crcTable)
}

// dumpReader reads a verified payload's body.
type dumpReader struct {
	b  []byte
	ok bool
}

func (r *dumpReader) uvarint() uint64 {
	n, w := binary.Uvarint(r.b)
	if w <= 0 {
		r.ok = false
		return 0
	}
	r.b = r.b[w:]
	return n
}

func (r *dumpReader) blob() []byte {
	n := r.uvarint()
	if !r.ok || n > uint64(len(r.b)) {
		r.ok = false
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// decodeDump decodes a verified payload; ok false: bad data format.
func decodeDump(p []byte) (*dumpValue, bool) {
	r := &dumpReader{b: p[len(dumpMagic)+2 : len(p)-8], ok: true}
	v := &dumpValue{typ: keyspace.Type(p[len(dumpMagic)+1])}
	switch v.typ {
	case keyspace.String:
		v.str = r.blob()
	case keyspace.Stream:
		if !decodeDumpStream(r, v) {
			return nil, false
		}
	case keyspace.List, keyspace.Set, keyspace.Hash, keyspace.ZSet:
		n := r.uvarint()
		if !r.ok || n == 0 || n > uint64(len(r.b)) { // every element takes a byte at least
			return nil, false
		}
		seen := map[string]bool{}
		for range n {
			e := r.blob()
			if !r.ok {
				return nil, false
			}
			if v.typ != keyspace.List {
				if seen[string(e)] {
					return nil, false
				}
				seen[string(e)] = true
			}
			v.els = append(v.els, e)
			switch v.typ {
			case keyspace.Hash:
				v.vals = append(v.vals, r.blob())
			case keyspace.ZSet:
				if len(r.b) < 8 {
					return nil, false
				}
				f := math.Float64frombits(binary.BigEndian.Uint64(r.b))
				r.b = r.b[8:]
				if math.IsNaN(f) {
					return nil, false
				}
				v.scores = append(v.scores, f)
			}
		}
	default:
		return nil, false
	}
	if !r.ok || len(r.b) != 0 {
		return nil, false
	}
	return v, true
}

// readValue reads the whole value of key (found as val) for DUMP.
func (c *ctx) readValue(key []byte, val value) *dumpValue {
	v := &dumpValue{typ: val.Type}
	if val.Type == keyspace.String {
		v.str = val.Value
		return v
	}
	co, _ := c.openColl(key, val.Type)
	if val.Type == keyspace.Stream {
		v.extra, v.count = val.Extra, val.Count
	}
	var it *iter
	if val.Type == keyspace.ZSet {
		it = co.elemsWithPrefix(c, []byte{zMember}, false)
	} else {
		it = co.elems(c, nil, nil, false)
	}
	defer it.close()
	for ; it.Valid(); it.Next() {
		e := co.elemOf(it)
		switch val.Type {
		case keyspace.List:
			v.els = append(v.els, it.Value())
		case keyspace.Set:
			v.els = append(v.els, e)
		case keyspace.Hash, keyspace.Stream:
			v.els = append(v.els, e)
			v.vals = append(v.vals, it.Value())
		case keyspace.ZSet:
			v.els = append(v.els, e[1:])
			v.scores = append(v.scores, zScoreOf(it.Value()))
		}
	}
	return v
}

// writeValue creates key in the current database holding v, with expiry
// exp, replacing whatever the key held: a collection gets a new version.
func (c *ctx) writeValue(key []byte, v *dumpValue, exp int64) {
	if v.typ == keyspace.String {
		c.putString(key, v.str, exp)
		return
	}
	co := &coll{key: key, typ: v.typ, exp: exp}
	co.ensure(c)
	if v.typ == keyspace.Stream {
		co.keep = true
		for i, e := range v.els {
			co.put(c, v.vals[i], e)
		}
		co.add(v.count)
		co.setExtra(v.extra)
		co.save(c)
		return
	}
	empty := []byte{}
	for i, e := range v.els {
		switch v.typ {
		case keyspace.List:
			co.put(c, e, listPos(listStart+uint64(i)))
		case keyspace.Set:
			co.put(c, empty, e)
		case keyspace.Hash:
			co.put(c, v.vals[i], e)
		case keyspace.ZSet:
			co.put(c, zScoreBytes(v.scores[i]), []byte{zMember}, e)
			co.put(c, empty, []byte{zScore}, zSortable(v.scores[i]), e)
		}
	}
	if v.typ == keyspace.List {
		co.setListHead(listStart)
	}
	co.add(int64(len(v.els)))
	co.save(c)
}

// runDump answers the payload of the key's value, or nil for a missing key.
func runDump(c *ctx, args [][]byte, _ any) {
	val, ok := c.lookup(args[1])
	if !ok {
		c.r.Null()
		return
	}
	v := c.readValue(args[1], val)
	if c.fatal != nil {
		return
	}
	c.r.Bulk(encodeDump(v))
}

type restoreArgs struct {
	replace, absttl bool
}

// parseRestore parses RESTORE's options as cluster.c's restoreCommand
// does, before it looks at the key: REPLACE, ABSTTL, IDLETIME seconds
// (>= 0; not after FREQ), FREQ frequency (0..255; not after IDLETIME).
// IDLETIME and FREQ are checked and then ignored: WalkerDB keeps no LRU
// or LFU data (see OBJECT IDLETIME).
func parseRestore(args [][]byte, now int64) (any, error) {
	a := &restoreArgs{}
	idle, freq := false, false
	for j := 4; j < len(args); j++ {
		additional := len(args) - j - 1
		switch {
		case equalFold(args[j], "replace"):
			a.replace = true
		case equalFold(args[j], "absttl"):
			a.absttl = true
		case equalFold(args[j], "idletime") && additional >= 1 && !freq:
			n, ok := ParseInt(args[j+1])
			if !ok {
				return nil, ErrNotInteger
			}
			if n < 0 {
				return nil, Error("ERR Invalid IDLETIME value, must be >= 0")
			}
			idle = true
			j++
		case equalFold(args[j], "freq") && additional >= 1 && !idle:
			n, ok := ParseInt(args[j+1])
			if !ok {
				return nil, ErrNotInteger
			}
			if n < 0 || n > 255 {
				return nil, Error("ERR Invalid FREQ value, must be >= 0 and <= 255")
			}
			freq = true
			j++
		default:
			return nil, ErrSyntax
		}
	}
	return a, nil
}

// runRestore creates key from a DUMP payload, in restoreCommand's order:
// BUSYKEY when the key exists (without REPLACE), then the TTL (an integer
// >= 0, ms; relative unless ABSTTL; 0 none), then the payload's version
// and checksum, then its body. A TTL already past deletes the key (when
// REPLACE found one) and creates nothing, answering OK, as Redis does.
func runRestore(c *ctx, args [][]byte, p any) {
	a := p.(*restoreArgs)
	key := args[1]
	exists := c.exists(key)
	if !a.replace && exists {
		c.r.Error("BUSYKEY Target key name already exists.")
		return
	}
	ttl, ok := ParseInt(args[2])
	if !ok {
		c.r.Error(string(ErrNotInteger))
		return
	}
	if ttl < 0 {
		c.r.Error("ERR Invalid TTL value, must be >= 0")
		return
	}
	if !verifyDump(args[3]) {
		c.r.Error("ERR DUMP payload version or checksum are wrong")
		return
	}
	v, ok := decodeDump(args[3])
	if !ok {
		c.r.Error("ERR Bad data format")
		return
	}
	if ttl != 0 && !a.absttl {
		ttl += c.now // wraps as C's does on absurd TTLs
	}
	if ttl != 0 && ttl <= c.now {
		if exists {
			c.del(key)
			c.touch(key, "del")
		}
		c.r.Status("OK")
		return
	}
	c.writeValue(key, v, ttl)
	c.touch(key, "restore")
	c.r.Status("OK")
}

// decodeDumpStream reads a stream's body: its metadata, entry count and
// sub-keys, each of which must decode as its family's value, the entries
// numbering the count.
func decodeDumpStream(r *dumpReader, v *dumpValue) bool {
	v.extra = r.blob()
	if _, err := keyspace.DecodeStreamMeta(v.extra); !r.ok || err != nil {
		return false
	}
	count := r.uvarint()
	n := r.uvarint()
	if !r.ok || n > uint64(len(r.b)) || count > n {
		return false
	}
	seen := map[string]bool{}
	entries := uint64(0)
	for range n {
		e, val := r.blob(), r.blob()
		if !r.ok || len(e) == 0 || seen[string(e)] {
			return false
		}
		seen[string(e)] = true
		var err error
		switch e[0] {
		case keyspace.StreamEntryFamily:
			entries++
			_, err = keyspace.DecodeStreamFields(val)
		case keyspace.StreamNodeFamily:
			_, err = keyspace.DecodeStreamNode(val)
		case keyspace.StreamGroupFamily:
			_, err = keyspace.DecodeStreamGroup(val)
		case keyspace.StreamConsumerFamily:
			_, err = keyspace.DecodeStreamConsumer(val)
		case keyspace.StreamPendingFamily:
			_, err = keyspace.DecodeStreamPending(val)
		case keyspace.StreamConsumerPendFamily:
			if len(val) != 0 {
				return false
			}
		default:
			return false
		}
		if err != nil {
			return false
		}
		v.els, v.vals = append(v.els, e), append(v.vals, val)
	}
	v.count = int64(count)
	return entries == count
}
