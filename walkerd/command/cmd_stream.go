package command

import (
	"math"
	"slices"
	"time"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Stream core commands (t_stream.c of Redis 7.0.15): XADD, XRANGE,
// XREVRANGE, XLEN, XDEL, XTRIM, XSETID and XREAD. They read and change
// streams through stream.go; the consumer group commands live in
// cmd_streamgroup.go and share this file's trimming (streamTrim) and
// XREAD parsing (parseXreadArgs).
//
// Trimming removes whole nodes where Redis frees whole listpacks, and
// marks entries deleted inside the first node that cannot go whole, as
// streamTrim does: with "~" only whole nodes go, so the nodes that
// appendEntry shapes (stream-node-max-entries, fixed at 100) decide what
// remains, as on Redis for values that keep a node under 4096 bytes.

func init() {
	x := func(name string, arity int, flags Flags, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatStream, FirstKey: 1, LastKey: 1, Step: 1,
			Group: "stream", Since: since, parse: parse, run: run}
	}
	register(
		x("xadd", -5, FlagWrite|FlagDenyOOM|FlagFast, "5.0.0", parseXadd, runXadd),
		x("xrange", -4, FlagReadonly, "5.0.0", parseXrange, runXrange),
		x("xrevrange", -4, FlagReadonly, "5.0.0", parseXrange, runXrange),
		x("xlen", 2, FlagReadonly|FlagFast, "5.0.0", nil, runXlen),
		x("xdel", -3, FlagWrite|FlagFast, "5.0.0", parseXdel, runXdel),
		x("xtrim", -4, FlagWrite, "5.0.0", parseXtrim, runXtrim),
		x("xsetid", -3, FlagWrite|FlagDenyOOM|FlagFast, "5.0.0", parseXsetid, runXsetid),
		&Spec{Name: "xread", Arity: -4, Flags: FlagReadonly | FlagBlocking | FlagMovableKeys, Cats: CatStream,
			Group: "stream", Since: "5.0.0", parse: parseXread, run: runXread},
	)
}

// Stream errors, worded as t_stream.c words them.
const (
	errXaddTop       Error = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
	errXaddZero      Error = "ERR The ID specified in XADD must be greater than 0-0"
	errXaddExhausted Error = "ERR The stream has exhausted the last possible ID, unable to add more items"
	errTrimBoth      Error = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
	errTrimMaxlen    Error = "ERR The MAXLEN argument must be >= 0."
	errTrimLimitNeg  Error = "ERR The LIMIT argument must be >= 0."
	errTrimLimitNone Error = "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
	errTrimNone      Error = "ERR syntax error, XTRIM must be called with a trimming strategy"
	errTrimLimitNoAp Error = "ERR syntax error, LIMIT cannot be used without the special ~ option"
	errRangeStart    Error = "ERR invalid start ID for the interval"
	errRangeEnd      Error = "ERR invalid end ID for the interval"
	errXreadBalance  Error = "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
	errXreadGT       Error = "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."
	errXreadDollar   Error = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."
	errXreadGroupOpt Error = "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
	errXreadNoackOpt Error = "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
	errXreadNoGroup  Error = "ERR Missing GROUP option for XREADGROUP"
	errXsetidTop     Error = "ERR The ID specified in XSETID is smaller than the target stream top item"
	errXsetidAdded   Error = "ERR The entries_added specified in XSETID is smaller than the target stream length"
	errXsetidArgDel  Error = "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
	errXsetidAddNeg  Error = "ERR entries_added must be positive"
)

// parseStrictID reads an ID that may not be "-" or "+"
// (streamParseStrictIDOrReply), a missing sequence read as 0.
func parseStrictID(arg []byte) (streamID, error) {
	id, _, err := parseStreamID(arg, 0, true, false)
	return id, err
}

// --- trimming ---

// Trim strategies (t_stream.c's TRIM_STRATEGY_*).
const (
	trimNone = iota
	trimMaxlen
	trimMinid
)

// trimArgs are the trimming options of XADD and XTRIM, as
// streamParseAddOrTrimArgsOrReply reads them (streamAddTrimArgs).
type trimArgs struct {
	strategy int
	approx   bool     // "~": whole nodes only
	maxlen   int64    // MAXLEN threshold
	minid    streamID // MINID threshold
	limit    int64    // most entries to remove; 0: no limit
}

