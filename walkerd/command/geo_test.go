package command

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// Known values, as redis-server 7.0.15 answers them.
func TestGeo_EncodeDecodeMatchRedis(t *testing.T) {
	cases := []struct {
		lon, lat float64
		score    uint64
		pos      [2]string
		hash     string
	}{
		{13.361389, 38.115556, 3479099956230698, [2]string{"13.36138933897018433", "38.11555639549629859"}, "sqc8b49rny0"},
		{15.087269, 37.502669, 3479447370796909, [2]string{"15.08726745843887329", "37.50266842333162032"}, "sqdtr74hyu0"},
		{0, 0, 3377699720527872, [2]string{"0.00000268220901489", "0.00000126736058093"}, "s0000000000"},
		{-180, -85.05112878, 0, [2]string{"-179.99999731779098511", "-85.05112751263942528"}, "00bh0hbj200"},
		{180, 85.05112878, 13510798882111488, [2]string{"180", "85.0511287799999991"}, "bp05b5048p0"},
	}
	for _, tc := range cases {
		if got := geoEncodeWGS84(tc.lon, tc.lat); got != tc.score {
			t.Errorf("encode %v,%v = %d, want %d", tc.lon, tc.lat, got, tc.score)
		}
		lon, lat := geoDecodeScore(float64(tc.score))
		if got := [2]string{geoHumanDouble(lon), geoHumanDouble(lat)}; got != tc.pos {
			t.Errorf("decode %d = %v, want %v", tc.score, got, tc.pos)
		}
		if got := geoHashString(float64(tc.score)); got != tc.hash {
			t.Errorf("geohash %d = %s, want %s", tc.score, got, tc.hash)
		}
	}
}

// Scores that are not geohashes convert as x86-64's (uint64_t) cast does.
func TestGeo_ScoreBits(t *testing.T) {
	cases := []struct {
		f    float64
		want uint64
	}{
		{-5, 0xFFFFFFFFFFFFFFFB}, {1.5, 1}, {math.Inf(1), 0}, {math.Inf(-1), 1 << 63},
		{1e300, 0}, {9223372036854775808, 1 << 63}, {18446744073709551616, 0}, {-0.5, 0},
		{4503599627370496, 4503599627370496},
	}
	for _, tc := range cases {
		if got := geoScoreBits(tc.f); got != tc.want {
			t.Errorf("geoScoreBits(%v) = %#x, want %#x", tc.f, got, tc.want)
		}
	}
	if geoScoreInt(1e300) != math.MinInt64 || geoScoreInt(-3.5) != -3 {
		t.Errorf("geoScoreInt: %d %d", geoScoreInt(1e300), geoScoreInt(-3.5))
	}
}

func TestGeo_HumanDouble(t *testing.T) {
	for f, want := range map[float64]string{0: "0", math.Copysign(0, -1): "0", 180: "180", 0.5: "0.5",
		-1.25: "-1.25", 1e-20: "0", -1e-20: "0", math.Inf(1): "inf"} {
		if got := geoHumanDouble(f); got != want {
			t.Errorf("geoHumanDouble(%v) = %q, want %q", f, got, want)
		}
	}
}

// bigSin is sin(x) to 300 bits by its Taylor series.
func bigSin(x *big.Float) *big.Float {
	const prec = 300
	x2 := new(big.Float).SetPrec(prec).Mul(x, x)
	term := new(big.Float).SetPrec(prec).Set(x)
	sum := new(big.Float).SetPrec(prec).Set(x)
	for n := 2; n < 200; n += 2 {
		term.Mul(term, x2)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(n*(n+1))))
		term.Neg(term)
		sum.Add(sum, term)
	}
	return sum
}

// roundsTo reports whether r is the double nearest to v.
func roundsTo(v *big.Float, r float64) bool {
	lo := new(big.Float).SetPrec(300).SetFloat64(math.Nextafter(r, math.Inf(-1)))
	hi := new(big.Float).SetPrec(300).SetFloat64(math.Nextafter(r, math.Inf(1)))
	rb := new(big.Float).SetPrec(300).SetFloat64(r)
	mlo := new(big.Float).SetPrec(300).Add(lo, rb)
	mlo.Quo(mlo, big.NewFloat(2))
	mhi := new(big.Float).SetPrec(300).Add(hi, rb)
	mhi.Quo(mhi, big.NewFloat(2))
	return v.Cmp(mlo) >= 0 && v.Cmp(mhi) <= 0
}

