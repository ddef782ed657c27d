package command

import (
	"fmt"
	"math"
	"strconv"
)

// Geospatial indexes (geo.c). A geo key is a sorted set whose scores are
// 52-bit geohashes (geohash.go): GEOADD is ZADD with the hash of each
// position as its score, so ZRANGE ... WITHSCORES on a geo key answers
// what Redis answers, and every sorted set command works on it. A
// position reads back as the center of its cell (GEOPOS).
//
// A search (GEOSEARCH, GEORADIUS and their kin) walks the score ranges of
// at most nine cells around the center, at the step geoShape.cells picks
// for the area, keeping the members inside the circle or box: O(N+log M)
// for the N members of those cells. The candidates come in Redis's order
// (cell by cell, center, N, S, E, W, NE, NW, SE, SW; by score within a
// cell); ASC and DESC sort them by distance as glibc's qsort (a stable
// merge sort) does, and COUNT without ANY takes the first count of
// Redis's partial quicksort (pqsort.c), so that ties come out in Redis's
// order too.

func init() {
	g := func(name string, arity int, flags Flags, first, last int, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatGeo, FirstKey: first, LastKey: last, Step: 1,
			Group: "geo", Since: since, parse: parse, run: run}
	}
	wd, r := FlagWrite|FlagDenyOOM, FlagReadonly
	register(
		g("geoadd", -5, wd, 1, 1, "3.2.0", parseGeoadd, runGeoadd),
		g("geodist", -4, r, 1, 1, "3.2.0", parseGeodist, runGeodist),
		g("geohash", -2, r, 1, 1, "3.2.0", nil, runGeohash),
		g("geopos", -2, r, 1, 1, "3.2.0", nil, runGeopos),
		g("georadius", -6, wd|FlagMovableKeys, 1, 1, "3.2.0", nil, runGeoSearch),
		g("georadius_ro", -6, r, 1, 1, "3.2.10", nil, runGeoSearch),
		g("georadiusbymember", -5, wd|FlagMovableKeys, 1, 1, "3.2.0", nil, runGeoSearch),
		g("georadiusbymember_ro", -5, r, 1, 1, "3.2.10", nil, runGeoSearch),
		g("geosearch", -7, r, 1, 1, "6.2.0", nil, runGeoSearch),
		g("geosearchstore", -8, wd, 1, 2, "6.2.0", nil, runGeoSearch),
	)
	// Key specs as Redis 7.0.15's COMMAND INFO gives them.
	ro := KeySpec{Flags: []string{"RO", "access"}, Index: 1, KeyStep: 1}
	rw := KeySpec{Flags: []string{"RW", "update"}, Index: 1, KeyStep: 1}
	store := func(kw string, from int) KeySpec {
		return KeySpec{Flags: []string{"OW", "update"}, Keyword: kw, StartFrom: from, KeyStep: 1}
	}
	for _, name := range []string{"geodist", "geohash", "geopos", "georadius_ro", "georadiusbymember_ro", "geosearch"} {
		specs[name].KeySpecs = []KeySpec{ro}
	}
	specs["geoadd"].KeySpecs = []KeySpec{rw}
	specs["geosearchstore"].KeySpecs = []KeySpec{{Flags: []string{"OW", "update"}, Index: 1, KeyStep: 1},
		{Flags: []string{"RO", "access"}, Index: 2, KeyStep: 1}}
	specs["georadius"].KeySpecs = []KeySpec{ro, store("STORE", 6), store("STOREDIST", 6)}
	specs["georadiusbymember"].KeySpecs = []KeySpec{ro, store("STORE", 5), store("STOREDIST", 5)}

	// GEORADIUS and GEORADIUSBYMEMBER name their STORE/STOREDIST
	// destination among the options: Redis's key specs find the first
	// STORE and the first STOREDIST keyword from the first option on.
	movableKeys["georadius"] = geoStoreKeys(6)
	movableKeys["georadiusbymember"] = geoStoreKeys(5)
}

// Geo errors, worded as geo.c words them.
const (
	errGeoMember    Error = "ERR could not decode requested zset member"
	errGeoUnit      Error = "ERR unsupported unit provided. please use M, KM, FT, MI"
	errGeoRadius    Error = "ERR need numeric radius"
	errGeoRadiusNeg Error = "ERR radius cannot be negative"
	errGeoWidth     Error = "ERR need numeric width"
	errGeoHeight    Error = "ERR need numeric height"
	errGeoBoxNeg    Error = "ERR height or width cannot be negative"
	errGeoCount     Error = "ERR COUNT must be > 0"
	errGeoAny       Error = "ERR the ANY argument requires COUNT argument"
)

