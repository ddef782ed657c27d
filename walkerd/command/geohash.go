package command

import (
	"math"
	"strconv"
	"strings"
)

// Geohashes, as Redis 7.0's geohash.c and geohash_helper.c compute them.
//
// A position is a 52-bit geohash: the longitude and the latitude are each
// cut into 2^26 cells (longitude over [-180, 180], latitude over
// [-85.05112878, 85.05112878], the Web Mercator limits), and the two cell
// numbers are interleaved, latitude in the even bits and longitude in the
// odd ones:
//
//	bit  51 50 49 48 ...  1  0
//	     x25 y25 x24 y24 ... x0 y0      x: longitude cell, y: latitude cell
//
// so that cells near each other mostly share a prefix. Geo commands keep
// it as a sorted set score (an integer below 2^52, exact in a float64); a
// cell decodes to its center. Searches look at the cell holding the
// center at a coarser step (2*step bits) and its eight neighbours, each a
// score range [hash << (52-2*step), (hash+1) << (52-2*step)).
//
// The arithmetic is done in the same order and precision as the C code,
// so that scores, decoded positions and the cells searched are bit for
// bit Redis's. Distances use sin, cos and asin rounded to the nearest
// double (geomath.go), as glibc's libm gives them, so that STOREDIST
// scores and the members at a radius's edge are Redis's too.

// Limits of the encodable area (geohash.h).
const (
	geoLongMin = -180.0
	geoLongMax = 180.0
	geoLatMin  = -85.05112878
	geoLatMax  = 85.05112878

	geoStepMax = 26 // 52 bits

	// geoEarthRadius is Redis's Earth radius in meters
	// (EARTH_RADIUS_IN_METERS, the WGS-84 quadratic mean).
	geoEarthRadius = 6372797.560856
	// geoMercatorMax is half the Earth's circumference at the equator
	// (MERCATOR_MAX).
	geoMercatorMax = 20037726.37
)

// geoPi is M_PI as a double; geoDR is M_PI/180.0 rounded as C rounds
// it: the double pi divided by 180 (not the exact quotient).
var (
	geoPi = float64(math.Pi)
	geoDR = geoPi / 180.0
)

func geoDegRad(d float64) float64 { return d * geoDR }
func geoRadDeg(r float64) float64 { return r / geoDR }

// geoRange is a coordinate interval (GeoHashRange).
type geoRange struct{ min, max float64 }

// geoBits is a geohash of 2*step bits (GeoHashBits). The zero value (no
// bits, step 0) is a neighbour that a search skips (GZERO).
type geoBits struct {
	bits uint64
	step uint
}

func (h geoBits) zero() bool { return h.bits == 0 && h.step == 0 }

// geoArea is the cell a hash covers (GeoHashArea).
type geoArea struct {
	hash     geoBits
	lon, lat geoRange
}

// The coordinate ranges of the stored hashes (geohashGetCoordRange).
var (
	geoLongRange = geoRange{geoLongMin, geoLongMax}
	geoLatRange  = geoRange{geoLatMin, geoLatMax}
)

// geoInterleave puts the bits of x in the even positions and those of y in
// the odd ones.
func geoInterleave(x, y uint32) uint64 {
	spread := func(v uint64) uint64 {
		v = (v | v<<16) & 0x0000FFFF0000FFFF
		v = (v | v<<8) & 0x00FF00FF00FF00FF
		v = (v | v<<4) & 0x0F0F0F0F0F0F0F0F
		v = (v | v<<2) & 0x3333333333333333
		return (v | v<<1) & 0x5555555555555555
	}
	return spread(uint64(x)) | spread(uint64(y))<<1
}

// geoDeinterleave undoes geoInterleave: the even bits in the low 32 bits
// of the result, the odd ones in the high 32.
func geoDeinterleave(v uint64) uint64 {
	squash := func(v uint64) uint64 {
		v &= 0x5555555555555555
		v = (v | v>>1) & 0x3333333333333333
		v = (v | v>>2) & 0x0F0F0F0F0F0F0F0F
		v = (v | v>>4) & 0x00FF00FF00FF00FF
		v = (v | v>>8) & 0x0000FFFF0000FFFF
		return (v | v>>16) & 0x00000000FFFFFFFF
	}
	return squash(v) | squash(v>>1)<<32
}

