package server

// The geo commands' generators of TestFuzzDifferential (group "geo"):
// positions from a small set (real cities, several members at one spot
// so that distances tie, the poles' limits and the antimeridian, invalid
// ones), radii and boxes around the search steps' edges, every option in
// random order and case, and plain ZADD/ZRANGE on the same keys so that
// scores that are not geohashes meet the geo commands.

var (
	fzGeoLonLat = [][2]string{
		{"13.361389", "38.115556"}, {"15.087269", "37.502669"}, {"13.583333", "37.316667"},
		{"2.3522", "48.8566"}, {"-0.1276", "51.5072"}, {"139.6917", "35.6895"}, {"-74.006", "40.7128"},
		{"0", "0"}, {"0.001", "0"}, {"0", "0.001"}, {"0.01", "0.01"}, {"10", "10"}, {"10", "10"}, {"10.001", "10"},
		{"180", "0"}, {"-180", "0"}, {"179.99", "1"}, {"-179.99", "-1"},
		{"180", "85.05112878"}, {"-180", "-85.05112878"}, {"0", "85"}, {"90", "-84.9"}, {"45", "66.5"}, {"-45", "80.5"},
		{"181", "0"}, {"0", "85.06"}, {"abc", "1"}, {"1", ""}, {"inf", "0"},
	}
	fzGeoRadius = []string{"0", "1", "10", "100", "111", "200", "1000", "5000", "20000", "0.5", "1e-3", "-1", "abc", "inf", "40000"}
	fzGeoUnits  = []string{"m", "km", "KM", "mi", "ft", "Ft", "km", "km", "yd"}
	fzGeoScores = []string{"3479099956230698", "3479447370796909", "0", "4503599627370495", "4503599627370496",
		"-1", "1.5", "1e300", "inf", "-inf", "3471579339700058", "3471579339700059"}
)

func (g *fgen) geoPos() []string {
	p := fzGeoLonLat[g.r.IntN(len(fzGeoLonLat))]
	if g.coin(0.85) && (p[0] == "181" || p[1] == "85.06" || p[0] == "abc" || p[1] == "" || p[0] == "inf") {
		p = fzGeoLonLat[g.r.IntN(14)]
	}
	return []string{p[0], p[1]}
}

func (g *fgen) geoRadius() []string {
	return []string{g.pick(fzGeoRadius), g.kw(g.pick(fzGeoUnits))}
}

// geoOpts are the search options: WITH*, ASC/DESC, COUNT [ANY], in random
// order; with store, WITH* are rare (they are an error then).
func (g *fgen) geoOpts(store bool) [][]string {
	var opts [][]string
	for _, w := range []string{"WITHDIST", "WITHHASH", "WITHCOORD"} {
		if (!store && g.coin(0.35)) || g.coin(0.03) {
			opts = append(opts, []string{g.kw(w)})
		}
	}
	if g.coin(0.5) {
		opts = append(opts, []string{g.kw(g.pick([]string{"ASC", "DESC"}))})
	}
	if g.coin(0.4) {
		c := []string{g.kw("COUNT"), g.pick([]string{"1", "2", "3", "5", "10", "0", "-1", "x"})}
		if g.coin(0.3) {
			c = append(c, g.kw("ANY"))
		}
		opts = append(opts, c)
	} else if g.coin(0.03) {
		opts = append(opts, []string{g.kw("ANY")})
	}
	return opts
}

func (g *fgen) geoFrom() []string {
	if g.coin(0.5) {
		return []string{g.kw("FROMMEMBER"), g.member()}
	}
	return append([]string{g.kw("FROMLONLAT")}, g.geoPos()...)
}

func (g *fgen) geoBy() []string {
	if g.coin(0.5) {
		return append([]string{g.kw("BYRADIUS")}, g.geoRadius()...)
	}
	return []string{g.kw("BYBOX"), g.pick(fzGeoRadius), g.pick(fzGeoRadius), g.kw(g.pick(fzGeoUnits))}
}

