package server

import (
	"os"
	"strconv"
)

// Consumer group generators (group "streamgroup"): XGROUP CREATE, SETID,
// DESTROY, CREATECONSUMER, DELCONSUMER; XREADGROUP (">" and history,
// COUNT, NOACK, several keys; BLOCK only for history reads, which
// never block); XACK; XPENDING; XCLAIM
// (FORCE, JUSTID, RETRYCOUNT, LASTID, IDLE and TIME); XAUTOCLAIM; XINFO.
//
// Idle times and delivery times come from each server's clock, so the
// replies that show them (XPENDING's extended form, XINFO CONSUMERS,
// XINFO STREAM FULL) are compared by shape only, and the min-idle-times
// the generators use are 0 or 10^9 ms, while IDLE and TIME give either
// "now" or a time 10^10 ms ago: whether an entry is idle enough never
// depends on how fast the sequence runs. The keyspace dump compares
// XINFO GROUPS (pending and consumer counts, last IDs, entries-read,
// lag) after every sequence.
//
// WALKERD_FUZZDIFF_STREAMGROUP=n gives this group n times its share of
// the sequences' focus.

func init() {
	fuzzMoreSpecs = append(fuzzMoreSpecs, fuzzStreamGroupSpecs...)
	fuzzMoreGroups = append(fuzzMoreGroups, "streamgroup")
	// WALKERD_FUZZDIFF_STREAMGROUP=n makes n times more sequences focus
	// on consumer groups (a local knob for long runs of this group).
	if n, err := strconv.Atoi(os.Getenv("WALKERD_FUZZDIFF_STREAMGROUP")); err == nil {
		for range min(n, 1000) - 1 {
			fuzzMoreGroups = append(fuzzMoreGroups, "streamgroup")
		}
	}
	fuzzPreludes["streamgroup"] = streamGroupPrelude
}

var (
	fzGroups    = []string{"g1", "g2", "g1", "nog"}
	fzConsumers = []string{"c1", "c2", "c3", "c1"}
	fzMinIdle   = []string{"0", "0", "1000000000", "-5", "x"}
)

func (g *fgen) sgGroup() string    { return g.pick(fzGroups) }
func (g *fgen) sgConsumer() string { return g.pick(fzConsumers) }

// streamGroupPrelude fills one or two keys with 3 to 40 entries (a few
// deleted) and gives them a group or two, with some entries delivered.
func streamGroupPrelude(g *fgen) []fcmd {
	var out []fcmd
	for range 1 + g.r.IntN(2) {
		key := g.key()
		ms := g.sTop(key)
		for range 3 + g.r.IntN(38) {
			ms += 1 + uint64(g.r.IntN(2))
			out = append(out, fzc(cmpExact, "XADD", key, strconv.FormatUint(ms, 10)+"-"+g.small(0, 1), "f", g.pick(fzStreamValues)))
			g.setSTop(key, ms)
			if g.r.IntN(10) == 0 {
				out = append(out, fzc(cmpExact, "XDEL", key, strconv.FormatUint(ms-uint64(g.r.IntN(int(ms))), 10)+"-"+g.small(0, 1)))
			}
		}
		for range 1 + g.r.IntN(2) {
			grp := g.pick([]string{"g1", "g2"})
			out = append(out, fzc(cmpExact, "XGROUP", "CREATE", key, grp, g.pick([]string{"0", "0", "$", g.sID(key)})))
			for range g.r.IntN(3) {
				out = append(out, fzc(cmpExact, "XREADGROUP", "GROUP", grp, g.sgConsumer(), "COUNT", g.small(1, 10), "STREAMS", key, ">"))
			}
		}
	}
	return out
}

// sgReadID is an XREADGROUP ID: mostly ">", else history.
func (g *fgen) sgReadID(key string) string {
	switch g.r.IntN(10) {
	case 0, 1:
		return g.pick([]string{"0", "0-0", "$", "bad", "-", "+", "18446744073709551615-18446744073709551615"})
	case 2, 3:
		return g.sID(key)
	}
	return ">"
}