// geoEncode hashes a position at step over the given ranges, as
// geohashEncode does; ok is false outside the encodable area or the
// ranges.
func geoEncode(lonR, latR geoRange, lon, lat float64, step uint) (geoBits, bool) {
	if lon > 180 || lon < -180 || lat > 85.05112878 || lat < -85.05112878 {
		return geoBits{}, false
	}
	if lat < latR.min || lat > latR.max || lon < lonR.min || lon > lonR.max {
		return geoBits{step: step}, false
	}
	latOff := (lat - latR.min) / (latR.max - latR.min)
	lonOff := (lon - lonR.min) / (lonR.max - lonR.min)
	latOff *= float64(int64(1) << step)
	lonOff *= float64(int64(1) << step)
	return geoBits{bits: geoInterleave(uint32(int64(latOff)), uint32(int64(lonOff))), step: step}, true
}

// geoEncodeWGS84 is the 52-bit hash a position is stored with.
func geoEncodeWGS84(lon, lat float64) uint64 {
	h, _ := geoEncode(geoLongRange, geoLatRange, lon, lat, geoStepMax)
	return h.bits
}

// geoDecode is the cell of a hash over the given ranges (geohashDecode).
// The cell numbers are 32-bit, and the "+1" of a cell's upper edge wraps
// as C's unsigned arithmetic wraps it.
func geoDecode(lonR, latR geoRange, h geoBits) geoArea {
	sep := geoDeinterleave(h.bits)
	latScale := latR.max - latR.min
	lonScale := lonR.max - lonR.min
	ilat := uint32(sep)
	ilon := uint32(sep >> 32)
	div := float64(uint64(1) << h.step)
	return geoArea{
		hash: h,
		lat: geoRange{
			min: latR.min + (float64(ilat)*1.0/div)*latScale,
			max: latR.min + (float64(ilat+1)*1.0/div)*latScale,
		},
		lon: geoRange{
			min: lonR.min + (float64(ilon)*1.0/div)*lonScale,
			max: lonR.min + (float64(ilon+1)*1.0/div)*lonScale,
		},
	}
}

// geoScoreBits converts a sorted set score to a hash as C's (uint64_t)
// cast does on x86-64 (decodeGeohash): truncation toward zero; negative
// scores wrap as a signed conversion does, and scores out of range give
// what cvttsd2si gives (2^63 below -2^63, 0 at 2^64 and above).
func geoScoreBits(f float64) uint64 {
	const two63 = 9223372036854775808.0
	if f < two63 {
		if f < -two63 || math.IsNaN(f) {
			return 1 << 63
		}
		return uint64(int64(f))
	}
	g := f - two63
	if g >= two63 || math.IsNaN(g) {
		return 0
	}
	return uint64(int64(g)) ^ 1<<63
}

// geoScoreInt is a score as C's (long long) cast gives it on x86-64
// (WITHHASH): out of range is the minimum.
func geoScoreInt(f float64) int64 {
	if f >= 9223372036854775808.0 || f < -9223372036854775808.0 || math.IsNaN(f) {
		return math.MinInt64
	}
	return int64(f)
}

// geoDecodeScore is the position a score stands for: the center of its
// 52-bit cell, clamped to the encodable area (decodeGeohash). Every score
// decodes.
func geoDecodeScore(score float64) (lon, lat float64) {
	a := geoDecode(geoLongRange, geoLatRange, geoBits{bits: geoScoreBits(score), step: geoStepMax})
	lon = (a.lon.min + a.lon.max) / 2
	lon = min(max(lon, geoLongMin), geoLongMax)
	lat = (a.lat.min + a.lat.max) / 2
	lat = min(max(lat, geoLatMin), geoLatMax)
	return lon, lat
}

// geoMove moves a hash one cell east (d > 0) or west (d < 0) when x, or
// north or south when !x, wrapping around (geohash_move_x/_y).
func geoMove(h *geoBits, d int, x bool) {
	if d == 0 {
		return
	}
	odd, even := uint64(0xaaaaaaaaaaaaaaaa), uint64(0x5555555555555555)
	shift := 64 - h.step*2
	mine, other := h.bits&odd, h.bits&even
	zz := even >> shift
	keep := odd >> shift
	if !x {
		mine, other = h.bits&even, h.bits&odd
		zz = odd >> shift
		keep = even >> shift
	}
	if d > 0 {
		mine += zz + 1
	} else {
		mine |= zz
		mine -= zz + 1
	}
	mine &= keep
	h.bits = mine | other
}