// errGeoPair is extractLongLatOrReply's error: the pair as "%f,%f".
func errGeoPair(lon, lat float64) Error {
	return Error(fmt.Sprintf("ERR invalid longitude,latitude pair %s,%s", geoCFloat(lon, 6), geoCFloat(lat, 6)))
}

// geoStoreKeys finds the keys of GEORADIUS (options from index 6) and
// GEORADIUSBYMEMBER (from 5) as their key specs do: the source, then the
// argument after the first STORE, then after the first STOREDIST (a
// keyword that is the last argument names nothing).
func geoStoreKeys(start int) func(args [][]byte) [][]byte {
	return func(args [][]byte) [][]byte {
		if len(args) < 2 {
			return nil
		}
		keys := [][]byte{args[1]}
		for _, kw := range []string{"store", "storedist"} {
			for i := start; i < len(args)-1; i++ {
				if equalFold(args[i], kw) {
					keys = append(keys, args[i+1])
					break
				}
			}
		}
		return keys
	}
}

// geoLonLat parses a longitude and a latitude as extractLongLatOrReply
// does: two floats (getDoubleFromObject), within the encodable area.
func geoLonLat(lonArg, latArg []byte) (lon, lat float64, err error) {
	var ok bool
	if lon, ok = parseZScore(lonArg); !ok {
		return 0, 0, ErrNotFloat
	}
	if lat, ok = parseZScore(latArg); !ok {
		return 0, 0, ErrNotFloat
	}
	if lon < geoLongMin || lon > geoLongMax || lat < geoLatMin || lat > geoLatMax {
		return 0, 0, errGeoPair(lon, lat)
	}
	return lon, lat, nil
}

// geoUnit is the meters of a unit, any case (extractUnitOrReply).
func geoUnit(u []byte) (float64, error) {
	switch {
	case equalFold(u, "m"):
		return 1, nil
	case equalFold(u, "km"):
		return 1000, nil
	case equalFold(u, "ft"):
		return 0.3048, nil
	case equalFold(u, "mi"):
		return 1609.34, nil
	}
	return 0, errGeoUnit
}

// geoRadiusArg parses "radius unit" as extractDistanceOrReply does.
func geoRadiusArg(radius, unit []byte) (r, conv float64, err error) {
	r, ok := parseZScore(radius)
	if !ok {
		return 0, 0, errGeoRadius
	}
	if r < 0 {
		return 0, 0, errGeoRadiusNeg
	}
	conv, err = geoUnit(unit)
	return r, conv, err
}

// --- GEOADD ---

// geoaddArgs is GEOADD as the ZADD it becomes.
type geoaddArgs struct {
	zadd  *zaddArgs
	zargs [][]byte // ZADD key [options] score member ...
}

// parseGeoadd parses GEOADD key [NX|XX] [CH] longitude latitude member
// [...] as geoaddCommand does: the options (any case, any order), a
// multiple of three arguments after them and not both NX and XX (else
// "ERR syntax error"), then each position (floats, within the area), at
// least one.
func parseGeoadd(args [][]byte, now int64) (any, error) {
	a := &zaddArgs{}
	i := 2
	for ; i < len(args); i++ {
		switch {
		case equalFold(args[i], "nx"):
			a.nx = true
		case equalFold(args[i], "xx"):
			a.xx = true
		case equalFold(args[i], "ch"):
			a.ch = true
		default:
			goto done
		}
	}
done:
	if (len(args)-i)%3 != 0 || (a.nx && a.xx) {
		return nil, ErrSyntax
	}
	n := (len(args) - i) / 3
	zargs := make([][]byte, 0, i+2*n)
	zargs = append(zargs, args[:i]...)
	a.first = i
	for j := 0; j < n; j++ {
		lon, lat, err := geoLonLat(args[i+3*j], args[i+3*j+1])
		if err != nil {
			return nil, err
		}
		bits := geoEncodeWGS84(lon, lat)
		a.scores = append(a.scores, float64(bits))
		zargs = append(zargs, strconv.AppendUint(nil, bits, 10), args[i+3*j+2])
	}
	if n == 0 {
		return nil, ErrSyntax // ZADD's: no score-member pair
	}
	return &geoaddArgs{zadd: a, zargs: zargs}, nil
}

