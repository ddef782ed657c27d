package command

import (
	"fmt"
	"math"
	"strings"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Consumer group commands (t_stream.c of Redis 7.0.15): XGROUP, XREADGROUP,
// XACK, XPENDING, XCLAIM, XAUTOCLAIM and XINFO. They keep groups,
// consumers and pending entries through streamgroup.go.
//
// Redis checks a consumer group command's arguments in an order that
// mixes syntax and data: XCLAIM reads its options only once the group
// exists, XACK its IDs only once the group exists. Their parse therefore
// records the first argument error, and run answers it where Redis
// would, after the WRONGTYPE and NOGROUP checks.
//
// Delivery times, seen times and idle times are the log entry's clock
// (ctx.now), so every node computes the same PEL.

func init() {
	sub := func(name string, arity int, flags Flags, since string, ks []KeySpec,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatStream, FirstKey: 2, LastKey: 2, Step: 1,
			Group: "stream", Since: since, KeySpecs: ks, parse: parse, run: run}
	}
	ks := func(first int, flags ...string) []KeySpec {
		return []KeySpec{{Flags: flags, Index: first, KeyStep: 1}}
	}
	x := func(name string, arity int, flags Flags, since string, ks []KeySpec,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatStream, FirstKey: 1, LastKey: 1, Step: 1,
			Group: "stream", Since: since, KeySpecs: ks, parse: parse, run: run}
	}
	help := func(run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: "help", Arity: 2, Flags: FlagPure | FlagLoading | FlagStale, Cats: CatStream,
			Group: "stream", Since: "5.0.0", run: run}
	}
	// The commands whose replies show times: Redis's tip for them.
	tips := func(s *Spec) *Spec {
		s.Tips = []string{"nondeterministic_output"}
		return s
	}
	register(
		&Spec{Name: "xgroup", Arity: -2, Group: "stream", Since: "5.0.0", Subs: []*Spec{
			sub("setid", -5, FlagWrite, "5.0.0", ks(2, "RW", "update"), parseXgroup, runXgroupSetid),
			sub("destroy", 4, FlagWrite, "5.0.0", ks(2, "RW", "delete"), parseXgroup, runXgroupDestroy),
			sub("create", -5, FlagWrite|FlagDenyOOM, "5.0.0", ks(2, "RW", "insert"), parseXgroup, runXgroupCreate),
			sub("delconsumer", 5, FlagWrite, "5.0.0", ks(2, "RW", "delete"), parseXgroup, runXgroupDelConsumer),
			sub("createconsumer", 5, FlagWrite|FlagDenyOOM, "6.2.0", ks(2, "RW", "insert"), parseXgroup, runXgroupCreateConsumer),
			help(runXgroupHelp),
		}},
		&Spec{Name: "xinfo", Arity: -2, Group: "stream", Since: "5.0.0", Subs: []*Spec{
			sub("groups", 3, FlagReadonly, "5.0.0", ks(2, "RO", "access"), nil, runXinfoGroups),
			tips(sub("consumers", 4, FlagReadonly, "5.0.0", ks(2, "RO", "access"), nil, runXinfoConsumers)),
			help(runXinfoHelp),
			sub("stream", -3, FlagReadonly, "5.0.0", ks(2, "RO", "access"), parseXinfoStream, runXinfoStream),
		}},
		&Spec{Name: "xreadgroup", Arity: -7, Flags: FlagWrite | FlagBlocking | FlagMovableKeys, Cats: CatStream,
			Group: "stream", Since: "5.0.0",
			KeySpecs: []KeySpec{{Flags: []string{"RO", "access"}, Keyword: "STREAMS", StartFrom: 4, LastKey: -1, KeyStep: 1, Limit: 2}},
			parse:    parseXreadgroup, run: runXreadgroup},
		x("xack", -4, FlagWrite|FlagFast, "5.0.0", ks(1, "RW", "update"), parseXack, runXack),
		tips(x("xpending", -3, FlagReadonly, "5.0.0", ks(1, "RO", "access"), parseXpending, runXpending)),
		tips(x("xclaim", -6, FlagWrite|FlagFast, "5.0.0", ks(1, "RW", "update"), parseXclaim, runXclaim)),
		tips(x("xautoclaim", -6, FlagWrite|FlagFast, "6.2.0", ks(1, "RW", "delete"), parseXautoclaim, runXautoclaim)),
	)
}

// Consumer group errors, worded as t_stream.c words them.
const (
	errXgroupKey     Error = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."
	errBusyGroup     Error = "BUSYGROUP Consumer Group name already exists"
	errEntriesRead   Error = "ERR value for ENTRIESREAD must be positive or -1"
	errAutoclaimCnt  Error = "ERR COUNT must be > 0"
	errAutoclaimMem  Error = "ERR Insufficient memory, failed allocating transient memory, COUNT too high."
	errXclaimMinIdle Error = "ERR Invalid min-idle-time argument for XCLAIM"
	errXautoMinIdle  Error = "ERR Invalid min-idle-time argument for XAUTOCLAIM"
)

// errNoGroup is the NOGROUP of XGROUP and XINFO CONSUMERS.
func errNoGroup(group, key []byte) Error {
	return Error(fmt.Sprintf("NOGROUP No such consumer group '%s' for key name '%s'", cstr(group), cstr(key)))
}