// geoSin, geoCos and geoAsin round to the nearest double, as glibc does.
func TestGeo_MathCorrectlyRounded(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pi := new(big.Float).SetPrec(300)
	pi.SetString("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798")
	for i := 0; i < 1500; i++ {
		x := (r.Float64()*2 - 1) * math.Pi
		if i%5 == 0 {
			x = geoDegRad(float64(r.IntN(36001)-18000) / 100) // the half-angles and latitudes the formulas meet
		}
		bx := new(big.Float).SetPrec(300).SetFloat64(x)
		if s := geoSin(x); !roundsTo(bigSin(bx), s) {
			t.Fatalf("geoSin(%v) = %v, not the nearest double", x, s)
		}
		// cos x = sin(π/2 - x)
		arg := new(big.Float).SetPrec(300).Quo(pi, big.NewFloat(2))
		arg.Sub(arg, bx)
		if c := geoCos(x); !roundsTo(bigSin(arg), c) {
			t.Fatalf("geoCos(%v) = %v, not the nearest double", x, c)
		}
		// asin: y lies between the sines of the half-way points around
		// the result (sin grows on [0, π/2]).
		y := r.Float64()
		if i%3 == 0 {
			y = 1 - r.Float64()*1e-6
		}
		a := geoAsin(y)
		half := func(b float64) *big.Float {
			m := new(big.Float).SetPrec(300).SetFloat64(a)
			m.Add(m, new(big.Float).SetPrec(300).SetFloat64(b))
			return m.Quo(m, big.NewFloat(2))
		}
		by := new(big.Float).SetPrec(300).SetFloat64(y)
		if bigSin(half(math.Nextafter(a, 0))).Cmp(by) > 0 || (a < math.Pi/2 && bigSin(half(math.Nextafter(a, 2))).Cmp(by) < 0) {
			t.Fatalf("geoAsin(%v) = %v, not the nearest double", y, a)
		}
	}
	if geoAsin(1) != math.Pi/2 || geoSin(0) != 0 || geoCos(0) != 1 {
		t.Fatalf("asin(1) %v sin(0) %v cos(0) %v", geoAsin(1), geoSin(0), geoCos(0))
	}
}

// The partial sort leaves the first k positions as a full sort by
// distance would (the same multiset at each distance) for arrays with
// many ties, at the sizes where pqsort changes strategy (7, 40).
func TestGeo_PqsortPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cmp := func(a, b *geoPoint) int {
		switch {
		case a.dist > b.dist:
			return 1
		case a.dist == b.dist:
			return 0
		}
		return -1
	}
	for iter := 0; iter < 3000; iter++ {
		n := 1 + r.IntN(120)
		pts := make([]geoPoint, n)
		for i := range pts {
			pts[i] = geoPoint{member: []byte(strconv.Itoa(i)), dist: float64(r.IntN(1 + n/3))}
		}
		want := slices.Clone(pts)
		slices.SortStableFunc(want, func(a, b geoPoint) int { return cmp(&a, &b) })
		k := 1 + r.IntN(n)
		got := slices.Clone(pts)
		geoPqsort(got, 0, n, cmp, 0, k-1)
		for i := 0; i < k; i++ {
			if got[i].dist != want[i].dist {
				t.Fatalf("n=%d k=%d: position %d has distance %v, want %v", n, k, i, got[i].dist, want[i].dist)
			}
		}
		seen := map[string]bool{}
		for _, p := range got {
			seen[string(p.member)] = true
		}
		if len(seen) != n {
			t.Fatalf("n=%d: elements lost", n)
		}
	}
}

func TestGeo_StoreKeys(t *testing.T) {
	cases := []struct {
		args string
		want string
	}{
		{"georadius k 1 2 3 km", "k"},
		{"georadius k 1 2 3 km store a", "k a"},
		{"georadius k 1 2 3 km STOREDIST b", "k b"},
		{"georadius k 1 2 3 km store a storedist b store c", "k a b"},
		{"georadius k 1 2 3 km store", "k"},
		{"georadiusbymember k store 3 km storedist a", "k a"},
		{"geosearchstore d s fromlonlat 1 2 byradius 1 km", "d s"},
	}
	for _, tc := range cases {
		args := cmd(strings.Fields(tc.args)...)
		var got []string
		for _, k := range Lookup(args[0]).Keys(args) {
			got = append(got, string(k))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("Keys(%s) = %v, want %s", tc.args, got, tc.want)
		}
	}
}

// geoApply applies one command as its own entry: its RESP2 and RESP3
// replies and its touches as "key:event" words.
func geoApply(t testing.TB, a *applier, args ...string) (string, string, string) {
	t.Helper()
	a.index++
	res, err := ApplyEntry(a.db, a.index, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd(args...)}})
	if err != nil {
		t.Fatal(err)
	}
	var ev []string
	for _, tc := range res.Touched {
		ev = append(ev, string(tc.Key)+":"+tc.Event)
	}
	e3 := &resp.Encoder{Proto: 3}
	res.Reply().WriteTo(e3)
	return render(res, false), string(e3.B), strings.Join(ev, " ")
}