// runGeoadd is GEOADD: ZADD of the positions' hashes, answered and
// notified as ZADD ("zadd"): the members added, with CH added or moved.
func runGeoadd(c *ctx, args [][]byte, p any) {
	a := p.(*geoaddArgs)
	runZadd(c, a.zargs, a.zadd)
}

// --- GEODIST, GEOPOS, GEOHASH ---

// parseGeodist parses GEODIST key member1 member2 [unit]: the unit's
// meters (1 without one); more arguments are a syntax error.
func parseGeodist(args [][]byte, now int64) (any, error) {
	switch {
	case len(args) == 5:
		return geoUnit(args[4])
	case len(args) > 5:
		return nil, ErrSyntax
	}
	return 1.0, nil
}

// runGeodist is GEODIST: the distance between two members' positions in
// the unit, "%.4f" as a bulk string; null for a missing key or member.
func runGeodist(c *ctx, args [][]byte, p any) {
	conv := p.(float64)
	co := c.openZset(args[1])
	if co == nil {
		return
	}
	if !co.found {
		c.r.Null()
		return
	}
	s1, ok1 := co.zscore(c, args[2])
	s2, ok2 := co.zscore(c, args[3])
	if c.fatal != nil {
		return
	}
	if !ok1 || !ok2 {
		c.r.Null()
		return
	}
	lon1, lat1 := geoDecodeScore(s1)
	lon2, lat2 := geoDecodeScore(s2)
	c.r.BulkString(geoCFloat(geoDistance(lon1, lat1, lon2, lat2)/conv, 4))
}

// runGeopos is GEOPOS key [member ...]: for each member its [longitude,
// latitude] (the cell's center, formatted as addReplyHumanLongDouble
// formats it), a null array for a missing one.
func runGeopos(c *ctx, args [][]byte, _ any) {
	c.zscoresReply(args, func(s float64, found bool) {
		if !found {
			c.r.NullArray()
			return
		}
		lon, lat := geoDecodeScore(s)
		c.r.Array(2)
		humanDouble(c.r, geoHumanDouble(lon))
		humanDouble(c.r, geoHumanDouble(lat))
	})
}

// runGeohash is GEOHASH key [member ...]: each member's 11-character
// geohash (geoHashString), null for a missing one.
func runGeohash(c *ctx, args [][]byte, _ any) {
	c.zscoresReply(args, func(s float64, found bool) {
		if found {
			c.r.BulkString(geoHashString(s))
		} else {
			c.r.Null()
		}
	})
}

// --- GEOSEARCH, GEOSEARCHSTORE, GEORADIUS and their kin ---

// The variants of georadiusGeneric.
const (
	geoFromCoords  = 1 << iota // GEORADIUS: key longitude latitude radius unit
	geoFromMember              // GEORADIUSBYMEMBER: key member radius unit
	geoNoStore                 // the _RO forms: no STORE, STOREDIST
	geoSearch                  // GEOSEARCH's options
	geoSearchStore             // GEOSEARCHSTORE: destination first, STOREDIST alone
)

// Sort orders.
const (
	geoSortNone = iota
	geoSortAsc
	geoSortDesc
)

// geoPoint is a search's candidate (geoPoint): a member in the shape,
// its position, its score and its distance from the center.
type geoPoint struct {
	member   []byte
	lon, lat float64
	score    float64
	dist     float64
}