// xaddArgs are XADD's parsed arguments.
type xaddArgs struct {
	trimArgs
	noMkstream bool
	idGiven    bool // an explicit ID (else "*")
	seqGiven   bool // the explicit ID has its sequence (else "<ms>-*")
	id         streamID
	fields     int // index of the first field
}

// parseAddOrTrim reads XADD's options (xadd) or XTRIM's, as
// streamParseAddOrTrimArgsOrReply does, and returns the index where the
// ID ("*" or explicit) stands for XADD (len(args) when none does).
func parseAddOrTrim(args [][]byte, xadd bool, a *xaddArgs) (int, error) {
	limitGiven := false
	i := 2
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		opt := args[i]
		switch {
		case xadd && len(cstr(opt)) == 1 && opt[0] == '*':
			return a.finishTrim(i, limitGiven)
		case equalFold(opt, "maxlen") && more > 0, equalFold(opt, "minid") && more > 0:
			if a.strategy != trimNone {
				return 0, errTrimBoth
			}
			a.approx = false
			next := cstr(args[i+1]) // C's next[1] == '\0'
			if more >= 2 && len(next) == 1 && (next[0] == '~' || next[0] == '=') {
				a.approx = next[0] == '~'
				i++
			}
			if equalFold(opt, "maxlen") {
				n, ok := ParseInt(args[i+1])
				if !ok {
					return 0, ErrNotInteger
				}
				if n < 0 {
					return 0, errTrimMaxlen
				}
				a.maxlen, a.strategy = n, trimMaxlen
			} else {
				id, err := parseStrictID(args[i+1])
				if err != nil {
					return 0, err
				}
				a.minid, a.strategy = id, trimMinid
			}
			i++
		case equalFold(opt, "limit") && more > 0:
			n, ok := ParseInt(args[i+1])
			if !ok {
				return 0, ErrNotInteger
			}
			if n < 0 {
				return 0, errTrimLimitNeg
			}
			a.limit, limitGiven = n, true
			i++
		case xadd && equalFold(opt, "nomkstream"):
			a.noMkstream = true
		case xadd:
			id, seqGiven, err := parseStreamID(opt, 0, true, true)
			if err != nil {
				return 0, err
			}
			a.id, a.seqGiven, a.idGiven = id, seqGiven, true
			return a.finishTrim(i, limitGiven)
		default:
			return 0, ErrSyntax
		}
	}
	if !xadd && a.strategy == trimNone {
		if a.limit != 0 {
			return 0, errTrimLimitNone
		}
		return 0, errTrimNone
	}
	return a.finishTrim(i, limitGiven)
}

// finishTrim makes the checks that follow the option loop and sets the
// default LIMIT: 100 nodes' worth for "~", none for an exact trim.
func (a *xaddArgs) finishTrim(i int, limitGiven bool) (int, error) {
	if a.limit != 0 && a.strategy == trimNone {
		return 0, errTrimLimitNone
	}
	if limitGiven {
		if !a.approx {
			return 0, errTrimLimitNoAp
		}
	} else if a.approx {
		a.limit = min(100*streamNodeMaxEntries, 10000)
	} else {
		a.limit = 0
	}
	return i, nil
}

