package server

import (
	"slices"
	"strconv"
	"strings"
)

// Stream core generators (group "stream"): XADD and XTRIM with MAXLEN and
// MINID, exact and "~", LIMIT; XDEL; XRANGE and XREVRANGE with exclusive
// and incomplete bounds and COUNT; XLEN, XSETID, non-blocking XREAD.
// Entry IDs are always explicit (or "<ms>-*"): "*" takes the server's
// clock, which differs between redis-server and walkerd. A stream-focused
// sequence opens with a prelude that fills one or two keys with 50 to 400
// entries (some deleted, some trimmed), so "~" trimming meets several
// nodes; values are short, so Redis's nodes split by entry count (100)
// only, as walkerd's do.

func init() {
	fuzzMoreSpecs = append(fuzzMoreSpecs, fuzzStreamSpecs...)
	fuzzMoreGroups = append(fuzzMoreGroups, "stream")
	fuzzPreludes["stream"] = streamPrelude
	// Redis 7.0.15's XSETID notifies "xsetid" but does not call
	// signalModifiedKey (7.2 does), so a WATCHed stream it changed does
	// not abort EXEC; walkerd's WATCH version is the seq of the key's
	// metadata, which XSETID rewrites (the last ID lives there), so EXEC
	// aborts.
	//   XADD k2 1-1 f a; WATCH k2; XSETID k2 5-3; MULTI; EXEC
	//   redis: []   walkerd: (nil array)
	fuzzdiffKnown = append(fuzzdiffKnown, fuzzKnown{name: "stream: XSETID does not touch WATCH in 7.0.15",
		sig: "EXEC * / nil", match: xsetidUnderWatch})
}

// xsetidUnderWatch: an XSETID on a key WATCHed before the transaction
// that walkerd aborted.
func xsetidUnderWatch(k *knownCase) bool {
	multi, watch := -1, -1
	for j := len(k.cmds) - 1; j >= 0; j-- {
		name := strings.ToUpper(k.cmds[j].args[0])
		if name == "MULTI" && multi < 0 {
			multi = j
		}
		if name == "WATCH" && multi >= 0 {
			watch = j
			break
		}
	}
	if watch < 0 {
		return false
	}
	for _, c := range k.cmds[watch+1 : multi] {
		if strings.EqualFold(c.args[0], "XSETID") && len(c.args) > 1 && slices.Contains(k.cmds[watch].args[1:], c.args[1]) {
			return true
		}
	}
	return false
}

// streamTop is, per sequence (its fgen) and key, the greatest ms the
// generators used for an entry ID: new IDs are mostly above it, so that
// most XADDs succeed.
var streamTop = map[*fgen]map[string]uint64{}

func (g *fgen) sTop(key string) uint64 {
	m := streamTop[g]
	if m == nil {
		m = map[string]uint64{}
		streamTop[g] = m
	}
	return m[key]
}

func (g *fgen) setSTop(key string, ms uint64) {
	g.sTop(key)
	if ms > streamTop[g][key] {
		streamTop[g][key] = ms
	}
}

var fzStreamValues = []string{"a", "b", "1", "22", "", "x y", "v"}
var fzStreamFields = []string{"f", "g", "h", "f"}

func (g *fgen) sFields() []string {
	var out []string
	for range 1 + g.r.IntN(g.r.IntN(3)+1) {
		out = append(out, g.pick(fzStreamFields), g.pick(fzStreamValues))
	}
	return out
}

// sMs is a ms near the key's top (or anywhere below it).
func (g *fgen) sMs(key string) uint64 {
	top := g.sTop(key)
	switch g.r.IntN(4) {
	case 0:
		return uint64(g.r.IntN(int(top) + 2))
	case 1:
		if top > 5 {
			return top - uint64(g.r.IntN(5))
		}
	}
	return top + uint64(g.r.IntN(3))
}

// sID is an ID argument for a range, XDEL or MINID: mostly near entries
// of the key, sometimes incomplete, special or invalid.
func (g *fgen) sID(key string) string {
	ms := strconv.FormatUint(g.sMs(key), 10)
	switch g.r.IntN(12) {
	case 0:
		return ms
	case 1:
		return g.pick([]string{"-", "+", "0", "0-0", "18446744073709551615-18446744073709551615",
			"18446744073709551615", "bad", "1-", "-1", " 1", "+1", "1-18446744073709551616", "", "1-*"})
	}
	return ms + "-" + g.small(0, 3)
}

// sXaddID is XADD's ID: mostly above the top, some "<ms>-*", some below.
func (g *fgen) sXaddID(key string) string {
	top := g.sTop(key)
	switch g.r.IntN(20) {
	case 0:
		return g.pick([]string{"0-0", "0", "0-*", "bad", "-", "+", "1-1", "18446744073709551615-18446744073709551615",
			"18446744073709551615-*", "*-1", "5-"})
	case 1, 2:
		ms := top + uint64(g.r.IntN(2))
		g.setSTop(key, ms)
		return strconv.FormatUint(ms, 10) + "-*"
	case 3:
		return strconv.FormatUint(g.sMs(key), 10) + "-" + g.small(0, 3)
	}
	ms := top + 1 + uint64(g.r.IntN(3))
	g.setSTop(key, ms)
	if g.coin(0.3) {
		return strconv.FormatUint(ms, 10)
	}
	return strconv.FormatUint(ms, 10) + "-" + g.small(0, 2)
}