var fuzzStreamGroupSpecs = []fspec{
	{"xadd", "streamgroup", 6, func(g *fgen) fcmd {
		key := g.key()
		return fzcs(cmpExact, fzJoin("XADD", key, g.sXaddID(key), g.sFields()))
	}},
	{"xdel", "streamgroup", 2, func(g *fgen) fcmd {
		key := g.key()
		return fzcs(cmpExact, fzJoin("XDEL", key, g.sID(key), g.sID(key)))
	}},
	{"xgroup|create", "streamgroup", 3, func(g *fgen) fcmd {
		key := g.key()
		args := []string{"XGROUP", g.kw("CREATE"), key, g.sgGroup()}
		switch g.r.IntN(6) {
		case 0:
			args = append(args, "$")
		case 1:
			args = append(args, g.sID(key))
		case 2:
			args = append(args, g.pick([]string{"+", "-", "bad", "0-1"}))
		default:
			args = append(args, "0")
		}
		if g.coin(0.3) {
			args = append(args, g.kw("MKSTREAM"))
		}
		if g.coin(0.2) {
			args = append(args, g.kw("ENTRIESREAD"), g.pick([]string{"0", "1", "3", "-1", "-2", "x", "100"}))
		}
		if g.coin(0.03) {
			args = append(args, "foo")
		}
		return fzcs(cmpExact, args)
	}},
	{"xgroup|setid", "streamgroup", 2, func(g *fgen) fcmd {
		key := g.key()
		args := []string{"XGROUP", g.kw("SETID"), key, g.sgGroup(), g.pick([]string{"0", "$", g.sID(key), g.sID(key), "+", "-"})}
		if g.coin(0.3) {
			args = append(args, g.kw("ENTRIESREAD"), g.pick([]string{"0", "1", "3", "-1", "-2", "x", "100"}))
		}
		return fzcs(cmpExact, args)
	}},
	{"xgroup|destroy", "streamgroup", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "XGROUP", g.kw("DESTROY"), g.key(), g.sgGroup())
	}},
	{"xgroup|createconsumer", "streamgroup", 2, func(g *fgen) fcmd {
		return fzc(cmpExact, "XGROUP", g.kw("CREATECONSUMER"), g.key(), g.sgGroup(), g.sgConsumer())
	}},
	{"xgroup|delconsumer", "streamgroup", 2, func(g *fgen) fcmd {
		return fzc(cmpExact, "XGROUP", g.kw("DELCONSUMER"), g.key(), g.sgGroup(), g.sgConsumer())
	}},
	{"xreadgroup", "streamgroup", 10, func(g *fgen) fcmd {
		args := []string{"XREADGROUP", g.kw("GROUP"), g.sgGroup(), g.sgConsumer()}
		if g.coin(0.6) {
			args = append(args, g.kw("COUNT"), g.pick([]string{"0", "1", "2", "3", "5", "-1", "x"}))
		}
		if g.coin(0.15) {
			args = append(args, g.kw("NOACK"))
		}
		keys := g.keys(1, 2)
		var ids []string
		history := true
		for _, k := range keys {
			id := g.sgReadID(k)
			history = history && id != ">" && id != "18446744073709551615-18446744073709551615"
			ids = append(ids, id)
		}
		if history && g.coin(0.3) {
			// Served at once (a history read never blocks), or an error.
			args = append(args, g.kw("BLOCK"), g.pick([]string{"0", "100"}))
		}
		args = append(args, g.kw("STREAMS"))
		args = append(args, keys...)
		args = append(args, ids...)
		if g.coin(0.02) {
			args = args[:len(args)-1]
		}
		return fzcs(cmpExact, args)
	}},
	{"xack", "streamgroup", 5, func(g *fgen) fcmd {
		key := g.key()
		args := []string{"XACK", key, g.sgGroup()}
		for range 1 + g.r.IntN(3) {
			args = append(args, g.sID(key))
		}
		return fzcs(cmpExact, args)
	}},
	{"xpending", "streamgroup", 4, func(g *fgen) fcmd {
		key := g.key()
		if g.coin(0.5) {
			return fzc(cmpExact, "XPENDING", key, g.sgGroup())
		}
		args := []string{"XPENDING", key, g.sgGroup()}
		if g.coin(0.4) {
			args = append(args, g.kw("IDLE"), g.pick(fzMinIdle))
		}
		args = append(args, g.sBound(key), g.sBound(key), g.pick([]string{"0", "1", "2", "10", "-1", "x"}))
		if g.coin(0.4) {
			args = append(args, g.sgConsumer())
		}
		return fzcs(cmpShape, args)
	}},
	{"xclaim", "streamgroup", 5, func(g *fgen) fcmd {
		key := g.key()
		args := []string{"XCLAIM", key, g.sgGroup(), g.sgConsumer(), g.pick(fzMinIdle)}
		for range 1 + g.r.IntN(3) {
			args = append(args, g.sID(key))
		}
		for range g.r.IntN(3) {
			switch g.r.IntN(7) {
			case 0:
				args = append(args, g.kw("IDLE"), g.pick([]string{"0", "10000000000", "-5", "x"}))
			case 1:
				args = append(args, g.kw("TIME"), g.pick([]string{"0", "1", "-1", "99999999999999", "x"}))
			case 2:
				args = append(args, g.kw("RETRYCOUNT"), g.pick([]string{"0", "1", "7", "-1", "x"}))
			case 3:
				args = append(args, g.kw("FORCE"))
			case 4:
				args = append(args, g.kw("JUSTID"))
			case 5:
				args = append(args, g.kw("LASTID"), g.sID(key))
			default:
				args = append(args, g.pick([]string{"foo", "IDLE"}))
			}
		}
		return fzcs(cmpExact, args)
	}},
	{"xautoclaim", "streamgroup", 4, func(g *fgen) fcmd {
		key := g.key()
		args := []string{"XAUTOCLAIM", key, g.sgGroup(), g.sgConsumer(), g.pick(fzMinIdle), g.sBound(key)}
		if g.coin(0.6) {
			args = append(args, g.kw("COUNT"), g.pick([]string{"1", "2", "3", "5", "100", "0", "-1", "x"}))
		}
		if g.coin(0.3) {
			args = append(args, g.kw("JUSTID"))
		}
		if g.coin(0.03) {
			args = append(args, "foo")
		}
		return fzcs(cmpExact, args)
	}},
	{"xinfo|groups", "streamgroup", 2, func(g *fgen) fcmd { return fzc(cmpExact, "XINFO", "GROUPS", g.key()) }},
	{"xinfo|consumers", "streamgroup", 1, func(g *fgen) fcmd {
		return fzc(cmpShape, "XINFO", "CONSUMERS", g.key(), g.sgGroup())
	}},
	{"xinfo|stream", "streamgroup", 2, func(g *fgen) fcmd {
		key := g.key()
		if g.coin(0.6) {
			return fzc(cmpExact, "XINFO", "STREAM", key)
		}
		args := []string{"XINFO", "STREAM", key, g.kw("FULL")}
		if g.coin(0.5) {
			args = append(args, g.kw("COUNT"), g.pick([]string{"0", "2", "-1", "x"}))
		}
		return fzcs(cmpShape, args)
	}},
}