func TestGeo_Commands(t *testing.T) {
	a := newApplier(t)
	steps := []struct {
		args         []string
		resp2, event string
		resp3        string // "" when as RESP2
	}{
		{[]string{"GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"}, ":2\r\n", "g:zadd", ""},
		{[]string{"GEOADD", "g", "XX", "CH", "13.361389", "38.115556", "Palermo"}, ":0\r\n", "", ""},
		{[]string{"GEOADD", "g", "NX", "XX", "1", "2", "x"}, "-ERR syntax error\r\n", "", ""},
		{[]string{"GEOADD", "g", "181", "2", "x"}, "-ERR invalid longitude,latitude pair 181.000000,2.000000\r\n", "", ""},
		{[]string{"ZSCORE", "g", "Palermo"}, "$16\r\n3479099956230698\r\n", "", ",3479099956230698\r\n"},
		{[]string{"GEOPOS", "g", "Palermo", "nope"}, "*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n", "",
			"*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"},
		{[]string{"GEODIST", "g", "Palermo", "Catania", "km"}, "$8\r\n166.2742\r\n", "", ""},
		{[]string{"GEODIST", "g", "Palermo", "Catania", "yd"}, "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n", "", ""},
		{[]string{"GEOHASH", "g", "Palermo", "nope"}, "*2\r\n$11\r\nsqc8b49rny0\r\n$-1\r\n", "", "*2\r\n$11\r\nsqc8b49rny0\r\n_\r\n"},
		{[]string{"GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHDIST"},
			"*2\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n", "", ""},
		{[]string{"GEORADIUS", "g", "15", "37", "200", "km", "STORE", "d"}, ":2\r\n", "d:georadiusstore", ""},
		{[]string{"GEOSEARCHSTORE", "d2", "g", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "km"}, ":1\r\n", "d2:geosearchstore", ""},
		{[]string{"GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "0", "0", "BYBOX", "1", "1", "km"}, ":0\r\n", "d2:del", ""},
		{[]string{"GEORADIUS", "nokey", "15", "37", "200", "km", "STOREDIST", "d"}, ":0\r\n", "d:del", ""},
		{[]string{"GEOSEARCH", "g", "BYRADIUS", "1", "km", "ANY", "ASC"}, "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH\r\n", "", ""},
		{[]string{"GEORADIUSBYMEMBER", "g", "nope", "1", "km"}, "-ERR could not decode requested zset member\r\n", "", ""},
		{[]string{"SET", "s", "v"}, "+OK\r\n", "s:set", ""},
		{[]string{"GEORADIUS", "s", "500", "0", "1", "bad"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "", ""},
	}
	for _, st := range steps {
		r2, r3, ev := geoApply(t, a, st.args...)
		want3 := st.resp3
		if want3 == "" {
			want3 = st.resp2
		}
		if r2 != st.resp2 || ev != st.event || r3 != want3 {
			t.Errorf("%v:\n got  %q %q [%s]\n want %q %q [%s]", st.args, r2, r3, ev, st.resp2, want3, st.event)
		}
	}
}

// A preformatted double survives the wire form of a reply.
func TestGeo_HumanDoubleWire(t *testing.T) {
	r := Reply{{Kind: KindArray, N: 1}, {Kind: KindHumanDouble, S: []byte("13.36138933897018433")}}
	back, err := DecodeReply(EncodeReply(r))
	if err != nil || len(back) != 2 || back[1].Kind != KindHumanDouble || string(back[1].S) != "13.36138933897018433" {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

// BenchmarkGeo measures GEOADD (one member per entry, into a key of 10k
// members) and GEOSEARCH BYRADIUS over 10k members spread over about
// 100 km around one point (radii of 1, 10 and 50 km).
func BenchmarkGeo(b *testing.B) {
	const n = 10000
	db := openDB(b)
	now := time.Now().UnixMilli()
	r := rand.New(rand.NewPCG(5, 6))
	pos := func() (string, string) {
		return strconv.FormatFloat(13+r.Float64(), 'f', 6, 64), strconv.FormatFloat(38+r.Float64()*0.8, 'f', 6, 64)
	}
	idx := uint64(0)
	for lo := 0; lo < n; lo += 500 {
		args := [][]byte{[]byte("GEOADD"), []byte("g")}
		for i := lo; i < lo+500; i++ {
			lon, lat := pos()
			args = append(args, []byte(lon), []byte(lat), []byte("member:"+strconv.Itoa(i)))
		}
		idx++
		ApplyEntry(db, idx, &Entry{NowMs: now, Cmds: [][][]byte{args}})
	}
	b.Run("GEOADD/n=10k", func(b *testing.B) {
		a := NewApplier(db)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			lon, lat := pos()
			idx++
			a.ApplyOne(idx, &Entry{NowMs: now, Cmds: [][][]byte{{[]byte("GEOADD"), []byte("g"),
				[]byte(lon), []byte(lat), []byte("member:" + strconv.Itoa(i%n))}}})
		}
	})
	for _, radius := range []string{"1", "10", "50"} {
		b.Run("GEOSEARCH_BYRADIUS_"+radius+"km/n=10k", func(b *testing.B) {
			args := cmd("GEOSEARCH", "g", "FROMLONLAT", "13.5", "38.4", "BYRADIUS", radius, "km", "ASC")
			e := &resp.Encoder{Proto: 2}
			b.ReportAllocs()
			for b.Loop() {
				e.B = e.B[:0]
				if err := Read(db, 0, now, nil, args, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
