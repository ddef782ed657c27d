package server

import "strconv"

// Generators of the HyperLogLog commands (group "hll"): PFADD, PFCOUNT
// and PFMERGE over the shared keys k0..k5, so that they meet strings
// (SET of garbage, SETRANGE/APPEND over an HLL), collections and each
// other; big PFADDs push values past the sparse limit to dense. GET of
// the same keys (string group) compares the values byte for byte.
// PFDEBUG ENCODING and DECODE show the representation; GETREG and TODENSE
// are left out (a conversion that Redis does not signal to WATCH is a
// write here: see hll_test.go and the testdata).

// hllElems is 1..n elements: mostly from the shared members, sometimes a
// run of distinct ones (up to 600) to grow the value.
func (g *fgen) hllElems(min int) []string {
	if g.coin(0.15) {
		n := 50 + g.r.IntN(550)
		base := g.r.IntN(5000)
		out := make([]string, n)
		for i := range out {
			out[i] = "e" + strconv.Itoa(base+i)
		}
		return out
	}
	return g.members(min, 5)
}

func init() {
	fuzzMoreSpecs = append(fuzzMoreSpecs,
		fspec{"pfadd", "hll", 6, func(g *fgen) fcmd {
			return fzcs(cmpExact, fzJoin(g.kw("PFADD"), g.key(), g.hllElems(0)))
		}},
		fspec{"pfcount", "hll", 5, func(g *fgen) fcmd {
			return fzcs(cmpExact, fzJoin(g.kw("PFCOUNT"), g.keys(1, 3)))
		}},
		fspec{"pfmerge", "hll", 3, func(g *fgen) fcmd {
			return fzcs(cmpExact, fzJoin(g.kw("PFMERGE"), g.key(), g.keys(0, 3)))
		}},
		fspec{"pfdebug", "hll", 1, func(g *fgen) fcmd {
			return fzc(cmpExact, g.kw("PFDEBUG"), g.kw(g.pick([]string{"ENCODING", "DECODE", "ENCODING", "nosuch"})), g.key())
		}},
		// GET in this group too: the values byte for byte.
		fspec{"get", "hll", 3, func(g *fgen) fcmd { return fzc(cmpExact, "GET", g.key()) }},
		fspec{"set", "hll", 1, func(g *fgen) fcmd {
			return fzc(cmpExact, "SET", g.key(), g.pick([]string{"HYLL", "HYLL\x01\x00\x00\x00", "abc", "1"}))
		}},
	)
	fuzzMoreGroups = append(fuzzMoreGroups, "hll")
}