// streamTrim trims s as t_stream.c's streamTrim does and returns how many
// entries it removed: from the first node on, every node whose removal
// leaves at least maxlen entries (MAXLEN) or whose last ID, deleted
// entries included, is below minid (MINID) goes whole, until LIMIT would
// be passed; then, unless approx, the entries of the next node are
// deleted one by one while the stream is longer than maxlen (or they are
// below minid). The first ID follows. The caller saves s.
func (c *ctx) streamTrim(s *stream, t *trimArgs) int64 {
	if t.strategy == trimNone {
		return 0
	}
	var deleted int64
	// from bounds every seek below the IDs already trimmed: the engine
	// keeps deleted keys until it merges, and a walk from the stream's
	// start would step over each of them.
	var from streamID
	for {
		if t.strategy == trimMaxlen && s.length() <= t.maxlen {
			break
		}
		n, found := s.firstNodeFrom(c, from)
		if !found || c.fatal != nil {
			break
		}
		entries := int64(n.Live)
		if t.limit != 0 && deleted+entries > t.limit {
			break
		}
		var whole bool
		if t.strategy == trimMaxlen {
			whole = s.length()-entries >= t.maxlen
		} else {
			whole = n.Last.Compare(t.minid) < 0
		}
		if whole {
			var ids []streamID
			s.walk(c, n.master, n.Last, false, func(id streamID, _ [][]byte) bool {
				ids = append(ids, id)
				return true
			})
			for _, id := range ids {
				s.remove(c, keyspace.StreamEntryElem(id))
			}
			s.remove(c, keyspace.StreamNodeElem(n.master))
			s.add(-int64(len(ids)))
			deleted += int64(len(ids))
			next, ok := n.Last.Next()
			if !ok {
				break
			}
			from = next
			continue
		}
		if t.approx {
			break
		}
		var ids []streamID
		left := s.length()
		s.walk(c, n.master, n.Last, false, func(id streamID, _ [][]byte) bool {
			if t.strategy == trimMaxlen && left <= t.maxlen || t.strategy == trimMinid && id.Compare(t.minid) >= 0 {
				return false
			}
			ids = append(ids, id)
			left--
			return true
		})
		for _, id := range ids {
			s.remove(c, keyspace.StreamEntryElem(id))
		}
		if len(ids) > 0 {
			if next, ok := ids[len(ids)-1].Next(); ok {
				from = next
			}
			// The node stays, even with no live entry left (MINID past
			// live entries below a deleted last one), as Redis's listpack
			// stays in the radix tree.
			n.Live -= uint64(len(ids))
			n.Deleted += uint64(len(ids))
			s.putNode(c, n)
			s.add(-int64(len(ids)))
			deleted += int64(len(ids))
		}
		break
	}
	if deleted > 0 {
		s.refreshFirstIDFrom(c, from)
	}
	return deleted
}

// firstNodeFrom is the first node whose master ID is at least from.
func (s *stream) firstNodeFrom(c *ctx, from streamID) (n streamNode, ok bool) {
	it := s.elems(c, keyspace.StreamNodeElem(from), []byte{keyspace.StreamNodeFamily + 1}, false)
	defer it.close()
	if !it.Valid() {
		return streamNode{}, false
	}
	return s.decodeNode(c, it.Key()[len(s.prefix):], it.Value())
}

// refreshFirstIDFrom sets the first ID as refreshFirstID does, knowing
// that no entry lies below from.
func (s *stream) refreshFirstIDFrom(c *ctx, from streamID) {
	s.meta.FirstID = streamID{}
	if s.length() == 0 {
		return
	}
	s.walk(c, from, keyspace.MaxStreamID, false, func(id streamID, _ [][]byte) bool {
		s.meta.FirstID = id
		return false
	})
}

// --- XADD ---

func parseXadd(args [][]byte, now int64) (any, error) {
	a := &xaddArgs{}
	i, err := parseAddOrTrim(args, true, a)
	if err != nil {
		return nil, err
	}
	a.fields = i + 1
	if n := len(args) - a.fields; n < 2 || n%2 == 1 {
		return nil, ErrArity("xadd")
	}
	if a.idGiven && a.seqGiven && a.id.IsZero() {
		return nil, errXaddZero
	}
	return a, nil
}

// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]]
// *|id field value [field value ...]: the new entry's ID, or a null when
// NOMKSTREAM finds no key. Events "xadd", then "xtrim" when the trim
// removed entries.
func runXadd(c *ctx, args [][]byte, p any) {
	a := p.(*xaddArgs)
	key := args[1]
	s, wrong := c.openStream(key)
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	if !s.exists() && a.noMkstream {
		c.r.Null()
		return
	}
	if s.meta.LastID == keyspace.MaxStreamID {
		c.r.Error(string(errXaddExhausted))
		return
	}
	id, err := nextStreamID(s.meta.LastID, a.idGiven, a.seqGiven, a.id, c.now)
	if err != nil {
		c.r.Error(string(err.(Error)))
		return
	}
	s.appendEntry(c, id, args[a.fields:])
	trimmed := c.streamTrim(s, &a.trimArgs)
	s.save(c)
	c.touch(key, "xadd")
	if trimmed > 0 {
		c.touch(key, "xtrim")
	}
	c.r.Bulk(formatStreamID(id))
}