// errNoKeyOrGroup is the NOGROUP of XPENDING, XCLAIM and XAUTOCLAIM.
func errNoKeyOrGroup(key, group []byte) Error {
	return Error(fmt.Sprintf("NOGROUP No such key '%s' or consumer group '%s'", cstr(key), cstr(group)))
}

// errSubSyntax is addReplySubcommandSyntaxError's reply.
func errSubSyntax(args [][]byte) Error {
	return Error(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try %s HELP.",
		cstr(args[1]), strings.ToUpper(string(args[0]))))
}

// openGroupStream opens key and its group for the commands that answer
// NOGROUP (with errf's wording) for a missing key or group: ok false
// means the error was answered.
func (c *ctx) openGroupStream(key, group []byte, errf func() Error) (*stream, *sgGroup, bool) {
	s, wrong := c.openStream(key)
	if wrong {
		c.r.Error(errWrongType)
		return nil, nil, false
	}
	if !s.exists() {
		c.r.Error(string(errf()))
		return nil, nil, false
	}
	gr, ok := s.openGroup(c, group)
	if !ok {
		c.r.Error(string(errf()))
		return nil, nil, false
	}
	return s, gr, true
}

// --- XGROUP ---

// xgroupArgs are XGROUP's: options read as xgroupCommand reads them
// before it looks the key up; argErr is what it answers once the key
// (and group) checks pass: a wrong argument count or a bad ID.
type xgroupArgs struct {
	mkstream    bool
	entriesRead int64
	argErr      error
	id          streamID
	dollar      bool
}

func parseXgroup(args [][]byte, now int64) (any, error) {
	a := &xgroupArgs{entriesRead: sgInvalidRead}
	sub := args[1]
	create, setid := equalFold(sub, "create"), equalFold(sub, "setid")
	for i := 5; i < len(args); {
		switch {
		case create && equalFold(args[i], "mkstream"):
			a.mkstream = true
			i++
		case (create || setid) && equalFold(args[i], "entriesread") && i+1 < len(args):
			n, ok := ParseInt(args[i+1])
			if !ok {
				return nil, ErrNotInteger
			}
			if n < 0 && n != sgInvalidRead {
				return nil, errEntriesRead
			}
			a.entriesRead = n
			i += 2
		default:
			return nil, errSubSyntax(args)
		}
	}
	switch {
	case create && (len(args) < 5 || len(args) > 8), setid && len(args) != 5 && len(args) != 7:
		a.argErr = errSubSyntax(args)
	case create || setid:
		if string(args[4]) == "$" {
			a.dollar = true
		} else if create {
			a.id, a.argErr = parseStrictID(args[4])
		} else {
			a.id, _, a.argErr = parseStreamID(args[4], 0, false, false)
		}
	}
	return a, nil
}

// openXgroup does xgroupCommand's common checks: the key's type, that it
// exists (unless MKSTREAM), and for SETID, CREATECONSUMER and
// DELCONSUMER that the group does. ok false: answered.
func (c *ctx) openXgroup(args [][]byte, a *xgroupArgs, needGroup bool) (s *stream, gr *sgGroup, ok bool) {
	s, wrong := c.openStream(args[2])
	if wrong {
		c.r.Error(errWrongType)
		return nil, nil, false
	}
	if a.mkstream {
		return s, nil, true
	}
	if !s.exists() {
		c.r.Error(string(errXgroupKey))
		return nil, nil, false
	}
	gr, found := s.openGroup(c, args[3])
	if !found && needGroup {
		c.r.Error(string(errNoGroup(args[3], args[2])))
		return nil, nil, false
	}
	return s, gr, true
}

// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]
func runXgroupCreate(c *ctx, args [][]byte, p any) {
	a := p.(*xgroupArgs)
	s, _, ok := c.openXgroup(args, a, false)
	if !ok {
		return
	}
	if a.argErr != nil {
		c.r.Error(errorText(a.argErr))
		return
	}
	id := a.id
	if a.dollar {
		id = s.meta.LastID // 0-0 for a stream MKSTREAM makes
	}
	created := false
	if !s.exists() {
		s.create(c)
		created = true
	}
	if !s.createGroup(c, args[3], id, a.entriesRead) {
		c.r.Error(string(errBusyGroup))
		return
	}
	if created {
		s.save(c)
	}
	c.touch(args[2], "xgroup-create")
	c.r.Status("OK")
}

// XGROUP SETID key group id|$ [ENTRIESREAD n]
func runXgroupSetid(c *ctx, args [][]byte, p any) {
	a := p.(*xgroupArgs)
	s, gr, ok := c.openXgroup(args, a, true)
	if !ok {
		return
	}
	if a.argErr != nil {
		c.r.Error(errorText(a.argErr))
		return
	}
	id := a.id
	if a.dollar {
		id = s.meta.LastID
	}
	gr.setLast(id, a.entriesRead)
	gr.flush(c)
	c.touch(args[2], "xgroup-setid")
	c.r.Status("OK")
}