// sTrim is a trimming option: MAXLEN or MINID, "=", "~" or neither,
// maybe LIMIT; now and then a broken one.
func (g *fgen) sTrim(key string) []string {
	var out []string
	if g.coin(0.5) {
		out = append(out, g.kw("MAXLEN"))
	} else {
		out = append(out, g.kw("MINID"))
	}
	approx := false
	switch g.r.IntN(3) {
	case 0:
		out = append(out, "~")
		approx = true
	case 1:
		out = append(out, "=")
	}
	if out[0] == "MAXLEN" || out[0] == "maxlen" || out[0] == "mAXLEN" {
		switch g.r.IntN(10) {
		case 0:
			out = append(out, g.pick([]string{"-1", "abc", "1.5", "0"}))
		case 1, 2, 3:
			out = append(out, g.small(0, 20))
		default:
			out = append(out, g.small(0, int(g.sTop(key))+10))
		}
	} else {
		out = append(out, g.sID(key))
	}
	if (approx && g.coin(0.4)) || g.coin(0.05) {
		out = append(out, g.kw("LIMIT"), g.pick([]string{"0", "1", "50", "99", "100", "150", "200", "250", "1000", "-1", "x"}))
	}
	return out
}

func (g *fgen) sCountOpt() []string {
	if g.coin(0.5) {
		return nil
	}
	return []string{g.kw("COUNT"), g.pick([]string{"0", "1", "2", "3", "5", "10", "100", "-1", "abc", "1000"})}
}

func (g *fgen) sBound(key string) string {
	id := g.sID(key)
	if g.coin(0.3) && id != "" {
		return "(" + id
	}
	return id
}

// streamPrelude fills one or two keys with 50 to 400 entries of
// increasing IDs, deleting or trimming now and then.
func streamPrelude(g *fgen) []fcmd {
	if g.coin(0.3) {
		return nil
	}
	var out []fcmd
	for range 1 + g.r.IntN(2) {
		key := g.key()
		n := 50 + g.r.IntN(351)
		ms := g.sTop(key)
		for i := 0; i < n; i++ {
			ms += 1 + uint64(g.r.IntN(2))
			args := []string{"XADD", key}
			if g.r.IntN(60) == 0 {
				args = append(args, g.sTrim(key)...)
			}
			args = append(args, strconv.FormatUint(ms, 10)+"-"+g.small(0, 1), "f", g.pick(fzStreamValues))
			out = append(out, fzcs(cmpExact, args))
			g.setSTop(key, ms)
			if g.r.IntN(15) == 0 {
				out = append(out, fzc(cmpExact, "XDEL", key, strconv.FormatUint(ms-uint64(g.r.IntN(int(ms))), 10)+"-"+g.small(0, 1)))
			}
		}
	}
	return out
}

var fuzzStreamSpecs = []fspec{
	{"xadd", "stream", 10, func(g *fgen) fcmd {
		key := g.key()
		args := []string{"XADD", key}
		if g.coin(0.1) {
			args = append(args, g.kw("NOMKSTREAM"))
		}
		if g.coin(0.45) {
			args = append(args, g.sTrim(key)...)
		}
		args = append(args, g.sXaddID(key))
		args = append(args, g.sFields()...)
		if g.coin(0.03) {
			args = args[:len(args)-1]
		}
		return fzcs(cmpExact, args)
	}},
	{"xtrim", "stream", 5, func(g *fgen) fcmd {
		key := g.key()
		args := append([]string{"XTRIM", key}, g.sTrim(key)...)
		if g.coin(0.05) {
			args = append(args, g.pick([]string{"foo", "LIMIT", "NOMKSTREAM"}))
		}
		return fzcs(cmpExact, args)
	}},
	{"xrange", "stream", 5, func(g *fgen) fcmd {
		key := g.key()
		return fzcs(cmpExact, fzJoin("XRANGE", key, g.sBound(key), g.sBound(key), g.sCountOpt()))
	}},
	{"xrevrange", "stream", 4, func(g *fgen) fcmd {
		key := g.key()
		return fzcs(cmpExact, fzJoin("XREVRANGE", key, g.sBound(key), g.sBound(key), g.sCountOpt()))
	}},
	{"xlen", "stream", 2, func(g *fgen) fcmd { return fzc(cmpExact, "XLEN", g.key()) }},
	{"xdel", "stream", 4, func(g *fgen) fcmd {
		key := g.key()
		args := []string{"XDEL", key}
		for range 1 + g.r.IntN(4) {
			args = append(args, g.sID(key))
		}
		return fzcs(cmpExact, args)
	}},
	{"xsetid", "stream", 2, func(g *fgen) fcmd {
		key := g.key()
		top := g.sTop(key)
		id := strconv.FormatUint(top+uint64(g.r.IntN(3)), 10) + "-" + g.small(0, 5)
		if g.coin(0.2) {
			id = g.sID(key)
		}
		args := []string{"XSETID", key, id}
		if g.coin(0.4) {
			args = append(args, g.kw("ENTRIESADDED"), g.pick([]string{"0", "1", "10", "100", "400", "1000", "-1", "x"}))
		}
		if g.coin(0.4) {
			args = append(args, g.kw("MAXDELETEDID"), g.sID(key))
		}
		return fzcs(cmpExact, args)
	}},
	{"xread", "stream", 3, func(g *fgen) fcmd {
		args := []string{"XREAD"}
		args = append(args, g.sCountOpt()...)
		if g.coin(0.05) {
			args = append(args, g.pick([]string{"NOACK", "GROUP", "FOO"}))
		}
		args = append(args, g.kw("STREAMS"))
		keys := g.keys(1, 2)
		args = append(args, keys...)
		for _, k := range keys {
			switch g.r.IntN(8) {
			case 0:
				args = append(args, "$")
			case 1:
				args = append(args, g.pick([]string{"0", ">", "bad", "-", "+"}))
			default:
				args = append(args, g.sID(k))
			}
		}
		if g.coin(0.03) {
			args = args[:len(args)-1]
		}
		return fzcs(cmpExact, args)
	}},
}