// geoNeighbors are the eight cells around a hash.
type geoNeighbors struct {
	north, south, east, west                   geoBits
	northEast, northWest, southEast, southWest geoBits
}

func geoNeighborsOf(h geoBits) geoNeighbors {
	at := func(dx, dy int) geoBits {
		n := h
		geoMove(&n, dx, true)
		geoMove(&n, dy, false)
		return n
	}
	return geoNeighbors{
		east: at(1, 0), west: at(-1, 0), south: at(0, -1), north: at(0, 1),
		northWest: at(-1, 1), northEast: at(1, 1), southEast: at(1, -1), southWest: at(-1, -1),
	}
}

// geoDistance is the haversine distance in meters between two positions
// (geohashGetDistance, Redis 7.0's form).
func geoDistance(lon1, lat1, lon2, lat2 float64) float64 {
	return geoDistanceCos(lon1, lat1, geoCos(geoDegRad(lat1)), lon2, lat2)
}

// geoDistanceCos is geoDistance with the cosine of the first latitude
// (in radians) given: a search computes its center's once.
func geoDistanceCos(lon1, lat1, cosLat1, lon2, lat2 float64) float64 {
	lat1r := geoDegRad(lat1)
	lon1r := geoDegRad(lon1)
	lat2r := geoDegRad(lat2)
	lon2r := geoDegRad(lon2)
	u := geoSin((lat2r - lat1r) / 2)
	v := geoSin((lon2r - lon1r) / 2)
	return 2.0 * geoEarthRadius * geoAsin(math.Sqrt(u*u+cosLat1*geoCos(lat2r)*v*v))
}

// geoStepsByRadius estimates the step of the nine cells that cover a
// search of range meters at a latitude (geohashEstimateStepsByRadius).
func geoStepsByRadius(rangeMeters, lat float64) uint {
	if rangeMeters == 0 {
		return 26
	}
	step := 1
	for rangeMeters < geoMercatorMax {
		rangeMeters *= 2
		step++
	}
	step -= 2
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	return uint(min(max(step, 1), 26))
}

// geoShape is a search area (GeoShape): a circle of radius, or a box of
// width by height, both in the unit whose meters are conv, around the
// center lon, lat.
type geoShape struct {
	box                   bool
	lon, lat              float64
	conv                  float64
	radius, width, height float64

	cosLat float64 // cos of lat in radians, once set (cosSet)
	cosSet bool
}

// bounds is the shape's bounding box (geohashBoundingBox): min longitude,
// min latitude, max longitude, max latitude.
func (s *geoShape) bounds() (minLon, minLat, maxLon, maxLat float64) {
	var height, width float64
	if s.box {
		height = s.conv * (s.height / 2)
		width = s.conv * (s.width / 2)
	} else {
		height = s.conv * s.radius
		width = s.conv * s.radius
	}
	latDelta := geoRadDeg(height / geoEarthRadius)
	lonDeltaTop := geoRadDeg(width / geoEarthRadius / geoCos(geoDegRad(s.lat+latDelta)))
	lonDeltaBottom := geoRadDeg(width / geoEarthRadius / geoCos(geoDegRad(s.lat-latDelta)))
	if s.lat < 0 {
		minLon, maxLon = s.lon-lonDeltaBottom, s.lon+lonDeltaBottom
	} else {
		minLon, maxLon = s.lon-lonDeltaTop, s.lon+lonDeltaTop
	}
	return minLon, s.lat - latDelta, maxLon, s.lat + latDelta
}