// XGROUP DESTROY key group: 1, or 0 for no such group.
func runXgroupDestroy(c *ctx, args [][]byte, p any) {
	s, gr, ok := c.openXgroup(args, p.(*xgroupArgs), false)
	if !ok {
		return
	}
	if gr == nil {
		c.r.Int(0)
		return
	}
	s.destroyGroup(c, args[3])
	c.touch(args[2], "xgroup-destroy")
	c.r.Int(1)
}

// XGROUP CREATECONSUMER key group consumer: 1, or 0 when it exists.
func runXgroupCreateConsumer(c *ctx, args [][]byte, p any) {
	_, gr, ok := c.openXgroup(args, p.(*xgroupArgs), true)
	if !ok {
		return
	}
	if gr.createConsumer(c, args[2], args[4]) == nil {
		c.r.Int(0)
		return
	}
	gr.flush(c)
	c.r.Int(1)
}

// XGROUP DELCONSUMER key group consumer: the number of entries it had
// pending (dropped from the group's PEL too), 0 for no such consumer.
func runXgroupDelConsumer(c *ctx, args [][]byte, p any) {
	_, gr, ok := c.openXgroup(args, p.(*xgroupArgs), true)
	if !ok {
		return
	}
	cs := gr.consumer(c, args[4])
	if cs == nil {
		c.r.Int(0)
		return
	}
	n := gr.deleteConsumer(c, cs)
	gr.flush(c)
	c.touch(args[2], "xgroup-delconsumer")
	c.r.Int(int64(n))
}

var xgroupHelp = []string{
	"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CREATE <key> <groupname> <id|$> [option]",
	"    Create a new consumer group. Options are:",
	"    * MKSTREAM",
	"      Create the empty stream if it does not exist.",
	"    * ENTRIESREAD entries_read",
	"      Set the group's entries_read counter (internal use).",
	"CREATECONSUMER <key> <groupname> <consumer>",
	"    Create a new consumer in the specified group.",
	"DELCONSUMER <key> <groupname> <consumer>",
	"    Remove the specified consumer.",
	"DESTROY <key> <groupname>",
	"    Remove the specified group.",
	"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
	"    Set the current group ID and entries_read counter.",
	"HELP",
	"    Prints this help.",
}

var xinfoHelp = []string{
	"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CONSUMERS <key> <groupname>",
	"    Show consumers of <groupname>.",
	"GROUPS <key>",
	"    Show the stream consumer groups.",
	"STREAM <key> [FULL [COUNT <count>]",
	"    Show information about the stream.",
	"HELP",
	"    Prints this help.",
}

func replyHelpLines(c *ctx, lines []string) {
	c.r.Array(len(lines))
	for _, l := range lines {
		c.r.Status(l)
	}
}

// XgroupHelp is XGROUP HELP's reply, for the server, which answers it
// itself (as it does OBJECT HELP); XinfoHelp is XINFO HELP's.
func XgroupHelp() []string { return xgroupHelp }
func XinfoHelp() []string  { return xinfoHelp }

func runXgroupHelp(c *ctx, args [][]byte, _ any) { replyHelpLines(c, xgroupHelp) }
func runXinfoHelp(c *ctx, args [][]byte, _ any)  { replyHelpLines(c, xinfoHelp) }

// --- XREADGROUP ---

// parseXreadgroup reads XREADGROUP GROUP group consumer [COUNT n] [BLOCK
// ms] [NOACK] STREAMS key... id... (parseXreadArgs, cmd_stream.go); with
// BLOCK and valid IDs it gives a blockArgs.
func parseXreadgroup(args [][]byte, now int64) (any, error) {
	a, err := parseXreadArgs(args, true)
	if err != nil {
		return nil, err
	}
	if a.block && !a.anyBadIDs {
		return &blockArgs{keys: a.keys, timeout: a.timeout, pop: a}, nil
	}
	return a, nil
}

// sgServed is what XREADGROUP serves from one stream: entries, a nil
// fields slice standing for an entry deleted since it was delivered.
type sgServed struct {
	key     []byte
	entries []sgEntry
}

type sgEntry struct {
	id      streamID
	fields  [][]byte
	deleted bool
}

