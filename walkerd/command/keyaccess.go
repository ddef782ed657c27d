package command

import "strings"

//go:generate go run ./internal/gen-keyspecs -o keyaccess_table.go

// KeyRef is one key argument of a command and the access it needs (ACL %R~/%W~).
//
// Read is set for a key spec flagged "access" (the command reads the value);
// Write for one flagged "insert", "delete" or "update". A key with neither
// (a spec with only "RW"/"OW"/"RM"/"RO", such as MEMORY USAGE's, or a key
// Redis's getkeys procedure reports without flags) needs no particular
// permission: any key pattern that matches it allows it, as acl.c's
// ACLSelectorCheckKey does.
type KeyRef struct {
	Key         []byte
	Read, Write bool
}

// KeyAccess lists args' keys with their access, by the command's Redis 7 key specs.
//
// args is the whole command line, name first (args[0]); spec is its
// command, or its subcommand (a container's subcommand is looked up from
// args[1] when spec is the container). The keys come in the order Redis
// finds them, a key once per time it appears, each Key the argument itself
// (not a copy); nil for a command without keys.
//
// For a command Redis 7.0.15 has, the keys and their flags are those of
// db.c's getKeysFromCommandWithSpecs, which ACL checks and COMMAND
// GETKEYSANDFLAGS use: the key specs of redis-server 7.0.15
// (keyaccess_table.go) evaluated as getKeysUsingKeySpecs does, or, when a
// spec is "variable_flags" (SET, BITFIELD) or the specs cannot locate the
// keys ("incomplete" or "unknown" specs, a bad numkeys), the command's
// getkeys procedure (setGetKeys, sortGetKeys, evalGetKeys, ...).
//
// For WalkerDB's own commands (WALKER.*, LEVELGET, JOIN, RAFT.*, ...) the
// keys are spec.Keys(args); a readonly command reads them, a write command
// reads and writes them.
func KeyAccess(spec *Spec, args [][]byte) []KeyRef {
	if spec == nil || len(args) == 0 {
		return nil
	}
	if len(spec.Subs) > 0 && len(args) > 1 {
		if sub := spec.Sub(args[1]); sub != nil {
			spec = sub
		}
	}
	specs, ok := keySpecsByName[spec.Name]
	if !ok {
		return ownKeyAccess(spec, args)
	}
	var varFlags, someKey bool
	for _, ks := range specs {
		varFlags = varFlags || ks.flags&ksVariableFlags != 0
		someKey = someKey || ks.flags&ksNotKey == 0
	}
	if someKey && !varFlags {
		if refs, ok := keysBySpecs(specs, args); ok {
			return refs
		}
	}
	if proc := getKeysProcs[spec.Name]; proc != nil {
		return proc(args)
	}
	return nil
}

// ownKeyAccess is KeyAccess for a command Redis does not have: its keys by
// spec.Keys, read by a readonly command, read and written by a write one.
func ownKeyAccess(spec *Spec, args [][]byte) []KeyRef {
	keys := spec.Keys(args)
	if len(keys) == 0 {
		return nil
	}
	write := spec.Flags&FlagWrite != 0
	read := write || spec.Flags&FlagReadonly != 0
	refs := make([]KeyRef, len(keys))
	for i, k := range keys {
		refs[i] = KeyRef{Key: k, Read: read, Write: write}
	}
	return refs
}

// Key spec flags (server.h CMD_KEY_*) that KeyAccess reads.
const (
	ksAccess = 1 << iota
	ksWrite  // insert, delete or update
	ksNotKey
	ksIncomplete
	ksVariableFlags
)

// keySpec is a KeySpec compiled for KeyAccess.
type keySpec struct {
	KeySpec
	flags int
}

// keySpecsByName holds redisKeySpecs compiled, by command name.
var keySpecsByName = compileKeySpecs(redisKeySpecs)

func compileKeySpecs(table map[string][]KeySpec) map[string][]keySpec {
	out := make(map[string][]keySpec, len(table))
	for name, specs := range table {
		c := make([]keySpec, len(specs))
		for i, ks := range specs {
			c[i].KeySpec = ks
			c[i].Keyword = strings.ToLower(ks.Keyword) // equalFold compares to lower case
			for _, f := range ks.Flags {
				switch f {
				case "access":
					c[i].flags |= ksAccess
				case "insert", "delete", "update":
					c[i].flags |= ksWrite
				case "not_key":
					c[i].flags |= ksNotKey
				case "incomplete":
					c[i].flags |= ksIncomplete
				case "variable_flags":
					c[i].flags |= ksVariableFlags
				}
			}
		}
		out[name] = c
	}
	return out
}

