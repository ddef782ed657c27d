package command

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Redis's encoding settings: the thresholds under which Redis 7.0 keeps a
// small hash, set, sorted set or list in a compact encoding (listpack,
// intset) rather than a hash table or skiplist.
//
// WalkerDB stores every collection the same way whatever they are (one
// sub-key per element, internal/keyspace): these settings are accepted by
// CONFIG SET and answered by CONFIG GET for compatibility with clients and
// tools that set them, and they change only what OBJECT ENCODING reports,
// which names the encoding Redis 7.0.15 would use for the value as it is
// now under the current settings. They are this node's own (CONFIG SET is
// not replicated), as in Redis; the defaults are Redis 7.0.15's.
//
// The older "ziplist" names are aliases of the "listpack" ones, as Redis
// 7.0 treats them (config.c's alias field): setting one sets both.
var (
	hashMaxListpackEntries atomic.Int64 // hash-max-listpack-entries (alias hash-max-ziplist-entries)
	hashMaxListpackValue   atomic.Int64 // hash-max-listpack-value (alias hash-max-ziplist-value)
	zsetMaxListpackEntries atomic.Int64 // zset-max-listpack-entries (alias zset-max-ziplist-entries)
	zsetMaxListpackValue   atomic.Int64 // zset-max-listpack-value (alias zset-max-ziplist-value)
	setMaxIntsetEntries    atomic.Int64 // set-max-intset-entries
	listMaxListpackSize    atomic.Int64 // list-max-listpack-size (alias list-max-ziplist-size)
	listCompressDepth      atomic.Int64 // list-compress-depth
	// hllSparseMaxBytes (hll-sparse-max-bytes) is the one setting here
	// that changes data: the size past which a sparse HyperLogLog is made
	// dense (hll.go). Like the others it is this node's own: nodes set
	// differently may store the same HLL in different encodings (and so
	// answer GET differently), though they count the same.
	hllSparseMaxBytes atomic.Int64
)

func init() {
	hashMaxListpackEntries.Store(512)
	hashMaxListpackValue.Store(64)
	zsetMaxListpackEntries.Store(128)
	zsetMaxListpackValue.Store(64)
	setMaxIntsetEntries.Store(512)
	listMaxListpackSize.Store(-2)
	listCompressDepth.Store(0)
	hllSparseMaxBytes.Store(3000)
}

// encodingKind is how Redis's config.c parses a setting.
type encodingKind int

const (
	kindSize   encodingKind = iota // size_t INTEGER_CONFIG: 0..LONG_MAX, string2ll
	kindMemory                     // size_t MEMORY_CONFIG: 0..LONG_MAX, memtoull (units)
	kindInt                        // int INTEGER_CONFIG: INT_MIN..INT_MAX
	kindDepth                      // int INTEGER_CONFIG: 0..INT_MAX
)

type encodingSetting struct {
	v    *atomic.Int64
	kind encodingKind
}

var encodingSettings = map[string]encodingSetting{
	"hash-max-listpack-entries": {&hashMaxListpackEntries, kindSize},
	"hash-max-ziplist-entries":  {&hashMaxListpackEntries, kindSize},
	"hash-max-listpack-value":   {&hashMaxListpackValue, kindMemory},
	"hash-max-ziplist-value":    {&hashMaxListpackValue, kindMemory},
	"zset-max-listpack-entries": {&zsetMaxListpackEntries, kindSize},
	"zset-max-ziplist-entries":  {&zsetMaxListpackEntries, kindSize},
	"zset-max-listpack-value":   {&zsetMaxListpackValue, kindMemory},
	"zset-max-ziplist-value":    {&zsetMaxListpackValue, kindMemory},
	"set-max-intset-entries":    {&setMaxIntsetEntries, kindSize},
	"list-max-listpack-size":    {&listMaxListpackSize, kindInt},
	"list-max-ziplist-size":     {&listMaxListpackSize, kindInt},
	"list-compress-depth":       {&listCompressDepth, kindDepth},
	"hll-sparse-max-bytes":      {&hllSparseMaxBytes, kindMemory},
}