// runXreadgroup serves each stream in turn as xreadCommand does: with
// ">" the entries past the group's last delivered ID (moving it and its
// entries-read counter, and adding them to the PELs unless NOACK); with
// an ID, the consumer's own pending entries past it (their delivery
// count incremented, deleted ones as [id, nil]). The consumer is made or
// seen only for a stream served. A null array when nothing is served.
func runXreadgroup(c *ctx, args [][]byte, p any) {
	if b, ok := p.(*blockArgs); ok {
		p = b.pop
	}
	a := p.(*xreadArgs)
	errf := func(k []byte) func() Error {
		return func() Error {
			return Error(fmt.Sprintf("NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option",
				cstr(k), cstr(a.group)))
		}
	}
	for i, k := range a.keys {
		if _, _, ok := c.openGroupStream(k, a.group, errf(k)); !ok {
			return
		}
		if a.idErr[i] != nil {
			c.r.Error(errorText(a.idErr[i]))
			return
		}
	}
	var out []sgServed
	for i, k := range a.keys {
		// Opened again for each key: the same key may come twice, and
		// sees what serving it the first time changed.
		s, _ := c.openStream(k)
		gr, _ := s.openGroup(c, a.group)
		gt := a.ids[i]
		history := gt != keyspace.MaxStreamID
		if !history {
			last, ok := s.edge(c, true)
			if !ok || last.Compare(gr.g.LastID) <= 0 {
				continue
			}
			gt = gr.g.LastID
		}
		cs := gr.lookupOrCreate(c, k, a.consumer)
		start, _ := gt.Next()
		sv := sgServed{key: k}
		if history {
			sv.entries = c.serveConsumerPEL(s, gr, cs, start, int(min(a.count, math.MaxInt32)))
		} else {
			sv.entries = c.serveNew(s, gr, cs, start, a.count, a.noack)
		}
		gr.flush(c)
		out = append(out, sv)
	}
	if len(out) == 0 {
		c.r.NullArray()
		return
	}
	keyedArray(c.r, len(out))
	for _, sv := range out {
		keyed(c.r)
		c.r.Bulk(sv.key)
		c.r.Array(len(sv.entries))
		for _, e := range sv.entries {
			if e.deleted {
				c.r.Array(2)
				c.r.Bulk(formatStreamID(e.id))
				c.r.NullArray()
			} else {
				c.replyEntry(e.id, e.fields)
			}
		}
	}
}

// serveNew delivers the entries from start on (at most count, 0: all) to
// cs, as streamReplyWithRange does with a group.
func (c *ctx) serveNew(s *stream, gr *sgGroup, cs *sgConsumer, start streamID, count int64, noack bool) []sgEntry {
	var out []sgEntry
	s.walk(c, start, keyspace.MaxStreamID, false, func(id streamID, fields [][]byte) bool {
		if id.Compare(gr.g.LastID) > 0 {
			read := gr.g.EntriesRead
			if read != sgInvalidRead && !s.rangeHasTombstones(id, keyspace.MaxStreamID) {
				read++
			} else if s.meta.EntriesAdded != 0 {
				read = s.estimateEntriesRead(id)
			}
			gr.setLast(id, read)
		}
		out = append(out, sgEntry{id: id, fields: fields})
		if !noack {
			prev, was := gr.pending(c, id)
			gr.putPending(c, id, keyspace.StreamPending{DeliveryTime: c.now, DeliveryCount: 1}, prev.Consumer, was, cs)
		}
		return count <= 0 || int64(len(out)) < count
	})
	return out
}

// serveConsumerPEL answers cs's pending entries from start on (at most
// count, 0: all), as streamReplyWithRangeFromConsumerPEL does: each one
// still in the stream is delivered again (time now, count + 1).
func (c *ctx) serveConsumerPEL(s *stream, gr *sgGroup, cs *sgConsumer, start streamID, count int) []sgEntry {
	var out []sgEntry
	for _, id := range gr.consumerPending(c, cs.name, start, keyspace.MaxStreamID, count) {
		fields, ok := s.entry(c, id)
		if !ok {
			out = append(out, sgEntry{id: id, deleted: true})
			continue
		}
		out = append(out, sgEntry{id: id, fields: fields})
		if p, was := gr.pending(c, id); was {
			p.DeliveryTime = c.now
			p.DeliveryCount++
			gr.putPending(c, id, p, p.Consumer, true, cs)
		}
	}
	return out
}

// --- XACK ---

// xackArgs are XACK's IDs, or the error the first bad one gives (answered
// only when the group exists).
type xackArgs struct {
	ids []streamID
	err error
}

func parseXack(args [][]byte, now int64) (any, error) {
	a := &xackArgs{}
	for _, arg := range args[3:] {
		id, err := parseStrictID(arg)
		if err != nil {
			a.err = err
			break
		}
		a.ids = append(a.ids, id)
	}
	return a, nil
}