// runGeoSearch runs GEOSEARCH, GEOSEARCHSTORE, GEORADIUS[_RO] and
// GEORADIUSBYMEMBER[_RO] as georadiusGeneric does, in its order: the
// source's type (WRONGTYPE), the center and radius of the GEORADIUS forms
// (for GEORADIUSBYMEMBER only when the source exists; a member it does
// not hold is "ERR could not decode requested zset member"), the options
// one by one (FROMMEMBER looks its member up where it stands), then the
// options that clash. A missing source answers an empty array, or for a
// store 0 after deleting the destination. Otherwise the members in the
// shape, sorted by distance with ASC or DESC (COUNT alone sorts ASC;
// with ANY the walk stops at count members, unsorted unless asked), at
// most count of them, each alone or as [member, distance ("%.4f" in the
// unit), hash (an integer), [longitude, latitude]] for the WITH options
// given. STORE, STOREDIST and GEOSEARCHSTORE replace the destination with
// a sorted set of them (scores their hashes, or with STOREDIST their
// distances in the unit; events "georadiusstore" or "geosearchstore"),
// delete it when there are none ("del"), and answer how many.
func runGeoSearch(c *ctx, args [][]byte, _ any) {
	var flags int
	src := 1
	switch lowerASCII(args[0]) {
	case "georadius":
		flags = geoFromCoords
	case "georadius_ro":
		flags = geoFromCoords | geoNoStore
	case "georadiusbymember":
		flags = geoFromMember
	case "georadiusbymember_ro":
		flags = geoFromMember | geoNoStore
	case "geosearch":
		flags = geoSearch
	default:
		flags, src = geoSearch|geoSearchStore, 2
	}
	co := c.openZset(args[src])
	if co == nil {
		return
	}
	fail := func(err error) { c.r.Error(err.Error()) }
	var shape geoShape
	var storeKey []byte
	storeDist := false
	base := 0
	switch {
	case flags&geoFromCoords != 0:
		base = 6
		lon, lat, err := geoLonLat(args[2], args[3])
		if err != nil {
			fail(err)
			return
		}
		shape.lon, shape.lat = lon, lat
		if shape.radius, shape.conv, err = geoRadiusArg(args[4], args[5]); err != nil {
			fail(err)
			return
		}
	case flags&geoFromMember != 0 && !co.found:
		base = 5 // nothing to look up: on to the options
	case flags&geoFromMember != 0:
		base = 5
		score, ok := co.zscore(c, args[2])
		if !ok {
			if c.fatal == nil {
				fail(errGeoMember)
			}
			return
		}
		shape.lon, shape.lat = geoDecodeScore(score)
		var err error
		if shape.radius, shape.conv, err = geoRadiusArg(args[3], args[4]); err != nil {
			fail(err)
			return
		}
	default:
		base = 2
		if flags&geoSearchStore != 0 {
			base, storeKey = 3, args[1]
		}
	}

	withDist, withHash, withCoord := false, false, false
	fromMember, fromLonLat, byRadius, byBox := false, false, false, false
	sort, anyOpt := geoSortNone, false
	count := int64(0)
	search := flags&geoSearch != 0
	store := flags&(geoNoStore|geoSearch) == 0
	for i := base; i < len(args); i++ {
		left := len(args) - i - 1 // arguments after this one
		o := args[i]
		switch {
		case equalFold(o, "withdist"):
			withDist = true
		case equalFold(o, "withhash"):
			withHash = true
		case equalFold(o, "withcoord"):
			withCoord = true
		case equalFold(o, "any"):
			anyOpt = true
		case equalFold(o, "asc"):
			sort = geoSortAsc
		case equalFold(o, "desc"):
			sort = geoSortDesc
		case equalFold(o, "count") && left >= 1:
			n, ok := ParseInt(args[i+1])
			if !ok {
				fail(ErrNotInteger)
				return
			}
			if n <= 0 {
				fail(errGeoCount)
				return
			}
			count = n
			i++
		case equalFold(o, "store") && left >= 1 && store:
			storeKey, storeDist = args[i+1], false
			i++
		case equalFold(o, "storedist") && left >= 1 && store:
			storeKey, storeDist = args[i+1], true
			i++
		case equalFold(o, "storedist") && flags&geoSearchStore != 0:
			storeDist = true
		case equalFold(o, "frommember") && left >= 1 && search && !fromLonLat:
			if co.found {
				score, ok := co.zscore(c, args[i+1])
				if !ok {
					if c.fatal == nil {
						fail(errGeoMember)
					}
					return
				}
				shape.lon, shape.lat = geoDecodeScore(score)
			}
			fromMember = true
			i++
		case equalFold(o, "fromlonlat") && left >= 2 && search && !fromMember:
			lon, lat, err := geoLonLat(args[i+1], args[i+2])
			if err != nil {
				fail(err)
				return
			}
			shape.lon, shape.lat = lon, lat
			fromLonLat = true
			i += 2
		case equalFold(o, "byradius") && left >= 2 && search && !byBox:
			r, conv, err := geoRadiusArg(args[i+1], args[i+2])
			if err != nil {
				fail(err)
				return
			}
			shape.box, shape.radius, shape.conv = false, r, conv
			byRadius = true
			i += 2
		case equalFold(o, "bybox") && left >= 3 && search && !byRadius:
			w, ok := parseZScore(args[i+1])
			if !ok {
				fail(errGeoWidth)
				return
			}
			h, ok := parseZScore(args[i+2])
			if !ok {
				fail(errGeoHeight)
				return
			}
			if h < 0 || w < 0 {
				fail(errGeoBoxNeg)
				return
			}
			conv, err := geoUnit(args[i+3])
			if err != nil {
				fail(err)
				return
			}
			shape.box, shape.width, shape.height, shape.conv = true, w, h, conv
			byBox = true
			i += 3
		default:
			fail(ErrSyntax)
			return
		}
	}
	switch {
	case storeKey != nil && (withDist || withHash || withCoord):
		if flags&geoSearchStore != 0 {
			fail(Error("ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"))
		} else {
			fail(Error("ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"))
		}
		return
	case search && !fromMember && !fromLonLat:
		fail(Error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + string(args[0])))
		return
	case search && !byRadius && !byBox:
		fail(Error("ERR exactly one of BYRADIUS and BYBOX can be specified for " + string(args[0])))
		return
	case anyOpt && count == 0:
		fail(errGeoAny)
		return
	}

	if !co.found {
		if storeKey == nil {
			c.r.Array(0)
			return
		}
		if c.exists(storeKey) {
			c.del(storeKey)
			c.touch(storeKey, "del")
		}
		c.r.Int(0)
		return
	}
	if count != 0 && sort == geoSortNone && !anyOpt {
		sort = geoSortAsc
	}
	limit := 0
	if anyOpt {
		limit = int(min(count, math.MaxInt32))
	}
	pts := c.geoCollect(co, &shape, limit)
	if c.fatal != nil {
		return
	}
	if len(pts) == 0 && storeKey == nil {
		c.r.Array(0)
		return
	}
	returned := len(pts)
	if count != 0 && int64(len(pts)) > count {
		returned = int(count)
	}
	if sort != geoSortNone {
		cmp := func(a, b *geoPoint) int {
			switch {
			case a.dist > b.dist:
				return 1
			case a.dist == b.dist:
				return 0
			}
			return -1
		}
		if sort == geoSortDesc {
			asc := cmp
			cmp = func(a, b *geoPoint) int { return -asc(a, b) }
		}
		if returned == len(pts) {
			geoMergeSort(pts, make([]geoPoint, len(pts)), cmp)
		} else {
			geoPqsort(pts, 0, len(pts), cmp, 0, returned-1)
		}
	}
	pts = pts[:returned]
	for i := range pts {
		pts[i].dist /= shape.conv
	}

	if storeKey == nil {
		opts := 0
		for _, w := range []bool{withDist, withHash, withCoord} {
			if w {
				opts++
			}
		}
		c.r.Array(len(pts))
		for _, p := range pts {
			if opts > 0 {
				c.r.Array(opts + 1)
			}
			c.r.Bulk(p.member)
			if withDist {
				c.r.BulkString(geoCFloat(p.dist, 4))
			}
			if withHash {
				c.r.Int(geoScoreInt(p.score))
			}
			if withCoord {
				c.r.Array(2)
				humanDouble(c.r, geoHumanDouble(p.lon))
				humanDouble(c.r, geoHumanDouble(p.lat))
			}
		}
		return
	}

	event := "georadiusstore"
	if search {
		event = "geosearchstore"
	}
	entries := make([]zEntry, 0, len(pts))
	seen := make(map[string]bool, len(pts))
	for _, p := range pts {
		if seen[string(p.member)] {
			continue // a cell walked twice: Redis would not survive it
		}
		seen[string(p.member)] = true
		s := p.score
		if storeDist {
			s = p.dist
		}
		entries = append(entries, zEntry{member: p.member, score: s})
	}
	c.zstore(storeKey, entries, event)
	c.r.Int(int64(len(pts)))
}