// keysBySpecs finds the keys of args by their key specs as db.c's
// getKeysUsingKeySpecs does (without GET_KEYSPEC_INCLUDE_NOT_KEYS or
// GET_KEYSPEC_RETURN_PARTIAL); ok is false where it fails: a spec whose
// begin_search or find_keys is "unknown", an "incomplete" spec, a numkeys
// that is not a count, or a range outside args.
func keysBySpecs(specs []keySpec, args [][]byte) (refs []KeyRef, ok bool) {
	argc := len(args)
	for _, ks := range specs {
		if ks.flags&ksNotKey != 0 {
			continue
		}
		first := 0
		switch {
		case ks.Keyword != "":
			start, end := ks.StartFrom, argc-1
			if ks.StartFrom <= 0 {
				start, end = argc+ks.StartFrom, 1
			}
			for i := start; i != end; {
				if i >= argc || i < 1 {
					break
				}
				if equalFold(args[i], ks.Keyword) {
					first = i + 1
					break
				}
				if start <= end {
					i++
				} else {
					i--
				}
			}
			if first == 0 {
				continue // keyword not found: no keys from this spec
			}
		case ks.Index > 0:
			first = ks.Index
		default:
			return nil, false // unknown begin_search
		}

		var last, step int
		switch {
		case ks.KeyNum:
			step = ks.KeyStep
			if first+ks.KeyNumIdx >= argc {
				return nil, false
			}
			n, isInt := ParseInt(args[first+ks.KeyNumIdx])
			if !isInt || n < 0 {
				return nil, false
			}
			first += ks.FirstKey
			last = first + int(int32(n)) - 1 // (int)numkeys, as db.c casts it
		case ks.KeyStep > 0:
			step = ks.KeyStep
			switch {
			case ks.LastKey >= 0:
				last = first + ks.LastKey
			case ks.Limit == 0:
				last = argc + ks.LastKey
			default:
				last = first + (argc-first)/ks.Limit + ks.LastKey
			}
		default:
			return nil, false // unknown find_keys
		}
		if last >= argc || last < first || first >= argc {
			return nil, false
		}
		for i := first; i <= last; i += step {
			refs = append(refs, KeyRef{Key: args[i], Read: ks.flags&ksAccess != 0, Write: ks.flags&ksWrite != 0})
		}
		if ks.flags&ksIncomplete != 0 {
			return nil, false
		}
	}
	return refs, true
}

// getKeysProcs are the getkeys procedures of Redis 7.0's commands (db.c),
// which getKeysFromCommandWithSpecs falls back to when the key specs
// cannot be used. Those of commands whose specs are complete report their
// keys without flags, as db.c's do.
var getKeysProcs = map[string]func(args [][]byte) []KeyRef{
	"set":               setGetKeys,
	"bitfield":          bitfieldGetKeys,
	"sort":              sortGetKeys,
	"sort_ro":           sortROGetKeys,
	"migrate":           migrateGetKeys,
	"georadius":         georadiusGetKeys,
	"georadiusbymember": georadiusGetKeys,
	"xread":             xreadGetKeys,
	"xreadgroup":        xreadGetKeys,
	"zunionstore":       genericGetKeys(1, 2, 3),
	"zinterstore":       genericGetKeys(1, 2, 3),
	"zdiffstore":        genericGetKeys(1, 2, 3),
	"zunion":            genericGetKeys(0, 1, 2),
	"zinter":            genericGetKeys(0, 1, 2),
	"zdiff":             genericGetKeys(0, 1, 2),
	"zintercard":        genericGetKeys(0, 1, 2),
	"sintercard":        genericGetKeys(0, 1, 2),
	"lmpop":             genericGetKeys(0, 1, 2),
	"zmpop":             genericGetKeys(0, 1, 2),
	"blmpop":            genericGetKeys(0, 2, 3),
	"bzmpop":            genericGetKeys(0, 2, 3),
	"eval":              genericGetKeys(0, 2, 3),
	"evalsha":           genericGetKeys(0, 2, 3),
	"eval_ro":           genericGetKeys(0, 2, 3),
	"evalsha_ro":        genericGetKeys(0, 2, 3),
	"fcall":             genericGetKeys(0, 2, 3),
	"fcall_ro":          genericGetKeys(0, 2, 3),
}

// genericGetKeys is db.c's genericGetKeys: numkeys (read as atoi reads
// it) at args[count], that many keys from args[first], then the
// destination at args[store] if store is not 0; none when numkeys is
// below 1 or beyond the arguments. The keys have no flags.
func genericGetKeys(store, count, first int) func(args [][]byte) []KeyRef {
	return func(args [][]byte) []KeyRef {
		if count >= len(args) {
			return nil
		}
		n := cAtoi(args[count])
		if n < 1 || n > len(args)-first {
			return nil
		}
		refs := make([]KeyRef, 0, n+1)
		for i := range n {
			refs = append(refs, KeyRef{Key: args[first+i]})
		}
		if store != 0 {
			refs = append(refs, KeyRef{Key: args[store]})
		}
		return refs
	}
}