// XACK key group id [id ...]: how many of the IDs were pending, removed
// from both PELs; 0 for a missing key or group.
func runXack(c *ctx, args [][]byte, p any) {
	a := p.(*xackArgs)
	s, wrong := c.openStream(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	if !s.exists() {
		c.r.Int(0)
		return
	}
	gr, ok := s.openGroup(c, args[2])
	if !ok {
		c.r.Int(0)
		return
	}
	if a.err != nil {
		c.r.Error(errorText(a.err))
		return
	}
	n := int64(0)
	for _, id := range a.ids {
		if pe, was := gr.pending(c, id); was {
			gr.removePending(c, id, pe.Consumer)
			n++
		}
	}
	gr.flush(c)
	c.r.Int(n)
}

// --- XPENDING ---

type xpendingArgs struct {
	summary    bool
	minIdle    int64
	start, end streamID
	count      int64
	consumer   []byte
}

func parseXpending(args [][]byte, now int64) (any, error) {
	a := &xpendingArgs{}
	if len(args) == 3 {
		a.summary = true
		return a, nil
	}
	if len(args) < 6 || len(args) > 9 {
		return nil, ErrSyntax
	}
	i := 3
	if equalFold(args[3], "idle") {
		n, ok := ParseInt(args[4])
		if !ok {
			return nil, ErrNotInteger
		}
		if len(args) < 8 {
			return nil, ErrSyntax
		}
		a.minIdle = n
		i += 2
	}
	n, ok := ParseInt(args[i+2])
	if !ok {
		return nil, ErrNotInteger
	}
	a.count = max(n, 0)
	start, ex, err := parseIntervalID(args[i], 0)
	if err != nil {
		return nil, err
	}
	if ex {
		if start, ok = start.Next(); !ok {
			return nil, errRangeStart
		}
	}
	end, ex, err := parseIntervalID(args[i+1], math.MaxUint64)
	if err != nil {
		return nil, err
	}
	if ex {
		if end, ok = end.Prev(); !ok {
			return nil, errRangeEnd
		}
	}
	a.start, a.end = start, end
	if i+3 < len(args) {
		a.consumer = args[i+3]
	}
	return a, nil
}

// XPENDING key group: [count, first ID, last ID, [[consumer, count]...]]
// (nulls when nothing is pending; the counts as bulk strings, as Redis
// answers them). XPENDING key group [IDLE ms] start end count
// [consumer]: [[id, consumer, idle ms, deliveries]...].
func runXpending(c *ctx, args [][]byte, p any) {
	a := p.(*xpendingArgs)
	_, gr, ok := c.openGroupStream(args[1], args[2], func() Error { return errNoKeyOrGroup(args[1], args[2]) })
	if !ok {
		return
	}
	if a.summary {
		c.r.Array(4)
		c.r.Int(int64(gr.g.Pending))
		first, ok := gr.edgePending(c, false)
		if !ok {
			c.r.Null()
			c.r.Null()
			c.r.NullArray()
			return
		}
		last, _ := gr.edgePending(c, true)
		c.r.Bulk(formatStreamID(first))
		c.r.Bulk(formatStreamID(last))
		type row struct {
			name []byte
			n    uint64
		}
		var rows []row
		for _, name := range gr.consumerNames(c) {
			if cs := gr.consumer(c, name); cs != nil && cs.v.Pending > 0 {
				rows = append(rows, row{name, cs.v.Pending})
			}
		}
		c.r.Array(len(rows))
		for _, r := range rows {
			c.r.Array(2)
			c.r.Bulk(r.name)
			c.r.BulkString(fmt.Sprint(r.n))
		}
		return
	}
	var rows []sgPend
	count := a.count
	keep := func(pe sgPend) bool {
		if count <= 0 {
			return false
		}
		if a.minIdle != 0 && c.now-pe.DeliveryTime < a.minIdle {
			return true
		}
		rows = append(rows, pe)
		count--
		return count > 0
	}
	if a.consumer != nil {
		cs := gr.consumer(c, a.consumer)
		if cs == nil {
			c.r.Array(0)
			return
		}
		for _, id := range gr.consumerPending(c, cs.name, a.start, a.end, 0) {
			pe, _ := gr.pending(c, id)
			if !keep(sgPend{id, pe}) {
				break
			}
		}
	} else if count > 0 {
		gr.walkPending(c, a.start, a.end, keep)
	}
	c.r.Array(len(rows))
	for _, pe := range rows {
		c.r.Array(4)
		c.r.Bulk(formatStreamID(pe.id))
		c.r.Bulk(pe.Consumer)
		c.r.Int(max(c.now-pe.DeliveryTime, 0))
		c.r.Int(int64(pe.DeliveryCount))
	}
}

// --- XCLAIM ---

// xclaimArgs are XCLAIM's, or the first error its arguments give (err),
// answered after the NOGROUP check as xclaimCommand does.
type xclaimArgs struct {
	minIdle    int64
	ids        []streamID
	idle, time int64 // delivery time options; which one: hasIdle, hasTime (the last given wins)
	hasIdle    bool
	hasTime    bool
	retry      int64 // -1: not given
	force      bool
	justid     bool
	lastID     streamID
	err        error
}

func parseXclaim(args [][]byte, now int64) (any, error) {
	a := &xclaimArgs{retry: -1}
	n, ok := ParseInt(args[4])
	if !ok {
		a.err = errXclaimMinIdle
		return a, nil
	}
	a.minIdle = max(n, 0)
	j := 5
	for ; j < len(args); j++ {
		id, err := parseStrictID(args[j])
		if err != nil {
			break
		}
		a.ids = append(a.ids, id)
	}
	for ; j < len(args); j++ {
		more := len(args) - 1 - j
		opt := args[j]
		switch {
		case equalFold(opt, "force"):
			a.force = true
		case equalFold(opt, "justid"):
			a.justid = true
		case equalFold(opt, "idle") && more > 0:
			j++
			v, ok := ParseInt(args[j])
			if !ok {
				a.err = Error("ERR Invalid IDLE option argument for XCLAIM")
				return a, nil
			}
			a.idle, a.hasIdle, a.hasTime = v, true, false
		case equalFold(opt, "time") && more > 0:
			j++
			v, ok := ParseInt(args[j])
			if !ok {
				a.err = Error("ERR Invalid TIME option argument for XCLAIM")
				return a, nil
			}
			a.time, a.hasTime, a.hasIdle = v, true, false
		case equalFold(opt, "retrycount") && more > 0:
			j++
			v, ok := ParseInt(args[j])
			if !ok {
				a.err = Error("ERR Invalid RETRYCOUNT option argument for XCLAIM")
				return a, nil
			}
			a.retry = v
		case equalFold(opt, "lastid") && more > 0:
			j++
			id, err := parseStrictID(args[j])
			if err != nil {
				a.err = err
				return a, nil
			}
			a.lastID = id
		default:
			a.err = Error(fmt.Sprintf("ERR Unrecognized XCLAIM option '%s'", cstr(opt)))
			return a, nil
		}
	}
	return a, nil
}

// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME
// ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]: gives consumer the
// pending entries idle at least min-idle-time, as xclaimCommand does; an
// entry deleted from the stream leaves the PEL instead.
func runXclaim(c *ctx, args [][]byte, p any) {
	a := p.(*xclaimArgs)
	s, gr, ok := c.openGroupStream(args[1], args[2], func() Error { return errNoKeyOrGroup(args[1], args[2]) })
	if !ok {
		return
	}
	if a.err != nil {
		c.r.Error(errorText(a.err))
		return
	}
	now := c.now
	if a.lastID.Compare(gr.g.LastID) > 0 {
		gr.setLast(a.lastID, gr.g.EntriesRead)
	}
	delivery := now
	switch {
	case a.hasIdle:
		delivery = now - a.idle
	case a.hasTime:
		delivery = a.time
	}
	if delivery < 0 || delivery > now {
		delivery = now
	}
	var cs *sgConsumer
	type claimed struct {
		id     streamID
		fields [][]byte
	}
	var out []claimed
	for _, id := range a.ids {
		pe, was := gr.pending(c, id)
		fields, exists := s.entry(c, id)
		if was && !exists {
			gr.removePending(c, id, pe.Consumer)
			continue
		}
		if !was {
			if !a.force || !exists {
				continue
			}
			pe = keyspace.StreamPending{DeliveryCount: 1}
		} else if a.minIdle > 0 && now-pe.DeliveryTime < a.minIdle {
			continue
		}
		if cs == nil {
			cs = gr.lookupOrCreate(c, args[1], args[3])
		}
		prev := pe.Consumer
		pe.DeliveryTime = delivery
		switch {
		case a.retry >= 0:
			pe.DeliveryCount = uint64(a.retry)
		case !a.justid:
			pe.DeliveryCount++
		}
		gr.putPending(c, id, pe, prev, was, cs)
		out = append(out, claimed{id, fields})
	}
	gr.flush(c)
	c.r.Array(len(out))
	for _, e := range out {
		if a.justid {
			c.r.Bulk(formatStreamID(e.id))
		} else {
			c.replyEntry(e.id, e.fields)
		}
	}
}

// --- XAUTOCLAIM ---

type xautoclaimArgs struct {
	minIdle int64
	start   streamID
	count   int64
	justid  bool
}

// xautoclaimMaxCount is the most COUNT Redis takes (LONG_MAX /
// max(sizeof(streamID), attempts factor)).
const xautoclaimMaxCount = math.MaxInt64 / 16

// xautoclaimMemCount is about where Redis's allocation of COUNT deleted
// IDs (16 bytes each) fails on a 64-bit machine (it depends on the
// machine; this is the redis-server 7.0.15 of the tests').
const xautoclaimMemCount = 6_000_000_000_000

func parseXautoclaim(args [][]byte, now int64) (any, error) {
	a := &xautoclaimArgs{count: 100}
	n, ok := ParseInt(args[4])
	if !ok {
		return nil, errXautoMinIdle
	}
	a.minIdle = max(n, 0)
	start, ex, err := parseIntervalID(args[5], 0)
	if err != nil {
		return nil, err
	}
	if ex {
		if start, ok = start.Next(); !ok {
			return nil, errRangeStart
		}
	}
	a.start = start
	for j := 6; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case equalFold(args[j], "count") && more > 0:
			v, ok := ParseInt(args[j+1])
			if !ok || v < 1 || v > xautoclaimMaxCount {
				return nil, errAutoclaimCnt
			}
			a.count = v
			j++
		case equalFold(args[j], "justid"):
			a.justid = true
		default:
			return nil, ErrSyntax
		}
	}
	return a, nil
}

// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]:
// [next start, claimed entries (or IDs), IDs deleted from the stream and
// so dropped from the PEL], as xautoclaimCommand does: it looks at no
// more than 10*COUNT pending entries, and COUNT bounds the claimed and
// deleted ones together.
func runXautoclaim(c *ctx, args [][]byte, p any) {
	a := p.(*xautoclaimArgs)
	s, gr, ok := c.openGroupStream(args[1], args[2], func() Error { return errNoKeyOrGroup(args[1], args[2]) })
	if !ok {
		return
	}
	if a.count > xautoclaimMemCount {
		c.r.Error(string(errAutoclaimMem))
		return
	}
	attempts := a.count * 10
	var cands []sgPend
	gr.walkPending(c, a.start, keyspace.MaxStreamID, func(pe sgPend) bool {
		cands = append(cands, pe)
		return int64(len(cands)) <= attempts
	})
	now := c.now
	count := a.count
	var cs *sgConsumer
	var deleted []streamID
	type claimed struct {
		id     streamID
		fields [][]byte
	}
	var out []claimed
	i := 0
	for ; attempts > 0 && count > 0 && i < len(cands); i++ {
		attempts--
		pe := cands[i]
		fields, exists := s.entry(c, pe.id)
		if !exists {
			gr.removePending(c, pe.id, pe.Consumer)
			deleted = append(deleted, pe.id)
			count--
			continue
		}
		if a.minIdle > 0 && now-pe.DeliveryTime < a.minIdle {
			continue
		}
		if cs == nil {
			cs = gr.lookupOrCreate(c, args[1], args[3])
		}
		prev := pe.Consumer
		np := pe.StreamPending
		np.DeliveryTime = now
		if !a.justid {
			np.DeliveryCount++
		}
		gr.putPending(c, pe.id, np, prev, true, cs)
		out = append(out, claimed{pe.id, fields})
		count--
	}
	var next streamID
	if i < len(cands) {
		next = cands[i].id
	}
	gr.flush(c)
	c.r.Array(3)
	c.r.Bulk(formatStreamID(next))
	c.r.Array(len(out))
	for _, e := range out {
		if a.justid {
			c.r.Bulk(formatStreamID(e.id))
		} else {
			c.replyEntry(e.id, e.fields)
		}
	}
	c.r.Array(len(deleted))
	for _, id := range deleted {
		c.r.Bulk(formatStreamID(id))
	}
}