// geoCollect walks the cells of the shape's search in Redis's order
// (membersOfAllNeighbors): a cell equal to the one walked before it is
// skipped, and with a limit (ANY) the walk stops once it has that many
// members. Each cell is one range walk of the scores it spans.
func (c *ctx) geoCollect(co *coll, shape *geoShape, limit int) []geoPoint {
	cells := shape.cells()
	var pts []geoPoint
	last := 0
	for i, cell := range cells {
		if cell.zero() {
			continue
		}
		if last != 0 && cell == cells[last] {
			continue
		}
		if len(pts) > 0 && limit > 0 && len(pts) >= limit {
			break
		}
		lo, hi := geoCellScores(cell)
		r := zRange{min: lo, max: hi, maxex: true}
		if !r.empty() {
			lower, upper := r.bounds()
			co.zwalk(c, lower, upper, false, func(e zEntry) bool {
				lon, lat := geoDecodeScore(e.score)
				if d, ok := shape.contains(lon, lat); ok {
					pts = append(pts, geoPoint{member: e.member, lon: lon, lat: lat, score: e.score, dist: d})
				}
				return !(limit > 0 && len(pts) >= limit)
			})
		}
		last = i
	}
	return pts
}

// geoMergeSort sorts a stably with tmp (as long as a) as scratch, as
// glibc's qsort (msort.c) does: top-down merge sort, the left element
// first on ties.
func geoMergeSort(a, tmp []geoPoint, cmp func(x, y *geoPoint) int) {
	if len(a) < 2 {
		return
	}
	mid := len(a) / 2
	geoMergeSort(a[:mid], tmp[:mid], cmp)
	geoMergeSort(a[mid:], tmp[mid:], cmp)
	if cmp(&a[mid-1], &a[mid]) <= 0 {
		return // already in order
	}
	copy(tmp, a)
	i, j, k := 0, mid, 0
	for i < mid && j < len(a) {
		if cmp(&tmp[i], &tmp[j]) <= 0 {
			a[k] = tmp[i]
			i++
		} else {
			a[k] = tmp[j]
			j++
		}
		k++
	}
	k += copy(a[k:], tmp[i:mid])
	copy(a[k:], tmp[j:])
}