// nextStreamID is the ID XADD gives a new entry after last, as
// streamAppendItem makes it: an explicit ID as given; "<ms>-*" the next
// sequence of last when ms is last's, else ms-0; "*" now's ms with
// sequence 0, or when the clock is not past last's ms, last's next ID
// (streamNextID). It fails when the ID is not above last.
func nextStreamID(last streamID, idGiven, seqGiven bool, given streamID, now int64) (streamID, error) {
	var id streamID
	switch {
	case idGiven && seqGiven:
		id = given
	case idGiven:
		if last.Ms == given.Ms {
			if last.Seq == math.MaxUint64 {
				return id, errXaddTop
			}
			id = streamID{Ms: last.Ms, Seq: last.Seq + 1}
		} else {
			id = streamID{Ms: given.Ms}
		}
	default:
		ms := uint64(max(now, 0))
		if ms > last.Ms {
			id = streamID{Ms: ms}
		} else {
			next, ok := last.Next()
			if !ok {
				return id, errXaddTop
			}
			id = next
		}
	}
	if id.Compare(last) <= 0 {
		return id, errXaddTop
	}
	return id, nil
}

// --- XTRIM ---

func parseXtrim(args [][]byte, now int64) (any, error) {
	a := &xaddArgs{}
	if _, err := parseAddOrTrim(args, false, a); err != nil {
		return nil, err
	}
	return &a.trimArgs, nil
}

// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]: the number of
// entries removed; 0 for a missing key.
func runXtrim(c *ctx, args [][]byte, p any) {
	s, wrong := c.openStream(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	if !s.exists() {
		c.r.Int(0)
		return
	}
	n := c.streamTrim(s, p.(*trimArgs))
	if n > 0 {
		s.save(c)
		c.touch(args[1], "xtrim")
	}
	c.r.Int(n)
}

// --- XRANGE, XREVRANGE ---

type xrangeArgs struct {
	start, end streamID
	count      int64 // -1: all
}

// parseIntervalID reads a range bound (streamParseIntervalIDOrReply): "("
// and a strict ID excludes it; else an ID, "-" or "+".
func parseIntervalID(arg []byte, missingSeq uint64) (id streamID, exclusive bool, err error) {
	if len(arg) > 1 && arg[0] == '(' {
		id, _, err = parseStreamID(arg[1:], missingSeq, true, false)
		return id, true, err
	}
	id, _, err = parseStreamID(arg, missingSeq, false, false)
	return id, false, err
}

func parseXrange(args [][]byte, now int64) (any, error) {
	startArg, endArg := args[2], args[3]
	if isName(args[0], "xrevrange") {
		startArg, endArg = endArg, startArg
	}
	a := &xrangeArgs{count: -1}
	start, ex, err := parseIntervalID(startArg, 0)
	if err != nil {
		return nil, err
	}
	if ex {
		var ok bool
		if start, ok = start.Next(); !ok {
			return nil, errRangeStart
		}
	}
	end, ex, err := parseIntervalID(endArg, math.MaxUint64)
	if err != nil {
		return nil, err
	}
	if ex {
		var ok bool
		if end, ok = end.Prev(); !ok {
			return nil, errRangeEnd
		}
	}
	a.start, a.end = start, end
	for j := 4; j < len(args); j++ {
		if !equalFold(args[j], "count") || j+1 >= len(args) {
			return nil, ErrSyntax
		}
		n, ok := ParseInt(args[j+1])
		if !ok {
			return nil, ErrNotInteger
		}
		a.count = max(n, 0)
		j++
	}
	return a, nil
}

// XRANGE key start end [COUNT count], XREVRANGE key end start [COUNT
// count]: the entries in the range; an empty array for a missing key, a
// null array for COUNT 0 (or negative) on a stream, as Redis 7.0 answers.
func runXrange(c *ctx, args [][]byte, p any) {
	a := p.(*xrangeArgs)
	s, wrong := c.openStream(args[1])
	switch {
	case wrong:
		c.r.Error(errWrongType)
	case !s.exists():
		c.r.Array(0)
	case a.count == 0:
		c.r.NullArray()
	default:
		c.streamReplyRange(s, a.start, a.end, a.count, isName(args[0], "xrevrange"))
	}
}

// streamReplyRange answers the entries of s in [start, end], in order or
// reversed, at most count of them (-1 or 0: all), as an array.
func (c *ctx) streamReplyRange(s *stream, start, end streamID, count int64, rev bool) int {
	type ent struct {
		id     streamID
		fields [][]byte
	}
	var out []ent
	s.walk(c, start, end, rev, func(id streamID, fields [][]byte) bool {
		out = append(out, ent{id, fields})
		return count <= 0 || int64(len(out)) < count
	})
	c.r.Array(len(out))
	for _, e := range out {
		c.replyEntry(e.id, e.fields)
	}
	return len(out)
}

// --- XLEN ---

func runXlen(c *ctx, args [][]byte, p any) {
	s, wrong := c.openStream(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	c.r.Int(s.length())
}

// --- XDEL ---

// parseXdel reads the IDs; an invalid one is answered only after the key
// (a missing key answers 0 and a wrong one WRONGTYPE first, as in Redis).
func parseXdel(args [][]byte, now int64) (any, error) {
	ids := make([]streamID, 0, len(args)-2)
	for _, a := range args[2:] {
		id, err := parseStrictID(a)
		if err != nil {
			return err, nil
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// XDEL key id [id ...]: the number of entries deleted. The greatest ID
// deleted raises max-deleted-entry-id; deleting the first entry moves the
// first ID.
func runXdel(c *ctx, args [][]byte, p any) {
	s, wrong := c.openStream(args[1])
	switch {
	case wrong:
		c.r.Error(errWrongType)
		return
	case !s.exists():
		c.r.Int(0)
		return
	}
	if err, bad := p.(error); bad {
		c.r.Error(err.Error())
		return
	}
	deleted, first := 0, false
	for _, id := range p.([]streamID) {
		if !s.deleteEntry(c, id) {
			continue
		}
		if id == s.meta.FirstID {
			first = true
		}
		if id.Compare(s.meta.MaxDeletedID) > 0 {
			s.meta.MaxDeletedID = id
		}
		deleted++
	}
	if deleted > 0 {
		if s.length() == 0 {
			s.meta.FirstID = streamID{}
		} else if first {
			s.refreshFirstIDFrom(c, s.meta.FirstID)
		}
		s.save(c)
		c.touch(args[1], "xdel")
	}
	c.r.Int(int64(deleted))
}

// --- XSETID ---

type xsetidArgs struct {
	id           streamID
	entriesAdded int64 // -1: not given
	maxDeleted   streamID
}

func parseXsetid(args [][]byte, now int64) (any, error) {
	id, err := parseStrictID(args[2])
	if err != nil {
		return nil, err
	}
	a := &xsetidArgs{id: id, entriesAdded: -1}
	for i := 3; i < len(args); i += 2 {
		more := len(args) - 1 - i
		switch {
		case equalFold(args[i], "entriesadded") && more > 0:
			n, ok := ParseInt(args[i+1])
			if !ok {
				return nil, ErrNotInteger
			}
			if n < 0 {
				return nil, errXsetidAddNeg
			}
			a.entriesAdded = n
		case equalFold(args[i], "maxdeletedid") && more > 0:
			md, err := parseStrictID(args[i+1])
			if err != nil {
				return nil, err
			}
			if id.Compare(md) < 0 {
				return nil, errXsetidArgDel
			}
			a.maxDeleted = md
		default:
			return nil, ErrSyntax
		}
	}
	return a, nil
}

// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID
// max-deleted-id]: sets the stream's last ID (and counters), as
// xsetidCommand checks them. Redis 7.0.15 does not check the ID against
// the stream's current max-deleted-entry-id (7.2 does): neither does
// walkerd. Event "xsetid".
func runXsetid(c *ctx, args [][]byte, p any) {
	a := p.(*xsetidArgs)
	s, wrong := c.openStream(args[1])
	switch {
	case wrong:
		c.r.Error(errWrongType)
		return
	case !s.exists():
		c.r.Error(string(ErrNoSuchKey))
		return
	}
	if s.length() > 0 {
		if last, ok := s.edge(c, true); ok && a.id.Compare(last) < 0 {
			c.r.Error(string(errXsetidTop))
			return
		}
		if a.entriesAdded != -1 && s.length() > a.entriesAdded {
			c.r.Error(string(errXsetidAdded))
			return
		}
	}
	s.meta.LastID = a.id
	if a.entriesAdded != -1 {
		s.meta.EntriesAdded = uint64(a.entriesAdded)
	}
	if !a.maxDeleted.IsZero() {
		s.meta.MaxDeletedID = a.maxDeleted
	}
	s.setExtra(nil) // mark dirty: save writes the new metadata
	s.save(c)
	c.touch(args[1], "xsetid")
	c.r.Status("OK")
}

// --- XREAD ---

// xreadArgs are XREAD's and XREADGROUP's parsed arguments (xreadCommand's
// option loop). For each stream key, ids holds its ID, special '$' or '>'
// for those IDs (ids then hold 0-0 and the greatest ID, as Redis marks
// them), and idErr the error its ID gives: Redis answers it only when it
// reaches that key, after checking the keys before it, so run answers it
// in key order with the WRONGTYPE (and NOGROUP) errors.
type xreadArgs struct {
	count     int64 // most entries per stream; 0: no limit
	block     bool  // BLOCK given
	timeout   time.Duration
	group     []byte // XREADGROUP: GROUP group consumer
	consumer  []byte
	noack     bool
	keys      [][]byte
	ids       []streamID
	special   []byte
	idErr     []error
	anyBadIDs bool
}

// parseXreadArgs reads XREAD's arguments (group false) or XREADGROUP's
// (group true) as xreadCommand does, up to the IDs, whose errors it
// records per key (idErr).
func parseXreadArgs(args [][]byte, group bool) (*xreadArgs, error) {
	a := &xreadArgs{}
	streamsArg := 0
	for i := 1; i < len(args); i++ {
		more := len(args) - i - 1
		o := args[i]
		switch {
		case equalFold(o, "block") && more > 0:
			i++
			t, ok := ParseInt(args[i])
			if !ok {
				return nil, Error("ERR timeout is not an integer or out of range")
			}
			if t < 0 {
				return nil, Error("ERR timeout is negative")
			}
			a.block = true
			if t <= math.MaxInt64/int64(time.Millisecond) {
				a.timeout = time.Duration(t) * time.Millisecond
			} // else: for ever
		case equalFold(o, "count") && more > 0:
			i++
			n, ok := ParseInt(args[i])
			if !ok {
				return nil, ErrNotInteger
			}
			a.count = max(n, 0)
		case equalFold(o, "streams") && more > 0:
			streamsArg = i + 1
		case equalFold(o, "group") && more >= 2:
			if !group {
				return nil, errXreadGroupOpt
			}
			a.group, a.consumer = args[i+1], args[i+2]
			i += 2
		case equalFold(o, "noack"):
			if !group {
				return nil, errXreadNoackOpt
			}
			a.noack = true
		default:
			return nil, ErrSyntax
		}
		if streamsArg != 0 {
			break
		}
	}
	if streamsArg == 0 {
		return nil, ErrSyntax
	}
	n := len(args) - streamsArg
	if n%2 != 0 {
		return nil, errXreadBalance
	}
	if group && a.group == nil {
		return nil, errXreadNoGroup
	}
	n /= 2
	a.keys = args[streamsArg : streamsArg+n]
	a.ids = make([]streamID, n)
	a.special = make([]byte, n)
	a.idErr = make([]error, n)
	for i, arg := range args[streamsArg+n:] {
		switch string(cstr(arg)) { // strcmp
		case "$":
			if group {
				a.idErr[i] = errXreadDollar
			}
			a.special[i] = '$'
		case ">":
			if !group {
				a.idErr[i] = errXreadGT
			}
			a.special[i] = '>'
			a.ids[i] = keyspace.MaxStreamID
		default:
			a.ids[i], a.idErr[i] = parseStrictID(arg)
		}
		if a.idErr[i] != nil {
			a.anyBadIDs = true
		}
	}
	return a, nil
}

// parseXread gives XREAD's arguments, in a blockArgs when BLOCK is given
// and every ID is valid (a bad ID fails at once, never blocks).
func parseXread(args [][]byte, now int64) (any, error) {
	a, err := parseXreadArgs(args, false)
	if err != nil {
		return nil, err
	}
	if a.block && !a.anyBadIDs {
		return &blockArgs{keys: a.keys, timeout: a.timeout, pop: a}, nil
	}
	return a, nil
}

// resolveDollar replaces each "$" ID by the stream's last ID now (0-0
// for a missing key or one of another type), as xreadCommand does
// before it blocks: a blocked XREAD then waits for entries past it.
func (a *xreadArgs) resolveDollar(c *ctx) {
	for i, k := range a.keys {
		if a.special[i] != '$' {
			continue
		}
		a.special[i] = 0
		a.ids[i] = streamID{}
		if s, wrong := c.openStream(k); !wrong && s.exists() {
			a.ids[i] = s.meta.LastID
		}
	}
}

// XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]: for
// each stream with entries past its ID, [key, entries] (a map in RESP3);
// a null array when none has any. In the log it never blocks: a blocked
// XREAD is attempts (blockArgs) the server repeats.
func runXread(c *ctx, args [][]byte, p any) {
	if b, ok := p.(*blockArgs); ok {
		p = b.pop
	}
	a := p.(*xreadArgs)
	streams := make([]*stream, len(a.keys))
	for i, k := range a.keys {
		s, wrong := c.openStream(k)
		if wrong {
			c.r.Error(errWrongType)
			return
		}
		if a.idErr[i] != nil {
			c.r.Error(a.idErr[i].Error())
			return
		}
		streams[i] = s
	}
	type serve struct {
		key   []byte
		s     *stream
		start streamID
	}
	var out []serve
	for i, s := range streams {
		if !s.exists() || s.length() == 0 {
			continue
		}
		gt := a.ids[i]
		if a.special[i] == '$' {
			gt = s.meta.LastID
		}
		last, ok := s.edge(c, true)
		if !ok || last.Compare(gt) <= 0 {
			continue
		}
		start, _ := gt.Next()
		out = append(out, serve{a.keys[i], s, start})
	}
	if len(out) == 0 {
		c.r.NullArray()
		return
	}
	keyedArray(c.r, len(out))
	for _, o := range out {
		keyed(c.r)
		c.r.Bulk(o.key)
		c.streamReplyRange(o.s, o.start, keyspace.MaxStreamID, a.count, false)
	}
}

// xreadKeys finds the stream keys of XREAD (group false) or XREADGROUP
// (group true) as Redis 7.0's key specs find them for COMMAND GETKEYS:
// after the first "STREAMS" from argument 1 (XREADGROUP: 4) on, the last
// argument excepted, half the arguments that follow it.
func xreadKeys(args [][]byte, group bool) [][]byte {
	from := 1
	if group {
		from = 4
	}
	first := 0
	for i := from; i < len(args)-1; i++ {
		if equalFold(args[i], "streams") {
			first = i + 1
			break
		}
	}
	if first == 0 {
		return nil
	}
	n := (len(args) - first) / 2
	if n <= 0 {
		return nil
	}
	return args[first : first+n]
}

func xreadStreamKeys(args [][]byte) [][]byte      { return xreadKeys(args, false) }
func xreadgroupStreamKeys(args [][]byte) [][]byte { return xreadKeys(args, true) }

// resolves reports whether XREAD's arguments hold a "$" (blockResolver,
// block.go): a blocked XREAD waits for entries after the stream's last ID
// when it blocked, so its first attempt makes "$" that ID.
func (a *xreadArgs) resolves() bool {
	return a.group == nil && slices.Contains(a.special, '$')
}

// resolve rewrites the XREAD command args with each "$" replaced by its
// stream's last ID now (0-0 for a missing key), as xreadCommand reads "$"
// before it blocks; a key of another type fails with WRONGTYPE, as the
// command's first run does.
func (a *xreadArgs) resolve(c *ctx, args [][]byte) ([][]byte, error) {
	out := slices.Clone(args)
	first := len(args) - len(a.keys)
	for i, k := range a.keys {
		s, wrong := c.openStream(k)
		if wrong {
			return nil, Error(errWrongType)
		}
		if a.special[i] != '$' {
			continue
		}
		id := streamID{}
		if s.exists() {
			id = s.meta.LastID
		}
		out[first+i] = formatStreamID(id)
	}
	return out, nil
}

// pick keeps the streams whose keep is set (keyPicker, block.go): a woken
// attempt passes over keys that now hold another type, as Redis serves a
// blocked XREAD from stream keys only.
func (a *xreadArgs) pick(keep []bool) any {
	b := *a
	b.keys, b.ids, b.special, b.idErr = nil, nil, nil, nil
	for i := range a.keys {
		if i < len(keep) && keep[i] {
			b.keys = append(b.keys, a.keys[i])
			b.ids = append(b.ids, a.ids[i])
			b.special = append(b.special, a.special[i])
			b.idErr = append(b.idErr, a.idErr[i])
		}
	}
	return &b
}