// EncodingSettings lists the names of the encoding settings (aliases
// included), sorted, for the server's CONFIG table.
func EncodingSettings() []string {
	names := make([]string, 0, len(encodingSettings))
	for n := range encodingSettings {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// GetEncodingSetting returns a setting's value as CONFIG GET prints it.
func GetEncodingSetting(name string) (string, bool) {
	s, ok := encodingSettings[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	return strconv.FormatInt(s.v.Load(), 10), true
}

// CheckEncodingSetting validates a value for a setting as Redis 7.0.15's
// config.c does (numericParseString, then the bounds check), returning the
// reason CONFIG SET words after "failed (possibly related to argument
// '...') - ".
func CheckEncodingSetting(name string, v []byte) error {
	_, err := parseEncodingSetting(name, v)
	return err
}

// SetEncodingSetting sets a setting (and its alias) after checking it.
func SetEncodingSetting(name string, v []byte) error {
	n, err := parseEncodingSetting(name, v)
	if err != nil {
		return err
	}
	encodingSettings[strings.ToLower(name)].v.Store(n)
	return nil
}

func parseEncodingSetting(name string, v []byte) (int64, error) {
	s, ok := encodingSettings[strings.ToLower(name)]
	if !ok {
		return 0, fmt.Errorf("unknown setting")
	}
	lo, hi := int64(0), int64(math.MaxInt64)
	switch s.kind {
	case kindInt:
		lo, hi = math.MinInt32, math.MaxInt32
	case kindDepth:
		hi = math.MaxInt32
	}
	var n int64
	if s.kind == kindMemory {
		u, ok := ParseMemory(v)
		if !ok {
			return 0, fmt.Errorf("argument must be a memory value")
		}
		if u > math.MaxInt64 {
			return 0, fmt.Errorf("argument must be between %d and %d inclusive", lo, hi)
		}
		n = int64(u)
	} else {
		var ok bool
		if n, ok = ParseInt(v); !ok {
			return 0, fmt.Errorf("argument couldn't be parsed into an integer")
		}
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("argument must be between %d and %d inclusive", lo, hi)
	}
	return n, nil
}

// ParseMemory parses a memory value (maxmemory, merge-min-bytes, the
// encoding limits) as Redis 7.0's util.c memtoull does:
// digits (none reads 0) then an optional unit b, k, kb, m, mb, g or gb in
// any case (k = 1000, kb = 1024); strtoull saturates at 2^64-1 and the
// unit's multiplication wraps, as in C.
func ParseMemory(v []byte) (uint64, bool) {
	if len(v) > 0 && v[0] == '-' {
		return 0, false
	}
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	var mul uint64
	switch strings.ToLower(string(v[i:])) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	if i >= 128 {
		return 0, false
	}
	var n uint64
	for _, c := range v[:i] {
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			n = math.MaxUint64
			break
		}
		n = n*10 + d
	}
	return n * mul, true
}

// Redis's OBJ_SHARED_INTEGERS and OBJ_SHARED_REFCOUNT: SET of an integer
// in [0, 10000) shares one object whose refcount reads INT_MAX.
const (
	sharedIntegers = 10000
	sharedRefcount = math.MaxInt32
)

// stringEncoding names the encoding Redis gives a string value as SET
// stores it (object.c's tryObjectEncoding): "int" for a value string2l
// reads (at most 20 bytes, no spaces, '+' or leading zeros), "embstr" up
// to 44 bytes (OBJ_ENCODING_EMBSTR_SIZE_LIMIT), "raw" beyond.
func stringEncoding(v []byte) string {
	if _, ok := ParseInt(v); ok {
		return "int"
	}
	if len(v) <= 44 {
		return "embstr"
	}
	return "raw"
}

// stringRefcount is OBJECT REFCOUNT of a string value: Redis's shared
// integers report OBJ_SHARED_REFCOUNT, every other value 1.
func stringRefcount(v []byte) int64 {
	if n, ok := ParseInt(v); ok && n >= 0 && n < sharedIntegers {
		return sharedRefcount
	}
	return 1
}

// collEncoding names the encoding Redis 7.0.15 would give a collection
// with these elements under the current settings:
//
//	hash  listpack when count <= hash-max-listpack-entries and every field
//	      and value is at most hash-max-listpack-value bytes (t_hash.c's
//	      hashTypeTryConversion), else hashtable
//	set   intset when every member is an integer (string2ll) and count <=
//	      set-max-intset-entries (t_set.c's setTypeAdd), else hashtable
//	      (7.0 has no set listpack; 7.2 added it)
//	zset  listpack when count <= zset-max-listpack-entries and every member
//	      is at most zset-max-listpack-value bytes, else skiplist
//	list  quicklist (7.0 reports it for every list; 7.2 added listpack)
//
// Redis converts one way only (a hash that grew past the limit stays a
// hashtable after HDEL, and CONFIG SET does not convert existing values):
// this reports what the value would get were it written now.
func (c *ctx) collEncoding(co *coll) string {
	switch co.typ {
	case keyspace.List:
		return "quicklist"
	case keyspace.Stream:
		return "stream"
	case keyspace.Hash:
		if co.count > hashMaxListpackEntries.Load() {
			return "hashtable"
		}
		limit := hashMaxListpackValue.Load()
		if !c.allElems(co, nil, func(elem, val []byte) bool {
			return int64(len(elem)) <= limit && int64(len(val)) <= limit
		}) {
			return "hashtable"
		}
		return "listpack"
	case keyspace.Set:
		if co.count > setMaxIntsetEntries.Load() {
			return "hashtable"
		}
		if !c.allElems(co, nil, func(elem, _ []byte) bool { _, ok := ParseInt(elem); return ok }) {
			return "hashtable"
		}
		return "intset"
	case keyspace.ZSet:
		if co.count > zsetMaxListpackEntries.Load() {
			return "skiplist"
		}
		limit := zsetMaxListpackValue.Load()
		if !c.allElems(co, []byte{zMember}, func(elem, _ []byte) bool { return int64(len(elem)-1) <= limit }) {
			return "skiplist"
		}
		return "listpack"
	}
	return "unknown"
}

// allElems reports whether ok holds for every element (under prefix p) of
// a collection.
func (c *ctx) allElems(co *coll, p []byte, ok func(elem, val []byte) bool) bool {
	var it *iter
	if p == nil {
		it = co.elems(c, nil, nil, false)
	} else {
		it = co.elemsWithPrefix(c, p, false)
	}
	defer it.close()
	for ; it.Valid(); it.Next() {
		if !ok(it.Key()[len(co.prefix):], it.Value()) {
			return false
		}
	}
	return true
}

// maxmemoryPolicies are the values maxmemory-policy takes, in the order
// Redis's CONFIG SET error lists them (config.c maxmemory_policy_enum).
var maxmemoryPolicies = []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
	"allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}

// maxmemoryPolicy is this node's maxmemory-policy. WalkerDB has no
// maxmemory (it is 0, Redis's default, under which no policy evicts
// anything), so the policy changes one thing only, as it does in Redis at
// maxmemory 0: OBJECT FREQ answers under an LFU policy and refuses
// otherwise.
var maxmemoryPolicy atomic.Pointer[string]

func init() {
	p := "noeviction"
	maxmemoryPolicy.Store(&p)
}

// MaxmemoryPolicy is the maxmemory-policy setting (CONFIG GET, INFO).
func MaxmemoryPolicy() string { return *maxmemoryPolicy.Load() }

// CheckMaxmemoryPolicy refuses a maxmemory-policy value that is not one
// of Redis's, with Redis's wording (the server puts CONFIG SET's prefix
// before it). Any case is accepted.
func CheckMaxmemoryPolicy(v []byte) error {
	if !slices.Contains(maxmemoryPolicies, strings.ToLower(string(v))) {
		return fmt.Errorf("argument(s) must be one of the following: %s", strings.Join(maxmemoryPolicies, ", "))
	}
	return nil
}

// SetMaxmemoryPolicy sets maxmemory-policy to a value
// CheckMaxmemoryPolicy accepts.
func SetMaxmemoryPolicy(v []byte) error {
	if err := CheckMaxmemoryPolicy(v); err != nil {
		return err
	}
	p := strings.ToLower(string(v))
	maxmemoryPolicy.Store(&p)
	return nil
}

// lfuPolicy reports whether maxmemory-policy is an LFU one.
func lfuPolicy() bool { return strings.HasSuffix(MaxmemoryPolicy(), "-lfu") }