// geoPqsort sorts a[lo:lo+n] enough that positions l..r (absolute
// indexes) hold what a full sort would put there, as Redis's pqsort
// (NetBSD's quicksort, recursing only into parts that overlap l..r)
// does, comparison for comparison, so that equal elements end up where
// Redis puts them.
func geoPqsort(a []geoPoint, lo, n int, cmp func(x, y *geoPoint) int, l, r int) {
	swap := func(i, j int) { a[i], a[j] = a[j], a[i] }
	vecswap := func(i, j, k int) {
		for ; k > 0; k-- {
			swap(i, j)
			i++
			j++
		}
	}
	med3 := func(x, y, z int) int {
		if cmp(&a[x], &a[y]) < 0 {
			if cmp(&a[y], &a[z]) < 0 {
				return y
			}
			if cmp(&a[x], &a[z]) < 0 {
				return z
			}
			return x
		}
		if cmp(&a[y], &a[z]) > 0 {
			return y
		}
		if cmp(&a[x], &a[z]) < 0 {
			return x
		}
		return z
	}
	for {
		if n < 7 {
			for pm := lo + 1; pm < lo+n; pm++ {
				for pl := pm; pl > lo && cmp(&a[pl-1], &a[pl]) > 0; pl-- {
					swap(pl, pl-1)
				}
			}
			return
		}
		pm := lo + n/2
		if n > 7 {
			pl, pn := lo, lo+n-1
			if n > 40 {
				d := n / 8
				pl = med3(pl, pl+d, pl+2*d)
				pm = med3(pm-d, pm, pm+d)
				pn = med3(pn-2*d, pn-d, pn)
			}
			pm = med3(pl, pm, pn)
		}
		swap(lo, pm)
		pa, pb := lo+1, lo+1
		pc, pd := lo+n-1, lo+n-1
		for {
			for pb <= pc {
				res := cmp(&a[pb], &a[lo])
				if res > 0 {
					break
				}
				if res == 0 {
					swap(pa, pb)
					pa++
				}
				pb++
			}
			for pb <= pc {
				res := cmp(&a[pc], &a[lo])
				if res < 0 {
					break
				}
				if res == 0 {
					swap(pc, pd)
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			swap(pb, pc)
			pb++
			pc--
		}
		pn := lo + n
		k := min(pa-lo, pb-pa)
		vecswap(lo, pb-k, k)
		k = min(pd-pc, pn-pd-1)
		vecswap(pb, pn-k, k)
		if k = pb - pa; k > 1 && !(r < lo || l >= lo+k) {
			geoPqsort(a, lo, k, cmp, l, r)
		}
		k = pd - pc
		if k <= 1 {
			return
		}
		lo, n = pn-k, k
		if r < lo || l >= lo+n {
			return
		}
	}
}