// --- XINFO ---

// openXinfo opens the key of an XINFO subcommand: "no such key" or
// WRONGTYPE come first, as xinfoCommand looks the key up before the rest.
func (c *ctx) openXinfo(key []byte) (*stream, bool) {
	s, wrong := c.openStream(key)
	switch {
	case wrong:
		c.r.Error(errWrongType)
		return nil, false
	case !s.exists():
		c.r.Error(string(ErrNoSuchKey))
		return nil, false
	}
	return s, true
}

// XINFO CONSUMERS key group: [{name, pending, idle}...], idle from the
// consumer's seen time.
func runXinfoConsumers(c *ctx, args [][]byte, p any) {
	s, ok := c.openXinfo(args[2])
	if !ok {
		return
	}
	gr, ok := s.openGroup(c, args[3])
	if !ok {
		c.r.Error(string(errNoGroup(args[3], args[2])))
		return
	}
	names := gr.consumerNames(c)
	c.r.Array(len(names))
	for _, n := range names {
		cs := gr.consumer(c, n)
		if cs == nil {
			cs = &sgConsumer{name: n}
		}
		c.r.Map(3)
		c.r.BulkString("name")
		c.r.Bulk(n)
		c.r.BulkString("pending")
		c.r.Int(int64(cs.v.Pending))
		c.r.BulkString("idle")
		c.r.Int(max(c.now-cs.v.SeenTime, 0))
	}
}

// XINFO GROUPS key: [{name, consumers, pending, last-delivered-id,
// entries-read, lag}...].
func runXinfoGroups(c *ctx, args [][]byte, p any) {
	s, ok := c.openXinfo(args[2])
	if !ok {
		return
	}
	names := s.groupNames(c)
	c.r.Array(len(names))
	for _, n := range names {
		gr, _ := s.openGroup(c, n)
		if gr == nil {
			gr = &sgGroup{name: n}
		}
		c.r.Map(6)
		c.r.BulkString("name")
		c.r.Bulk(n)
		c.r.BulkString("consumers")
		c.r.Int(int64(gr.g.Consumers))
		c.r.BulkString("pending")
		c.r.Int(int64(gr.g.Pending))
		c.r.BulkString("last-delivered-id")
		c.r.Bulk(formatStreamID(gr.g.LastID))
		replyEntriesReadAndLag(c, s, gr.g)
	}
}

// replyEntriesReadAndLag answers a group's entries-read and lag fields.
func replyEntriesReadAndLag(c *ctx, s *stream, g keyspace.StreamGroup) {
	c.r.BulkString("entries-read")
	if g.EntriesRead != sgInvalidRead {
		c.r.Int(g.EntriesRead)
	} else {
		c.r.Null()
	}
	c.r.BulkString("lag")
	if lag, ok := s.lag(g); ok {
		c.r.Int(lag)
	} else {
		c.r.Null()
	}
}

// xinfoStreamArgs are XINFO STREAM's options, or the error they give
// (answered after the key checks).
type xinfoStreamArgs struct {
	full  bool
	count int64
	err   error
}

func parseXinfoStream(args [][]byte, now int64) (any, error) {
	a := &xinfoStreamArgs{count: 10}
	switch len(args) {
	case 3:
	case 4, 6:
		if !equalFold(args[3], "full") {
			a.err = errSubSyntax(args)
			break
		}
		a.full = true
		if len(args) == 6 {
			if !equalFold(args[4], "count") {
				a.err = errSubSyntax(args)
				break
			}
			n, ok := ParseInt(args[5])
			if !ok {
				a.err = ErrNotInteger
				break
			}
			if n < 0 {
				n = 10
			}
			a.count = n
		}
	default:
		a.err = errSubSyntax(args)
	}
	return a, nil
}