// cAtoi reads s as C's atoi does: optional blanks and sign, then the
// leading digits; 0 when there are none. It saturates rather than
// overflow.
func cAtoi(s []byte) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<31 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

// setGetKeys is db.c's: SET's key is read and written with GET, only
// written without.
func setGetKeys(args [][]byte) []KeyRef {
	if len(args) < 2 {
		return nil
	}
	for _, a := range args[min(3, len(args)):] {
		if equalFold(a, "get") {
			return []KeyRef{{Key: args[1], Read: true, Write: true}}
		}
	}
	return []KeyRef{{Key: args[1], Write: true}}
}

// bitfieldGetKeys is db.c's: BITFIELD's key is only read when every
// subcommand is GET (or OVERFLOW), read and written otherwise, a syntax
// error included.
func bitfieldGetKeys(args [][]byte) []KeyRef {
	if len(args) < 2 {
		return nil
	}
	readonly := true
	for i := 2; i < len(args); i++ {
		rem := len(args) - i - 1
		a := args[i]
		if equalFold(a, "get") && rem >= 2 {
			i += 2
		} else if (equalFold(a, "set") || equalFold(a, "incrby")) && rem >= 3 {
			readonly = false
			break
		} else if equalFold(a, "overflow") && rem >= 1 {
			i++
		} else {
			readonly = false
			break
		}
	}
	return []KeyRef{{Key: args[1], Read: true, Write: !readonly}}
}

// sortROGetKeys is db.c's: SORT_RO reads its key.
func sortROGetKeys(args [][]byte) []KeyRef {
	if len(args) < 2 {
		return nil
	}
	return []KeyRef{{Key: args[1], Read: true}}
}

// sortGetKeys is db.c's: SORT reads its key and writes the destination of
// its last STORE, skipping the arguments of LIMIT, GET and BY.
func sortGetKeys(args [][]byte) []KeyRef {
	if len(args) < 2 {
		return nil
	}
	refs := []KeyRef{{Key: args[1], Read: true}}
	var store []byte
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "limit"):
			i += 2
		case equalFold(args[i], "get"), equalFold(args[i], "by"):
			i++
		case equalFold(args[i], "store") && i+1 < len(args):
			store = args[i+1]
		}
	}
	if store != nil {
		refs = append(refs, KeyRef{Key: store, Write: true})
	}
	return refs
}

// migrateGetKeys is db.c's: MIGRATE host port key|"" db timeout ... [KEYS
// key...] reads and deletes its key, or the keys after KEYS when key is
// "" (none when it is not).
func migrateGetKeys(args [][]byte) []KeyRef {
	first, num := 3, 1
	if len(args) > 6 {
	scan:
		for i := 6; i < len(args); i++ {
			switch {
			case equalFold(args[i], "keys"):
				if len(args[3]) > 0 {
					num = 0
				} else {
					first, num = i+1, len(args)-i-1
				}
				break scan
			case equalFold(args[i], "auth"):
				i++
			case equalFold(args[i], "auth2"):
				i += 2
			}
		}
	}
	if first >= len(args) {
		return nil
	}
	refs := make([]KeyRef, 0, num)
	for i := range num {
		refs = append(refs, KeyRef{Key: args[first+i], Read: true, Write: true})
	}
	return refs
}

// georadiusGetKeys is db.c's: the key, and the destination of the last
// STORE or STOREDIST; without flags.
func georadiusGetKeys(args [][]byte) []KeyRef {
	if len(args) < 2 {
		return nil
	}
	refs := []KeyRef{{Key: args[1]}}
	stored := -1
	for i := 5; i < len(args); i++ {
		if (equalFold(args[i], "store") || equalFold(args[i], "storedist")) && i+1 < len(args) {
			stored = i + 1
			i++
		}
	}
	if stored >= 0 {
		refs = append(refs, KeyRef{Key: args[stored]})
	}
	return refs
}

// xreadGetKeys is db.c's: the first half of the arguments after the
// STREAMS option, skipping BLOCK, COUNT and GROUP's arguments and NOACK;
// none on a syntax error; without flags.
func xreadGetKeys(args [][]byte) []KeyRef {
	streams := -1
scan:
	for i := 1; i < len(args); i++ {
		switch {
		case equalFold(args[i], "block"), equalFold(args[i], "count"):
			i++
		case equalFold(args[i], "group"):
			i += 2
		case equalFold(args[i], "noack"):
		case equalFold(args[i], "streams"):
			streams = i
			break scan
		default:
			break scan
		}
	}
	if streams < 0 {
		return nil
	}
	n := len(args) - streams - 1
	if n == 0 || n%2 != 0 {
		return nil
	}
	refs := make([]KeyRef, 0, n/2)
	for _, k := range args[streams+1 : streams+1+n/2] {
		refs = append(refs, KeyRef{Key: k})
	}
	return refs
}
