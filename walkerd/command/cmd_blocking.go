package command

import "github.com/walkerdb/walkerdb/internal/keyspace"

// Blocking commands. In the log each is an attempt that never blocks: it
// pops when one of its keys holds something and answers what Redis answers
// a client that may not block (inside MULTI, t_list.c and t_zset.c):
// a null array, or a null for BLMOVE and BRPOPLPUSH. The server waits
// between attempts (walkerd/server blocking.go); Parsed.Blocking gives it
// the keys to wait on and the timeout.
func init() {
	blk := func(name string, arity int, flags Flags, cats Category, first, last, step int, group, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: FlagWrite | FlagBlocking | flags, Cats: cats,
			FirstKey: first, LastKey: last, Step: step, Group: group, Since: since, parse: parse, run: run}
	}
	register(
		blk("blpop", -3, FlagNoScript, CatList, 1, -2, 1, "list", "2.0.0", parseBpop, runBpop),
		blk("brpop", -3, FlagNoScript, CatList, 1, -2, 1, "list", "2.0.0", parseBpop, runBpop),
		blk("brpoplpush", 4, FlagDenyOOM|FlagNoScript, CatList, 1, 2, 1, "list", "2.2.0", parseBlmove, runBlmove),
		blk("blmove", 6, FlagDenyOOM|FlagNoScript, CatList, 1, 2, 1, "list", "6.2.0", parseBlmove, runBlmove),
		blk("blmpop", -5, FlagMovableKeys, CatList, 0, 0, 0, "list", "7.0.0", parseBmpop(false), runBlmpop),
		blk("bzpopmin", -3, FlagNoScript|FlagFast, CatSortedSet, 1, -2, 1, "sorted-set", "5.0.0", parseBpop, runBzpop),
		blk("bzpopmax", -3, FlagNoScript|FlagFast, CatSortedSet, 1, -2, 1, "sorted-set", "5.0.0", parseBpop, runBzpop),
		blk("bzmpop", -5, FlagMovableKeys, CatSortedSet, 0, 0, 0, "sorted-set", "7.0.0", parseBmpop(true), runBzmpop),
		&Spec{Name: "walker.serve", Arity: -3, Flags: FlagWrite | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Tries a woken blocking command again (internal: the server of a blocked client).",
			parse:   parseServe, run: runServe},
		&Spec{Name: "walker.resolve", Arity: -3, Flags: FlagWrite | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Makes a blocking command's relative positions absolute (internal: XREAD's $ before it blocks).",
			parse:   parseServe, run: runResolve},
	)
}

