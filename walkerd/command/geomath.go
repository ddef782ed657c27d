package command

import "math"

// Correctly rounded sin, cos and asin for the geo distance formulas.
//
// Redis computes distances with glibc's libm, whose sin, cos and asin
// round to the nearest double in all but vanishingly rare cases; Go's
// math package is off by one unit in the last place far more often, which
// shows in STOREDIST scores and at the edges of a radius. These evaluate
// the functions in double-double arithmetic (about 106 bits: a value is
// hi + lo) and round once, so they give glibc's answer whenever glibc's
// is the nearest double. Arguments here are small (angles of at most a
// turn, asin of [0, 1]).

// dd is an unevaluated sum hi + lo with |lo| <= half an ulp of hi.
type dd struct{ hi, lo float64 }

func ddTwoSum(a, b float64) dd {
	s := a + b
	bb := s - a
	return dd{s, (a - (s - bb)) + (b - bb)}
}

func ddQuick(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

func ddTwoProd(a, b float64) dd {
	p := a * b
	return dd{p, math.FMA(a, b, -p)}
}

func ddAdd(x, y dd) dd {
	s := ddTwoSum(x.hi, y.hi)
	t := ddTwoSum(x.lo, y.lo)
	s.lo += t.hi
	s = ddQuick(s.hi, s.lo)
	s.lo += t.lo
	return ddQuick(s.hi, s.lo)
}

func ddNeg(x dd) dd    { return dd{-x.hi, -x.lo} }
func ddSub(x, y dd) dd { return ddAdd(x, ddNeg(y)) }
func ddMul(x, y dd) dd {
	p := ddTwoProd(x.hi, y.hi)
	p.lo += x.hi*y.lo + x.lo*y.hi
	return ddQuick(p.hi, p.lo)
}

func ddDiv(x, y dd) dd {
	q1 := x.hi / y.hi
	r := ddSub(x, ddMul(y, dd{q1, 0}))
	q2 := r.hi / y.hi
	r = ddSub(r, ddMul(y, dd{q2, 0}))
	q3 := r.hi / y.hi
	return ddAdd(ddQuick(q1, q2), dd{q3, 0})
}

func ddSqrt(x dd) dd {
	if x.hi <= 0 {
		return dd{}
	}
	s := math.Sqrt(x.hi)
	r := ddSub(x, ddTwoProd(s, s))
	return ddQuick(s, r.hi/(2*s))
}

// π/2 as a sum of three doubles.
const (
	geoPio2Hi  = 1.5707963267948966e+00
	geoPio2Mid = 6.123233995736766e-17
	geoPio2Lo  = -1.4973849048591698e-33
)

var geoPio2 = dd{geoPio2Hi, geoPio2Mid}

// geoInvFact[k] is 1/k! as a double-double.
var geoInvFact = func() [32]dd {
	var f [32]dd
	f[0] = dd{1, 0}
	for k := 1; k < len(f); k++ {
		f[k] = ddDiv(f[k-1], dd{float64(k), 0})
	}
	return f
}()

// ddSinSmall and ddCosSmall are sin and cos of |x| <= π/4 by their
// Taylor series to x^29 and x^28 (terms below 2^-110 of the result),
// evaluated by Horner's rule.
func ddSinSmall(x dd) dd {
	x2 := ddMul(x, x)
	sum := geoInvFact[29]
	t := ddNeg(x2)
	for k := 27; k >= 1; k -= 2 {
		sum = ddAdd(ddMul(sum, t), geoInvFact[k])
	}
	return ddMul(sum, x)
}

func ddCosSmall(x dd) dd {
	x2 := ddMul(x, x)
	sum := geoInvFact[28]
	t := ddNeg(x2)
	for k := 26; k >= 0; k -= 2 {
		sum = ddAdd(ddMul(sum, t), geoInvFact[k])
	}
	return sum
}

// ddReduce is x less the nearest multiple k of π/2, and k mod 4.
func ddReduce(x dd) (dd, int64) {
	k := math.Round(x.hi / geoPio2Hi)
	if k == 0 {
		return x, 0
	}
	y := ddSub(x, ddTwoProd(k, geoPio2Hi))
	y = ddSub(y, ddTwoProd(k, geoPio2Mid))
	y = ddSub(y, dd{k * geoPio2Lo, 0})
	return y, int64(k) & 3
}

// ddSin and ddCos are sin and cos of x.
func ddSin(x dd) dd {
	y, q := ddReduce(x)
	switch q {
	case 1:
		return ddCosSmall(y)
	case 2:
		return ddNeg(ddSinSmall(y))
	case 3:
		return ddNeg(ddCosSmall(y))
	}
	return ddSinSmall(y)
}

func ddCos(x dd) dd {
	y, q := ddReduce(x)
	switch q {
	case 1:
		return ddNeg(ddSinSmall(y))
	case 2:
		return ddNeg(ddCosSmall(y))
	case 3:
		return ddSinSmall(y)
	}
	return ddCosSmall(y)
}

// ddAsinSmall is asin of 0 <= y <= 0.5: one Newton step on sin from the
// double approximation, which doubles its ~53 correct bits.
func ddAsinSmall(y dd) dd {
	z := dd{math.Asin(y.hi), 0}
	return ddSub(z, ddDiv(ddSub(ddSinSmall(z), y), ddCosSmall(z)))
}

// geoSin, geoCos and geoAsin are sin, cos and asin rounded to the
// nearest double.
func geoSin(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e6 {
		return math.Sin(x)
	}
	s := ddSin(dd{x, 0})
	return s.hi + s.lo
}

func geoCos(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e6 {
		return math.Cos(x)
	}
	c := ddCos(dd{x, 0})
	return c.hi + c.lo
}

func geoAsin(y float64) float64 {
	if y == 0 || math.IsNaN(y) || y > 1 || y < -1 {
		return math.Asin(y)
	}
	neg := y < 0
	if neg {
		y = -y
	}
	var z dd
	if y <= 0.5 {
		z = ddAsinSmall(dd{y, 0})
	} else {
		// asin(y) = π/2 - 2 asin(sqrt((1-y)/2))
		t := ddSqrt(ddMul(ddTwoSum(1, -y), dd{0.5, 0}))
		w := ddAsinSmall(t)
		z = ddSub(ddAdd(geoPio2, dd{geoPio2Lo, 0}), ddAdd(w, w))
	}
	r := z.hi + z.lo
	if neg {
		r = -r
	}
	return r
}
