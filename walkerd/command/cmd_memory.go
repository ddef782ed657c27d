package command

import (
	"math"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/keydir"
	"github.com/walkerdb/walkerdb/engine/record"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// MEMORY, DEBUG and ROLE. MEMORY USAGE reads data and runs here; the
// other MEMORY subcommands, DEBUG and ROLE are answered by the server
// (server/introspect.go), which reads what they report from the Go
// runtime, the engine and Raft.
func init() {
	mem := func(name string, arity int, flags Flags, tips ...string) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Group: "server", Since: "4.0.0", Tips: tips}
	}
	stats := []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"}
	usage := mem("usage", -3, FlagReadonly|FlagByPosition)
	usage.FirstKey, usage.LastKey, usage.Step = 2, 2, 1
	usage.KeySpecs = []KeySpec{{Flags: []string{"RO"}, Index: 2, LastKey: 0, KeyStep: 1}}
	usage.parse, usage.run = parseMemoryUsage, runMemoryUsage
	register(
		&Spec{Name: "memory", Arity: -2, Group: "server", Since: "4.0.0", Subs: []*Spec{
			// In the order Redis 7.0.15's COMMAND lists them.
			mem("help", 2, FlagLoading|FlagStale),
			usage,
			mem("purge", 2, 0, "request_policy:all_shards", "response_policy:all_succeeded"),
			mem("doctor", 2, 0, stats...),
			mem("malloc-stats", 2, 0, stats...),
			mem("stats", 2, 0, stats...),
		}},
		// DEBUG is one command whose first argument the server reads, as
		// Redis's debugCommand does (it has no subcommand table).
		&Spec{Name: "debug", Arity: -2, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale, Group: "server", Since: "1.0.0"},
		&Spec{Name: "role", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast, Cats: CatAdmin | CatDangerous,
			Group: "server", Since: "2.8.12"},
	)
}

// memoryUsageSamples is MEMORY USAGE's default SAMPLES
// (OBJ_COMPUTE_SIZE_DEF_SAMPLES).
const memoryUsageSamples = 5

// parseMemoryUsage reads MEMORY USAGE key [SAMPLES count] as object.c's
// memoryCommand does, before it looks the key up: SAMPLES takes an
// integer (else "ERR value is not an integer or out of range"), a
// negative one or any other word is a syntax error; SAMPLES 0 samples
// every element. It returns the sample count, math.MaxInt64 for all.
func parseMemoryUsage(args [][]byte, _ int64) (any, error) {
	samples := int64(memoryUsageSamples)
	for j := 3; j < len(args); j++ {
		if !isName(args[j], "samples") || j+1 >= len(args) {
			return nil, ErrSyntax
		}
		n, ok := ParseInt(args[j+1])
		switch {
		case !ok:
			return nil, ErrNotInteger
		case n < 0:
			return nil, ErrSyntax
		case n == 0:
			n = math.MaxInt64
		}
		samples = n
		j++
	}
	return samples, nil
}

// runMemoryUsage answers MEMORY USAGE: nil for a missing key, else the
// bytes the key costs this node (KeyUsage).
func runMemoryUsage(c *ctx, args [][]byte, p any) {
	samples, _ := p.(int64)
	if samples == 0 {
		samples = memoryUsageSamples
	}
	val, ok := c.lookup(args[2])
	if !ok {
		if c.fatal == nil {
			c.r.Null()
		}
		return
	}
	n := c.keyUsage(args[2], val, samples)
	if c.fatal != nil {
		return
	}
	c.r.Int(n)
}

// RecordCost is what one engine key costs: its record in a segment
// (record.HeaderSize, the key and the value) plus its keydir entry in
// memory (the key again and keydir.MemoryPerKey of index), in bytes.
func RecordCost(keyLen, valueLen int) int64 {
	return int64(record.HeaderSize+keyLen+valueLen) + int64(keyLen) + keydir.MemoryPerKey
}

// memFamilies are the element families of a type whose sizes MEMORY USAGE
// samples apart (internal/keyspace): nil is every element of the type.
var memFamilies = map[keyspace.Type][]byte{
	keyspace.ZSet: {zMember, zScore},
	keyspace.Stream: {keyspace.StreamConsumerFamily, keyspace.StreamEntryFamily, keyspace.StreamGroupFamily,
		keyspace.StreamNodeFamily, keyspace.StreamPendingFamily, keyspace.StreamConsumerPendFamily},
}