// XINFO STREAM key [FULL [COUNT n]], as xinfoReplyWithStreamInfo
// answers it. radix-tree-keys is the number of nodes; radix-tree-nodes
// is raxNodes' estimate of Redis's rax, which walkerd does not have.
func runXinfoStream(c *ctx, args [][]byte, p any) {
	a := p.(*xinfoStreamArgs)
	s, ok := c.openXinfo(args[2])
	if !ok {
		return
	}
	if a.err != nil {
		c.r.Error(errorText(a.err))
		return
	}
	var masters [][]byte
	s.nodes(c, func(n streamNode) bool {
		masters = append(masters, keyspace.AppendStreamID(nil, n.master))
		return true
	})
	if a.full {
		c.r.Map(9)
	} else {
		c.r.Map(10)
	}
	c.r.BulkString("length")
	c.r.Int(s.length())
	c.r.BulkString("radix-tree-keys")
	c.r.Int(int64(len(masters)))
	c.r.BulkString("radix-tree-nodes")
	c.r.Int(raxNodes(masters))
	c.r.BulkString("last-generated-id")
	c.r.Bulk(formatStreamID(s.meta.LastID))
	c.r.BulkString("max-deleted-entry-id")
	c.r.Bulk(formatStreamID(s.meta.MaxDeletedID))
	c.r.BulkString("entries-added")
	c.r.Int(int64(s.meta.EntriesAdded))
	c.r.BulkString("recorded-first-entry-id")
	c.r.Bulk(formatStreamID(s.meta.FirstID))
	if !a.full {
		c.r.BulkString("groups")
		c.r.Int(int64(s.groupCount(c)))
		for _, last := range []bool{false, true} {
			if last {
				c.r.BulkString("last-entry")
			} else {
				c.r.BulkString("first-entry")
			}
			id, ok := s.edge(c, last)
			fields, ok2 := s.entry(c, id)
			if ok && ok2 {
				c.replyEntry(id, fields)
			} else {
				c.r.Null()
			}
		}
		return
	}
	count := int(min(a.count, math.MaxInt32))
	c.r.BulkString("entries")
	c.streamReplyRange(s, streamID{}, keyspace.MaxStreamID, int64(count), false)
	c.r.BulkString("groups")
	names := s.groupNames(c)
	c.r.Array(len(names))
	for _, n := range names {
		gr, _ := s.openGroup(c, n)
		if gr == nil {
			gr = &sgGroup{s: s, name: n, cons: map[string]*sgConsumer{}}
		}
		c.r.Map(7)
		c.r.BulkString("name")
		c.r.Bulk(n)
		c.r.BulkString("last-delivered-id")
		c.r.Bulk(formatStreamID(gr.g.LastID))
		replyEntriesReadAndLag(c, s, gr.g)
		c.r.BulkString("pel-count")
		c.r.Int(int64(gr.g.Pending))
		c.r.BulkString("pending")
		var pel []sgPend
		gr.walkPending(c, streamID{}, keyspace.MaxStreamID, func(pe sgPend) bool {
			pel = append(pel, pe)
			return count == 0 || len(pel) < count
		})
		c.r.Array(len(pel))
		for _, pe := range pel {
			c.r.Array(4)
			c.r.Bulk(formatStreamID(pe.id))
			c.r.Bulk(pe.Consumer)
			c.r.Int(pe.DeliveryTime)
			c.r.Int(int64(pe.DeliveryCount))
		}
		c.r.BulkString("consumers")
		cnames := gr.consumerNames(c)
		c.r.Array(len(cnames))
		for _, cn := range cnames {
			cs := gr.consumer(c, cn)
			if cs == nil {
				cs = &sgConsumer{name: cn}
			}
			c.r.Map(4)
			c.r.BulkString("name")
			c.r.Bulk(cn)
			c.r.BulkString("seen-time")
			c.r.Int(cs.v.SeenTime)
			c.r.BulkString("pel-count")
			c.r.Int(int64(cs.v.Pending))
			c.r.BulkString("pending")
			ids := gr.consumerPending(c, cn, streamID{}, keyspace.MaxStreamID, count)
			c.r.Array(len(ids))
			for _, id := range ids {
				pe, _ := gr.pending(c, id)
				c.r.Array(3)
				c.r.Bulk(formatStreamID(id))
				c.r.Int(pe.DeliveryTime)
				c.r.Int(int64(pe.DeliveryCount))
			}
		}
	}
}

// woken is the check of a woken XREADGROUP attempt (wokenServer,
// cmd_blocking.go), as Redis 7.0's blocked.c makes it before it serves a
// client blocked on a group: when a stream key is gone, the client is
// unblocked with "UNBLOCKED the stream key no longer exists"; when the
// group is, with "NOGROUP the consumer group this client was blocked on
// no longer exists". XREAD (no group) goes on.
func (a *xreadArgs) woken(c *ctx) bool {
	if a.group == nil {
		return true
	}
	for _, k := range a.keys {
		s, wrong := c.openStream(k)
		if wrong || !s.exists() {
			c.r.Error("UNBLOCKED the stream key no longer exists")
			return false
		}
		if !s.has(c, keyspace.StreamGroupElem(a.group)) {
			c.r.Error("NOGROUP the consumer group this client was blocked on no longer exists")
			return false
		}
	}
	return true
}
