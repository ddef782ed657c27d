package command

import (
	"slices"
	"strings"
)

// Flags are a command's properties. The first group are Redis's command
// flags, reported by COMMAND INFO under the names Redis gives them
// (server.h CMD_*); the last few are walkerd's own and never reported.
type Flags uint32

const (
	FlagWrite           Flags = 1 << iota // "write": changes data; proposed as a log entry
	FlagReadonly                          // "readonly": reads data at the configured read level
	FlagDenyOOM                           // "denyoom"
	FlagAdmin                             // "admin"
	FlagPubSub                            // "pubsub"
	FlagNoScript                          // "noscript"
	FlagBlocking                          // "blocking"
	FlagLoading                           // "loading"
	FlagStale                             // "stale"
	FlagSkipMonitor                       // "skip_monitor"
	FlagSkipSlowlog                       // "skip_slowlog"
	FlagFast                              // "fast"
	FlagNoAuth                            // "no_auth": allowed before AUTH
	FlagMayReplicate                      // "may_replicate" (not in COMMAND's reply: FlagNames)
	FlagNoMandatoryKeys                   // "no_mandatory_keys"
	FlagNoAsyncLoading                    // "no_async_loading"
	FlagNoMulti                           // "no_multi": refused inside MULTI
	FlagMovableKeys                       // "movablekeys"
	FlagAllowBusy                         // "allow_busy"

	// FlagPure commands touch no data (PING, ECHO, SELECT, TIME): the
	// server answers them itself; inside a transaction they are part of the
	// entry, so that SELECT moves the commands after it.
	FlagPure
	// FlagInternal commands are walkerd's own (WALKER.*): a client may
	// call only those without FlagWrite, and only as walkerd does.
	FlagInternal
	// FlagNotQueued commands run at once inside MULTI (MULTI, EXEC,
	// DISCARD, WATCH, QUIT, RESET), as Redis's processCommand runs them.
	FlagNotQueued
	// FlagByPosition commands read elements by position (ZRANK, ZRANGE by
	// index, random picks): they run in the engine's ViewIndexed, where a
	// position costs O(log n) rather than a walk (coll.rank, coll.at).
	FlagByPosition

	redisFlags = FlagPure - 1 // the flags COMMAND INFO reports
)

var flagNames = []string{"write", "readonly", "denyoom", "admin", "pubsub", "noscript", "blocking", "loading",
	"stale", "skip_monitor", "skip_slowlog", "fast", "no_auth", "may_replicate", "no_mandatory_keys", "no_async_loading", "no_multi",
	"movablekeys", "allow_busy"}