// geoSearchArgs are GEOSEARCH's options after the key: FROM and BY
// (rarely missing or doubled) and the others, shuffled.
func (g *fgen) geoSearchArgs(store bool) []string {
	opts := g.geoOpts(store)
	if !g.coin(0.04) {
		opts = append(opts, g.geoFrom())
	}
	if !g.coin(0.04) {
		opts = append(opts, g.geoBy())
	}
	if g.coin(0.03) {
		opts = append(opts, g.geoFrom())
	}
	if store && g.coin(0.4) {
		opts = append(opts, []string{g.kw("STOREDIST")})
	}
	g.r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
	var out []string
	for _, o := range opts {
		out = append(out, o...)
	}
	return out
}

// geoRadiusOpts are GEORADIUS's options, with STORE or STOREDIST
// sometimes.
func (g *fgen) geoRadiusOpts(canStore bool) []string {
	store := canStore && g.coin(0.3)
	opts := g.geoOpts(store)
	if store || g.coin(0.02) {
		opts = append(opts, []string{g.kw(g.pick([]string{"STORE", "STOREDIST"})), g.key()})
	}
	g.r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
	var out []string
	for _, o := range opts {
		out = append(out, o...)
	}
	return out
}

func init() {
	fuzzMoreSpecs = append(fuzzMoreSpecs,
		fspec{"geoadd", "geo", 8, func(g *fgen) fcmd {
			var args []string
			for _, o := range []string{"NX", "XX", "CH"} {
				if g.coin(0.12) {
					args = append(args, g.kw(o))
				}
			}
			n := 1 + g.r.IntN(4)
			for i := 0; i < n; i++ {
				args = append(args, g.geoPos()...)
				args = append(args, g.member())
			}
			return fzcs(cmpExact, fzJoin("GEOADD", g.key(), args))
		}},
		fspec{"geopos", "geo", 3, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("GEOPOS", g.key(), g.members(1, 3))) }},
		fspec{"geohash", "geo", 2, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("GEOHASH", g.key(), g.members(1, 3))) }},
		fspec{"geodist", "geo", 3, func(g *fgen) fcmd {
			args := []string{"GEODIST", g.key(), g.member(), g.member()}
			if g.coin(0.6) {
				args = append(args, g.kw(g.pick(fzGeoUnits)))
			}
			return fzcs(cmpExact, args)
		}},
		fspec{"georadius", "geo", 4, func(g *fgen) fcmd {
			return fzcs(cmpExact, fzJoin("GEORADIUS", g.key(), g.geoPos(), g.geoRadius(), g.geoRadiusOpts(true)))
		}},
		fspec{"georadius_ro", "geo", 1, func(g *fgen) fcmd {
			return fzcs(cmpExact, fzJoin("GEORADIUS_RO", g.key(), g.geoPos(), g.geoRadius(), g.geoRadiusOpts(false)))
		}},
		fspec{"georadiusbymember", "geo", 3, func(g *fgen) fcmd {
			return fzcs(cmpExact, fzJoin("GEORADIUSBYMEMBER", g.key(), g.member(), g.geoRadius(), g.geoRadiusOpts(true)))
		}},
		fspec{"georadiusbymember_ro", "geo", 1, func(g *fgen) fcmd {
			return fzcs(cmpExact, fzJoin("GEORADIUSBYMEMBER_RO", g.key(), g.member(), g.geoRadius(), g.geoRadiusOpts(false)))
		}},
		fspec{"geosearch", "geo", 6, func(g *fgen) fcmd {
			return fzcs(cmpExact, fzJoin("GEOSEARCH", g.key(), g.geoSearchArgs(false)))
		}},
		fspec{"geosearchstore", "geo", 3, func(g *fgen) fcmd {
			return fzcs(cmpExact, fzJoin("GEOSEARCHSTORE", g.key(), g.key(), g.geoSearchArgs(true)))
		}},
		// Sorted set commands on the geo keys: scores that are geohashes
		// and scores that are not.
		fspec{"zadd", "geo", 2, func(g *fgen) fcmd {
			return fzc(cmpExact, "ZADD", g.key(), g.pick(fzGeoScores), g.member())
		}},
		fspec{"zrange", "geo", 3, func(g *fgen) fcmd {
			return fzc(cmpExact, "ZRANGE", g.key(), "0", "-1", "WITHSCORES")
		}},
		fspec{"zrem", "geo", 1, func(g *fgen) fcmd { return fzc(cmpExact, "ZREM", g.key(), g.member()) }},
	)
	fuzzMoreGroups = append(fuzzMoreGroups, "geo")
}