var _ = addDocs(map[string]redisDoc{
	"blpop":      {Summary: "Remove and get the first element in a list, or block until one is available", Complexity: "O(N) where N is the number of provided keys."},
	"brpop":      {Summary: "Remove and get the last element in a list, or block until one is available", Complexity: "O(N) where N is the number of provided keys."},
	"brpoplpush": {Summary: "Pop an element from a list, push it to another list and return it; or block until one is available", Complexity: "O(1)"},
	"blmove":     {Summary: "Pop an element from a list, push it to another list and return it; or block until one is available", Complexity: "O(1)"},
	"blmpop":     {Summary: "Pop elements from a list, or block until one is available", Complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned."},
	"bzmpop":     {Summary: "Remove and return members with scores in a sorted set or block until one is available", Complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."},
	"bzpopmin":   {Summary: "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", Complexity: "O(log(N)) with N being the number of elements in the sorted set."},
	"bzpopmax":   {Summary: "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", Complexity: "O(log(N)) with N being the number of elements in the sorted set."},
})

// BLPOP, BRPOP, BZPOPMIN, BZPOPMAX key [key ...] timeout
func parseBpop(args [][]byte, now int64) (any, error) {
	t, err := parseTimeout(args[len(args)-1], now)
	if err != nil {
		return nil, err
	}
	return &blockArgs{keys: args[1 : len(args)-1], timeout: t}, nil
}

func runBpop(c *ctx, args [][]byte, p any) {
	left := isName(args[0], "blpop")
	for _, k := range p.(*blockArgs).keys {
		elems, wrong := c.listPop(k, left, 1)
		if wrong {
			c.r.Error(errWrongType)
			return
		}
		if len(elems) > 0 {
			c.r.Array(2)
			c.r.Bulk(k)
			c.r.Bulk(elems[0])
			return
		}
	}
	c.r.NullArray()
}

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout and
// BRPOPLPUSH source destination timeout: LMOVE's and RPOPLPUSH's
// arguments, then the timeout; they move as LMOVE does.
func parseBlmove(args [][]byte, now int64) (any, error) {
	lr, err := parseLmove(args[:len(args)-1], now)
	if err != nil {
		return nil, err
	}
	t, err := parseTimeout(args[len(args)-1], now)
	if err != nil {
		return nil, err
	}
	return &blockArgs{keys: args[1:2], timeout: t, pop: lr}, nil
}

func runBlmove(c *ctx, args [][]byte, p any) { runLmove(c, args, p.(*blockArgs).pop) }

// BLMPOP and BZMPOP timeout numkeys key [key ...] LEFT|RIGHT (MIN|MAX)
// [COUNT count]. Redis checks the arguments after the timeout first, then
// the timeout.
func parseBmpop(zset bool) func(args [][]byte, now int64) (any, error) {
	return func(args [][]byte, now int64) (any, error) {
		m, err := parseMpopArgs(args, 2, zset)
		if err != nil {
			return nil, err
		}
		t, err := parseTimeout(args[1], now)
		if err != nil {
			return nil, err
		}
		return &blockArgs{keys: m.keys, timeout: t, pop: m}, nil
	}
}

func runBlmpop(c *ctx, args [][]byte, p any) {
	m := p.(*blockArgs).pop.(*mpopArgs)
	c.listMpop(m.keys, m.first, m.count)
}

// BZPOPMIN, BZPOPMAX key [key ...] timeout: [key, member, score].
func runBzpop(c *ctx, args [][]byte, p any) {
	max := isName(args[0], "bzpopmax")
	for _, k := range p.(*blockArgs).keys {
		members, scores, wrong := c.zsetPop(k, max, 1)
		if wrong {
			c.r.Error(errWrongType)
			return
		}
		if len(members) > 0 {
			c.r.Array(3)
			c.r.Bulk(k)
			c.r.Bulk(members[0])
			c.r.Double(scores[0])
			return
		}
	}
	c.r.NullArray()
}

// BZMPOP pops as ZMPOP does.
func runBzmpop(c *ctx, args [][]byte, p any) { runZmpop(c, args, p.(*blockArgs).pop) }

// WALKER.SERVE blocking-command [arg ...]: the attempt of a blocked
// client that a write woke. It runs the command as its first attempt did,
// but a key that now holds another type is passed over as if absent: in
// Redis 7.0 a write that makes a key of another type leaves the client
// blocked (blocked.c serves only a key of the type it waits for), and
// only the command's first run answers WRONGTYPE.
func parseServe(args [][]byte, now int64) (any, error) {
	inner := args[1:]
	spec := Lookup(inner[0])
	if spec == nil || spec.Flags&FlagBlocking == 0 || !ArityOK(spec.Arity, len(inner)) {
		return nil, Error("ERR WALKER.SERVE takes a blocking command")
	}
	p, err := spec.Parse(inner, now)
	if err != nil {
		return nil, err
	}
	return &served{spec: spec, args: p.(*blockArgs)}, nil
}

type served struct {
	spec *Spec
	args *blockArgs
}

func runServe(c *ctx, args [][]byte, p any) {
	s := p.(*served)
	want := keyspace.List
	switch {
	case s.spec.Cats&CatSortedSet != 0:
		want = keyspace.ZSet
	case s.spec.Cats&CatStream != 0:
		want = keyspace.Stream
	}
	if w, ok := s.args.pop.(wokenServer); ok && !w.woken(c) {
		return
	}
	b := *s.args
	b.keys = nil
	keep := make([]bool, len(s.args.keys))
	for i, k := range s.args.keys {
		if v, ok := c.lookup(k); !ok || v.Type == want {
			b.keys = append(b.keys, k)
			keep[i] = true
		}
	}
	if len(b.keys) == 0 {
		c.r.NullArray()
		return
	}
	inner := args[1:]
	switch pop := b.pop.(type) {
	case *mpopArgs:
		mm := *pop
		mm.keys = b.keys
		b.pop = &mm
	case keyPicker:
		b.pop = pop.pick(keep)
	}
	s.spec.run(c, inner, &b)
}

// A wokenServer is a blocking command's parsed arguments with a check of
// its own before a woken attempt runs, on all its keys: XREADGROUP answers
// an error when its stream or group went away while it waited, as Redis
// 7.0's blocked.c does. woken reports whether the attempt goes on; when
// not, it has answered.
type wokenServer interface {
	woken(c *ctx) bool
}

// WALKER.RESOLVE blocking-command [arg ...]: the blocking command with its
// relative positions made absolute (blockResolver), as an array of its
// arguments, or the error its first run would answer.
func runResolve(c *ctx, args [][]byte, p any) {
	s := p.(*served)
	r, ok := s.args.pop.(blockResolver)
	if !ok {
		c.r.Error("ERR WALKER.RESOLVE takes a command that resolves")
		return
	}
	out, err := r.resolve(c, args[1:])
	if err != nil {
		c.r.Error(errorText(err))
		return
	}
	c.r.Array(len(out))
	for _, a := range out {
		c.r.Bulk(a)
	}
}