// FlagNames lists the Redis flag names set in f, in Redis's order, as
// COMMAND replies them: without may_replicate, which redis-server 7.0.15
// sets (EVAL, FCALL, PUBLISH, PFCOUNT, ...: CLIENT PAUSE WRITE holds them,
// read-only scripts may not call them) but never replies.
func (f Flags) FlagNames() []string {
	var out []string
	for i, n := range flagNames {
		if f&redisFlags&^FlagMayReplicate&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Category is a set of Redis ACL categories (acl.c's ACLCommandCategories).
type Category uint32

const (
	CatKeyspace Category = 1 << iota
	CatRead
	CatWrite
	CatSet
	CatSortedSet
	CatList
	CatHash
	CatString
	CatBitmap
	CatHyperLogLog
	CatGeo
	CatStream
	CatPubSub
	CatAdmin
	CatFast
	CatSlow
	CatBlocking
	CatDangerous
	CatConnection
	CatTransaction
	CatScripting
)

var categoryNames = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
	"transaction", "scripting"}

// CategoryNames lists every ACL category name, in Redis's order.
func CategoryNames() []string { return slices.Clone(categoryNames) }

// ParseCategory reads an ACL category name (without '@', any case).
func ParseCategory(name string) (Category, bool) {
	i := slices.Index(categoryNames, strings.ToLower(name))
	if i < 0 {
		return 0, false
	}
	return 1 << i, true
}

// Names lists the category names in c, each with its '@', in Redis's
// order.
func (c Category) Names() []string {
	var out []string
	for i, n := range categoryNames {
		if c&(1<<i) != 0 {
			out = append(out, "@"+n)
		}
	}
	return out
}

// Spec is one command: the single source of its name, arity, flags, ACL
// categories, key positions and documentation (COMMAND, COMMAND INFO,
// COMMAND DOCS, COMMAND GETKEYS and the MULTI rules all read it), and, for
// data commands, how it parses and runs.
type Spec struct {
	// Name is the lower-case name; "client|setname" for a subcommand.
	Name string
	// Arity as Redis counts it, name included (a subcommand's counts the
	// parent's name too): n means exactly n, -n at least n.
	Arity int
	Flags Flags
	// Cats are the command's own ACL categories; Categories adds those
	// Redis derives from the flags.
	Cats Category
	// FirstKey, LastKey and Step locate the key arguments as COMMAND INFO
	// reports them (LastKey -1: the last argument). FirstKey 0: no keys.
	FirstKey, LastKey, Step int
	// Group, Since, Summary and Complexity are for COMMAND DOCS. Summary
	// and Complexity of Redis's own commands come from redisDocs (docs.go).
	Group, Since, Summary, Complexity string
	// History is COMMAND DOCS's "history": [version, change] pairs. nil:
	// the command's entry in redisDocs (docs.go), if any.
	History [][2]string
	// Args are the arguments after the name, as COMMAND DOCS describes
	// them (redis-cli builds its help and hints from them). nil: the
	// command's entry in redisDocs (docs.go), if any.
	Args []Arg
	// KeySpecs are the command's Redis 7 key specifications as COMMAND
	// INFO reports them, for a command whose keys are not the one range
	// FirstKey..LastKey (nil: derived from FirstKey, LastKey and Step).
	KeySpecs []KeySpec
	// Tips are the command's Redis 7 command tips as COMMAND INFO reports
	// them ("nondeterministic_output", ...); nil for none.
	Tips []string
	// Subs are the subcommands, for a container command (CLIENT, CONFIG,
	// COMMAND, OBJECT, ...).
	Subs []*Spec
	// Parent is the container of a subcommand.
	Parent *Spec
	// ID numbers every registered spec, subcommands included, from 0 (in
	// registration order), so callers can index tables by command.
	ID int

	// parse validates a data command's arguments (arity already checked)
	// without reading data, at time now (Unix ms), and returns them parsed
	// for run. It fails as Redis fails before it looks a key up. nil:
	// nothing to parse.
	parse func(args [][]byte, now int64) (any, error)
	// run executes a data command in c with the arguments parse
	// returned. nil for commands the server runs itself.
	run func(c *ctx, args [][]byte, p any)
}

// KeySpec is one Redis 7 key specification (server.h's keySpec) as
// COMMAND INFO reports it: its flags ("RO", "RW", "OW", "RM", then
// "access", "update", "insert", "delete", ...), where the search begins
// (the argument at Index, or when Keyword is set the argument after the
// first Keyword from StartFrom on), and the range of keys from there
// (LastKey relative to the first, KeyStep, Limit).
type KeySpec struct {
	Flags            []string
	Index            int
	Keyword          string
	StartFrom        int
	LastKey, KeyStep int
	Limit            int
	// KeyNum: the keys are found as Redis's "keynum" find_keys does
	// (EVAL): their count is the argument KeyNumIdx after the begin, and
	// they start FirstKey arguments after it, every KeyStep.
	KeyNum              bool
	KeyNumIdx, FirstKey int
	// Notes is the key spec's "notes", reported when not "".
	Notes string
}

// Arg is one argument of a command as Redis 7.0's COMMAND DOCS describes
// it (server.h's redisCommandArg), each field under the name COMMAND DOCS
// gives it.
type Arg struct {
	Name string
	// Type is "key", "string", "integer", "double", "pattern",
	// "unix-time", "pure-token" (Token alone), "oneof" (one of Args) or
	// "block" (Args in order).
	Type string
	// KeySpecIndex is a key argument's key spec (0: the first); reported
	// for Type "key" only.
	KeySpecIndex int
	// Token is the literal word before the value ("EX"), "" for none.
	Token string
	// Summary, Since and DeprecatedSince are reported when not "".
	Summary, Since, DeprecatedSince string
	Flags                           ArgFlags
	// Args are the arguments of a "oneof" or "block".
	Args []Arg
}

// ArgFlags are an argument's COMMAND DOCS flags.
type ArgFlags uint8

const (
	ArgOptional      ArgFlags = 1 << iota // "optional"
	ArgMultiple                           // "multiple": may repeat
	ArgMultipleToken                      // "multiple_token": repeats with its token
)

var argFlagNames = []string{"optional", "multiple", "multiple_token"}

// Names lists the flag names set in f, in Redis's order.
func (f ArgFlags) Names() []string {
	var out []string
	for i, n := range argFlagNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

var (
	specs   = map[string]*Spec{}
	ordered []*Spec // every top-level spec, by name
	nspecs  int     // specs registered, subcommands included
)

// Count is how many specs are registered, subcommands included: every
// Spec.ID is below it.
func Count() int { return nspecs }

// document fills what the spec leaves empty of its documentation from
// redisDocs.
func (s *Spec) document() {
	d := redisDocs[s.Name]
	if s.Summary == "" {
		s.Summary = d.Summary
	}
	if s.Complexity == "" {
		s.Complexity = d.Complexity
	}
	if s.Args == nil {
		s.Args = d.Args
	}
	if s.History == nil {
		s.History = d.History
	}
}

// register adds specs to the registry. Subcommands get their full name
// ("parent|sub") and Parent here.
func register(list ...*Spec) {
	for _, s := range list {
		if _, dup := specs[s.Name]; dup {
			panic("command: registered twice: " + s.Name)
		}
		s.ID, nspecs = nspecs, nspecs+1
		s.document()
		for _, sub := range s.Subs {
			sub.ID, nspecs = nspecs, nspecs+1
			sub.Parent = s
			if !strings.Contains(sub.Name, "|") {
				sub.Name = s.Name + "|" + sub.Name
			}
			sub.document()
			if sub.Group == "" {
				sub.Group = s.Group
			}
		}
		specs[s.Name] = s
		i, _ := slices.BinarySearchFunc(ordered, s.Name, func(a *Spec, n string) int { return strings.Compare(a.Name, n) })
		ordered = slices.Insert(ordered, i, s)
	}
}

// Lookup returns the top-level spec of a command name (any case), or nil.
func Lookup(name []byte) *Spec {
	if len(name) > 32 {
		return nil
	}
	var buf [32]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return specs[string(buf[:len(name)])]
}

// LookupName returns the spec of a full name ("get", "client|setname"),
// any case, or nil.
func LookupName(name string) *Spec {
	parent, sub, ok := strings.Cut(strings.ToLower(name), "|")
	s := specs[parent]
	if !ok || s == nil {
		return s
	}
	return s.Sub([]byte(sub))
}

// Sub returns the subcommand of s named name (any case), or nil.
func (s *Spec) Sub(name []byte) *Spec {
	for _, sub := range s.Subs {
		if equalFold(name, sub.Name[len(s.Name)+1:]) {
			return sub
		}
	}
	return nil
}

// Specs returns every top-level command, internal ones included, sorted by
// name.
func Specs() []*Spec { return slices.Clone(ordered) }

// IsData reports whether the command runs in the data layer (Apply or
// Read); the server runs the others itself.
func (s *Spec) IsData() bool { return s.run != nil }

// Categories are the command's ACL categories: its own plus those Redis
// derives from its flags (acl.c's setImplicitACLCategories).
func (s *Spec) Categories() Category {
	c := s.Cats
	f := s.Flags
	if f&FlagWrite != 0 {
		c |= CatWrite
	}
	if f&FlagReadonly != 0 && c&CatScripting == 0 {
		c |= CatRead
	}
	if f&FlagAdmin != 0 {
		c |= CatAdmin | CatDangerous
	}
	if f&FlagPubSub != 0 {
		c |= CatPubSub
	}
	if f&FlagFast != 0 {
		c |= CatFast
	}
	if f&FlagBlocking != 0 {
		c |= CatBlocking
	}
	if c&CatFast == 0 {
		c |= CatSlow
	}
	return c
}

// ArityOK reports whether n arguments (name included) suit the arity.
func ArityOK(arity, n int) bool {
	if arity >= 0 {
		return n == arity
	}
	return n >= -arity
}

// Keys returns the key arguments of args: by the spec's key positions, or
// for a command with movable keys by its own rule (movableKeys).
func (s *Spec) Keys(args [][]byte) [][]byte {
	if find := movableKeys[s.Name]; find != nil {
		return find(args)
	}
	last, step := s.KeyRange(len(args))
	var keys [][]byte
	for i := s.FirstKey; i <= last; i += step {
		keys = append(keys, args[i])
	}
	return keys
}

// KeyRange is where the keys of a command of n arguments lie, by the
// spec's fixed key positions: from FirstKey to last, every step; last is
// below FirstKey when there are none. A command with movable keys may
// have others (Keys finds them); walkerd's read-ahead (server/prefetch.go)
// takes these alone, without collecting them.
func (s *Spec) KeyRange(n int) (last, step int) {
	if s.FirstKey <= 0 || s.FirstKey >= n {
		return s.FirstKey - 1, 1
	}
	last = s.LastKey
	if last < 0 {
		last = n + last
	}
	return min(last, n-1), max(s.Step, 1)
}

// keyTooLong reports whether one of the keys of args (Keys) is longer than
// MaxKeyLen, without collecting them when their positions are fixed.
func (s *Spec) keyTooLong(args [][]byte) bool {
	if movableKeys[s.Name] != nil {
		for _, k := range s.Keys(args) {
			if len(k) > MaxKeyLen {
				return true
			}
		}
		return false
	}
	last, step := s.KeyRange(len(args))
	for i := s.FirstKey; i <= last; i += step {
		if len(args[i]) > MaxKeyLen {
			return true
		}
	}
	return false
}

// Parse validates a data command whose arity has been checked, at time now
// (Unix ms), and returns its parsed arguments for Entry.Parsed. It refuses
// keys and values beyond the engine's limits, and whatever the command
// refuses before it looks at data (syntax, integers, expire times), with
// Redis's error. What it accepts can enter the log: what Apply may still
// refuse depends on the data, and is the same on every node.
func (s *Spec) Parse(args [][]byte, now int64) (any, error) {
	if s.Flags&FlagWrite != 0 {
		if s.keyTooLong(args) {
			return nil, ErrKeyTooLong
		}
		for _, a := range args {
			if len(a) > MaxValueLen {
				return nil, ErrStringTooLong
			}
		}
	}
	if s.parse == nil {
		return nil, nil
	}
	return s.parse(args, now)
}

// isName reports whether name is, in any case, lower.
func isName(name []byte, lower string) bool { return equalFold(name, lower) }