// cells are the nine cells a search walks, center first, then north,
// south, east, west, north-east, north-west, south-east, south-west;
// zero ones are skipped (geohashCalculateAreasByShapeWGS84).
func (s *geoShape) cells() [9]geoBits {
	minLon, minLat, maxLon, maxLat := s.bounds()
	var radius float64
	if s.box {
		radius = math.Sqrt((s.width/2)*(s.width/2) + (s.height/2)*(s.height/2))
	} else {
		radius = s.radius
	}
	radius *= s.conv
	steps := geoStepsByRadius(radius, s.lat)
	hash, _ := geoEncode(geoLongRange, geoLatRange, s.lon, s.lat, steps)
	nb := geoNeighborsOf(hash)
	area := geoDecode(geoLongRange, geoLatRange, hash)

	// A step too coarse at the edges of the area: one step coarser.
	north := geoDecode(geoLongRange, geoLatRange, nb.north)
	south := geoDecode(geoLongRange, geoLatRange, nb.south)
	east := geoDecode(geoLongRange, geoLatRange, nb.east)
	west := geoDecode(geoLongRange, geoLatRange, nb.west)
	decrease := north.lat.max < maxLat || south.lat.min > minLat || east.lon.max < maxLon || west.lon.min > minLon
	if steps > 1 && decrease {
		steps--
		hash, _ = geoEncode(geoLongRange, geoLatRange, s.lon, s.lat, steps)
		nb = geoNeighborsOf(hash)
		area = geoDecode(geoLongRange, geoLatRange, hash)
	}
	// The cells the search area does not reach.
	if steps >= 2 {
		if area.lat.min < minLat {
			nb.south, nb.southWest, nb.southEast = geoBits{}, geoBits{}, geoBits{}
		}
		if area.lat.max > maxLat {
			nb.north, nb.northEast, nb.northWest = geoBits{}, geoBits{}, geoBits{}
		}
		if area.lon.min < minLon {
			nb.west, nb.southWest, nb.northWest = geoBits{}, geoBits{}, geoBits{}
		}
		if area.lon.max > maxLon {
			nb.east, nb.southEast, nb.northEast = geoBits{}, geoBits{}, geoBits{}
		}
	}
	return [9]geoBits{hash, nb.north, nb.south, nb.east, nb.west, nb.northEast, nb.northWest, nb.southEast, nb.southWest}
}

// contains reports whether the position lon, lat is in the shape, and
// its distance in meters from the center (geoWithinShape): within the
// radius, or within half the width along the position's parallel and
// half the height along its meridian (Redis 7.0's
// geohashGetDistanceIfInRectangle).
func (s *geoShape) contains(lon, lat float64) (float64, bool) {
	if !s.cosSet {
		s.cosLat, s.cosSet = geoCos(geoDegRad(s.lat)), true
	}
	if !s.box {
		d := geoDistanceCos(s.lon, s.lat, s.cosLat, lon, lat)
		return d, d <= s.radius*s.conv
	}
	cosLat := geoCos(geoDegRad(lat))
	lonDist := geoDistanceCos(lon, lat, cosLat, s.lon, lat)
	latDist := geoDistanceCos(lon, lat, cosLat, lon, s.lat)
	if lonDist > s.width*s.conv/2 || latDist > s.height*s.conv/2 {
		return 0, false
	}
	return geoDistanceCos(s.lon, s.lat, s.cosLat, lon, lat), true
}

// geoCellScores are the scores [lo, hi) of the positions in a cell
// (scoresOfGeoHashBox).
func geoCellScores(h geoBits) (lo, hi float64) {
	shift := 52 - h.step*2
	return float64(h.bits << shift), float64((h.bits + 1) << shift)
}

// geoHashString is the standard 11-character base32 geohash of a score
// (GEOHASH): the decoded position re-encoded over [-180, 180] and
// [-90, 90]; the 11th character stands for bits the score does not have.
func geoHashString(score float64) string {
	const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
	lon, lat := geoDecodeScore(score)
	h, _ := geoEncode(geoRange{-180, 180}, geoRange{-90, 90}, lon, lat, 26)
	var b [11]byte
	for i := 0; i < 11; i++ {
		idx := 0
		if i < 10 {
			idx = int(h.bits>>(52-(i+1)*5)) & 0x1f
		}
		b[i] = alphabet[idx]
	}
	return string(b[:])
}

// geoHumanDouble formats a coordinate as Redis's addReplyHumanLongDouble
// does (ld2string LD_STR_HUMAN): "%.17Lf" of the value, trailing zeros
// and a trailing '.' removed, "-0" as "0". The value is a double, so its
// long double is the same number.
func geoHumanDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'f', 17, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// geoCFloat formats f as C's printf "%.*f" does: inf and nan spelled as
// glibc spells them.
func geoCFloat(f float64, prec int) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}
