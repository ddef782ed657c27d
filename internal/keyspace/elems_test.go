package keyspace

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The byte vectors below are the layout walkerd/command/coll.go documents
// and writes (listPos, listStart, zScoreBytes, zSortable, the 'm' and 's'
// families), spelled out by hand: a change on either side breaks them.
func TestElems_GoldenBytesOfTheDocumentedLayout(t *testing.T) {
	for _, c := range []struct {
		name string
		got  []byte
		want string
	}{
		{"ListPos(ListStart)", ListPos(ListStart), "8000000000000000"},
		{"ListPos(ListStart-1)", ListPos(ListStart - 1), "7fffffffffffffff"},
		{"ListPos(1)", ListPos(1), "0000000000000001"},
		{"EncodeListHead(ListStart+2)", EncodeListHead(ListStart + 2), "8000000000000002"},
		{"ZMemberElem(ab)", ZMemberElem([]byte("ab")), "6d" + "6162"},
		{"ZScoreValue(1.5)", ZScoreValue(1.5), "3ff8000000000000"},
		{"ZScoreValue(-2)", ZScoreValue(-2), "c000000000000000"},
		{"ZScoreValue(+inf)", ZScoreValue(math.Inf(1)), "7ff0000000000000"},
		// Sortable: sign bit set for non-negative, all bits flipped for negative.
		{"ZScoreElem(0, m)", ZScoreElem(0, []byte("m")), "73" + "8000000000000000" + "6d"},
		{"ZScoreElem(-0, m)", ZScoreElem(math.Copysign(0, -1), []byte("m")), "73" + "8000000000000000" + "6d"},
		{"ZScoreElem(1.5, x)", ZScoreElem(1.5, []byte("x")), "73" + "bff8000000000000" + "78"},
		{"ZScoreElem(-2, x)", ZScoreElem(-2, []byte("x")), "73" + "3fffffffffffffff" + "78"},
		{"ZScoreElem(-inf, )", ZScoreElem(math.Inf(-1), nil), "73" + "000fffffffffffff"},
		{"ZScoreElem(+inf, )", ZScoreElem(math.Inf(1), nil), "73" + "fff0000000000000"},
	} {
		if h := hex.EncodeToString(c.got); h != c.want {
			t.Errorf("%s = %s, want %s", c.name, h, c.want)
		}
	}
	if ZMemberFamily != 'm' || ZScoreFamily != 's' || ListStart != 1<<63 {
		t.Fatal("family bytes or list start moved")
	}
}

// Sortable scores order as numbers, and by-score sub-keys as Redis's
// skiplist orders members: by score, then member bytes.
func TestElems_ByScoreKeysSortAsRedisOrdersASortedSet(t *testing.T) {
	scores := []float64{math.Inf(-1), -math.MaxFloat64, -1e300, -2.5, -1, -math.SmallestNonzeroFloat64,
		0, math.SmallestNonzeroFloat64, 1e-300, 1, 1.0000000000000002, 3, 1e300, math.MaxFloat64, math.Inf(1)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		scores = append(scores, math.Float64frombits(r.Uint64()))
	}
	scores = slices.DeleteFunc(scores, math.IsNaN)
	type zm struct {
		s float64
		m string
	}
	var ms []zm
	for i, s := range scores {
		ms = append(ms, zm{s, string(rune('a' + i%3))})
	}
	byKey := slices.Clone(ms)
	slices.SortFunc(byKey, func(a, b zm) int {
		return bytes.Compare(ZScoreElem(a.s, []byte(a.m)), ZScoreElem(b.s, []byte(b.m)))
	})
	for i := 1; i < len(byKey); i++ {
		a, b := byKey[i-1], byKey[i]
		if a.s > b.s || (a.s == b.s && a.m > b.m) {
			t.Fatalf("by-score keys order (%v %q) before (%v %q)", a.s, a.m, b.s, b.m)
		}
	}
	for _, s := range scores {
		got, err := DecodeZSortable(ZScoreElem(s, nil)[1:])
		if err != nil || got != s {
			t.Fatalf("DecodeZSortable(AppendZSortable(%v)) = %v, %v", s, got, err)
		}
	}
}

func TestElems_DecodeElemInvertsElemKeyForEveryType(t *testing.T) {
	cases := []struct {
		t Type
		e Element
	}{
		{Hash, Element{Name: []byte("field"), Value: []byte("value")}},
		{Hash, Element{Name: []byte{}, Value: []byte{}}},
		{Set, Element{Name: []byte("\x00member\xff")}},
		{List, Element{Pos: ListStart - 5, Value: []byte("elem")}},
		{List, Element{Pos: 0, Value: []byte{}}},
		{ZSet, Element{Name: []byte("m"), Score: -1.25}},
		{ZSet, Element{Name: []byte("m"), Score: math.Inf(1)}},
		{ZSet, Element{Name: []byte("m\x00s"), Score: 3.5, Index: true}},
		{ZSet, Element{Name: []byte{}, Score: math.Inf(-1), Index: true}},
	}
	for _, c := range cases {
		k, v := ElemKey(c.t, c.e), ElemValue(c.t, c.e)
		full := SubKey(3, []byte("coll"), 77, k)
		p, err := SplitSub(full)
		if err != nil || !bytes.Equal(p.Elem, k) {
			t.Fatalf("%v %+v: SplitSub: %v", c.t, c.e, err)
		}
		got, err := DecodeElem(c.t, p.Elem, v)
		if err != nil {
			t.Fatalf("%v %+v: DecodeElem: %v", c.t, c.e, err)
		}
		if !bytes.Equal(got.Name, c.e.Name) || !bytes.Equal(got.Value, c.e.Value) || got.Pos != c.e.Pos ||
			got.Score != c.e.Score || got.Index != c.e.Index {
			t.Fatalf("%v: DecodeElem(ElemKey(%+v)) = %+v", c.t, c.e, got)
		}
	}
}

func TestElems_MalformedBytesAreRefused(t *testing.T) {
	nan := ZScoreValue(math.NaN())
	for _, c := range []struct {
		t           Type
		elem, value []byte
	}{
		{List, []byte{1, 2, 3}, []byte("x")},
		{List, make([]byte, 9), nil},
		{Set, []byte("m"), []byte("v")},
		{ZSet, nil, nil},
		{ZSet, []byte("xmember"), ZScoreValue(1)},
		{ZSet, ZMemberElem([]byte("m")), []byte{1, 2}},
		{ZSet, ZMemberElem([]byte("m")), nan},
		{ZSet, []byte("s\x80"), nil},
		{ZSet, ZScoreElem(1, []byte("m")), []byte("v")},
		{String, []byte("x"), nil},
		{Type(9), []byte("x"), nil},
	} {
		if _, err := DecodeElem(c.t, c.elem, c.value); !errors.Is(err, ErrBadKey) {
			t.Errorf("DecodeElem(%v, %x, %x) = %v, want ErrBadKey", c.t, c.elem, c.value, err)
		}
	}
	if h, err := ListHead(nil); h != ListStart || err != nil {
		t.Fatalf("ListHead(nil) = %d, %v", h, err)
	}
	if _, err := ListHead([]byte{1}); !errors.Is(err, ErrBadKey) {
		t.Fatal("ListHead took a 1-byte extra")
	}
	if h, _ := ListHead(EncodeListHead(42)); h != 42 {
		t.Fatal("ListHead does not read EncodeListHead")
	}
}