// keyUsage is MEMORY USAGE of key, whose metadata is val: the RecordCost
// of its metadata key, plus for a collection the RecordCost of its element
// sub-keys. As object.c's objectComputeSize samples a hash table, each
// family of elements (a sorted set's by-member and by-score keys, a
// stream's entries, nodes, groups, consumers and pending entries; one
// family for the other types) is measured on its first samples elements
// and the average is multiplied by the family's size: the collection's
// count, or for the stream families other than entries the number of keys
// the engine's ordered index counts. A family no bigger than samples is
// measured whole, exactly.
func (c *ctx) keyUsage(key []byte, val value, samples int64) int64 {
	total := RecordCost(len(c.metaKey(key)), len(val.raw))
	if val.Type == keyspace.String {
		return total
	}
	co, _ := c.openColl(key, val.Type)
	if co == nil || co.prefix == nil {
		return total
	}
	fams, ok := memFamilies[val.Type]
	if !ok {
		return total + c.familyUsage(co, nil, val.Count, samples)
	}
	for _, f := range fams {
		count := int64(-1)
		switch {
		case val.Type == keyspace.ZSet, f == keyspace.StreamEntryFamily:
			count = val.Count
		default:
			if n, ok := co.rank(c, []byte{f}, []byte{f + 1}); ok {
				count = int64(n)
			}
		}
		total += c.familyUsage(co, []byte{f}, count, samples)
		if c.fatal != nil {
			return 0
		}
	}
	return total
}

// familyUsage measures the elements of co that begin with fam (nil: all):
// the first samples of them, extrapolated to count (count < 0: unknown,
// every element is measured).
func (c *ctx) familyUsage(co *coll, fam []byte, count, samples int64) int64 {
	if count == 0 {
		return 0
	}
	limit := samples
	if count < 0 {
		limit = math.MaxInt64
	}
	it := co.elemsWithPrefix(c, fam, false)
	defer it.close()
	var sum, seen int64
	for ; it.Valid() && seen < limit; it.Next() {
		m, ok := c.metaRaw(it.Key())
		if !ok {
			continue
		}
		sum += RecordCost(len(it.Key()), m.ValueLen)
		seen++
	}
	if count < 0 || seen == 0 || seen >= count {
		return sum
	}
	return int64(float64(sum) / float64(seen) * float64(count))
}

// ObjectInfo is what DEBUG OBJECT reports of a key.
type ObjectInfo struct {
	// Encoding is OBJECT ENCODING's answer.
	Encoding string
	// SerializedLength is the length in bytes of the value's body in DUMP's
	// payload (dump.go): the payload without its 5-byte header and 8-byte
	// CRC, as Redis's serializedlength is the RDB body without its type
	// byte and footer.
	SerializedLength int64
	// Refcount is OBJECT REFCOUNT's answer.
	Refcount int64
	// ExpireAt is the key's expiry (Unix ms), 0 for none.
	ExpireAt int64
}

// KeyObjectInfo reads what DEBUG OBJECT reports of key in database dbi at
// time now (Unix ms); found is false for a missing key. The error is an
// engine failure.
func KeyObjectInfo(db *engine.DB, dbi int, now int64, key []byte) (info ObjectInfo, found bool, err error) {
	c := &ctx{db: db, now: now, dbi: dbi, r: &Recorder{}}
	err = db.View(now, func(v *engine.View) error {
		c.view = v
		defer func() { c.view = nil }()
		val, ok := c.lookup(key)
		if !ok {
			return nil
		}
		found = true
		info.ExpireAt, info.Refcount = val.exp, 1
		if val.Type == keyspace.String {
			info.Encoding, info.Refcount = stringEncoding(val.Value), stringRefcount(val.Value)
		} else {
			co, _ := c.openColl(key, val.Type)
			info.Encoding = c.collEncoding(co)
		}
		payload := encodeDump(c.readValue(key, val))
		info.SerializedLength = int64(len(payload) - len(dumpMagic) - 2 - 8)
		return nil
	})
	if err == nil {
		err = c.fatal
	}
	return info, found, err
}
