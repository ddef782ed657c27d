package command

// Flags describe what a command does, for the server's routing.
type Flags uint16

const (
	// FlagWrite commands change data: the server proposes them as an Entry.
	FlagWrite Flags = 1 << iota
	// FlagRead commands only read data: outside MULTI the server runs them
	// on its local engine (Read), at the configured read level.
	FlagRead
	// FlagPure commands touch no data (PING, ECHO, TIME, SELECT): the
	// server answers them itself, and Apply runs them inside transactions.
	FlagPure
	// FlagInternal commands are walkerd's own (WALKER.*): never taken from
	// a client as they are.
	FlagInternal
	// flagNoView commands scan the engine, which must not happen inside an
	// engine View.
	flagNoView
)

// Spec is one command of the data layer.
type Spec struct {
	// Name is the lower-case command name.
	Name string
	// Arity as Redis counts it, name included: n means exactly n, -n at
	// least n.
	Arity int
	Flags Flags
	// FirstKey, LastKey and Step locate key arguments as in COMMAND INFO
	// (LastKey -1 = the last argument); FirstKey 0 means no keys.
	FirstKey, LastKey, Step int
	// check validates the arguments (arity already checked) without
	// reading data, at time now, failing as Redis fails before it looks a
	// key up. nil: nothing to check.
	check func(args [][]byte, now int64) error
	// run executes the command in c, appending its reply to c.out.
	run func(c *ctx, args [][]byte)
}

var specs = map[string]*Spec{}

func register(list ...*Spec) {
	for _, s := range list {
		specs[s.Name] = s
	}
}

// Lookup returns the spec of a command name (any case), or nil.
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

// Specs returns every command of the data layer, internal ones included.
func Specs() []*Spec {
	out := make([]*Spec, 0, len(specs))
	for _, s := range specs {
		out = append(out, s)
	}
	return out
}

// ArityOK reports whether n arguments (name included) suit the arity.
func ArityOK(arity, n int) bool {
	if arity >= 0 {
		return n == arity
	}
	return n >= -arity
}

// Keys returns the key arguments of args.
func (s *Spec) Keys(args [][]byte) [][]byte {
	if s.FirstKey <= 0 || s.FirstKey >= len(args) {
		return nil
	}
	last := s.LastKey
	if last < 0 {
		last = len(args) + last
	}
	last = min(last, len(args)-1)
	step := max(s.Step, 1)
	var keys [][]byte
	for i := s.FirstKey; i <= last; i += step {
		keys = append(keys, args[i])
	}
	return keys
}

// Check validates a command before it is proposed or queued: arity, key
// sizes, and whatever the command refuses before looking at data (syntax,
// integers, expire times at time now). A nil result means the command can
// enter the log; what Apply may still refuse depends on the data, the same
// on every node.
func (s *Spec) Check(args [][]byte, now int64) error {
	if !ArityOK(s.Arity, len(args)) {
		return ErrArity(s.Name)
	}
	if s.Flags&FlagWrite != 0 {
		for _, k := range s.Keys(args) {
			if len(k) > MaxKeyLen {
				return ErrKeyTooLong
			}
		}
		for _, a := range args {
			if len(a) > MaxValueLen {
				return ErrStringTooLong
			}
		}
	}
	if s.check != nil {
		return s.check(args, now)
	}
	return nil
}

// isName reports whether name is, in any case, lower.
func isName(name []byte, lower string) bool { return equalFold(name, lower) }
