package keyspace

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
)

// Stream element keys sort as Redis orders its radix trees: entries and
// pending entries by ID (ms, then seq, numerically), and a group's keys
// never run into another group's whose name extends it.
func TestStream_ElementOrder(t *testing.T) {
	ids := []StreamID{{0, 0}, {0, 1}, {0, math.MaxUint64}, {1, 0}, {255, 7}, {256, 0}, {math.MaxUint64, 0}, MaxStreamID}
	for i := 1; i < len(ids); i++ {
		if ids[i-1].Compare(ids[i]) >= 0 {
			t.Fatalf("%v not below %v", ids[i-1], ids[i])
		}
		if bytes.Compare(StreamEntryElem(ids[i-1]), StreamEntryElem(ids[i])) >= 0 {
			t.Fatalf("entry %v does not sort below %v", ids[i-1], ids[i])
		}
		if bytes.Compare(StreamPendingElem([]byte("g"), ids[i-1]), StreamPendingElem([]byte("g"), ids[i])) >= 0 {
			t.Fatalf("pending %v does not sort below %v", ids[i-1], ids[i])
		}
		if n, ok := ids[i-1].Next(); !ok || n.Compare(ids[i]) > 0 {
			t.Fatalf("Next(%v) = %v", ids[i-1], n)
		}
		if p, ok := ids[i].Prev(); !ok || p.Compare(ids[i-1]) < 0 {
			t.Fatalf("Prev(%v) = %v", ids[i], p)
		}
	}
	if _, ok := MaxStreamID.Next(); ok {
		t.Fatal("the greatest ID has a next")
	}
	if _, ok := (StreamID{}).Prev(); ok {
		t.Fatal("0-0 has a previous")
	}
	// Group "a"'s keys all lie before group "ab"'s, in every family.
	for _, f := range []func(g []byte) []byte{
		StreamConsumerPrefix, StreamPendingPrefix,
		func(g []byte) []byte { return StreamConsumerPendPrefix(g, []byte("zzzz")) },
	} {
		a, ab := f([]byte("a")), f([]byte("ab"))
		if bytes.HasPrefix(ab, a) {
			t.Fatalf("%q's prefix %q holds %q's", "ab", ab, a)
		}
	}
	if got := (StreamID{5, 18446744073709551615}).String(); got != "5-18446744073709551615" {
		t.Fatal(got)
	}
}

func TestStream_ValuesRoundTrip(t *testing.T) {
	m := StreamMeta{LastID: StreamID{9, 3}, MaxDeletedID: StreamID{4, 0}, FirstID: StreamID{1, 1}, EntriesAdded: 12}
	if got, err := DecodeStreamMeta(EncodeStreamMeta(m)); err != nil || got != m {
		t.Fatalf("meta %+v, %v", got, err)
	}
	if got, err := DecodeStreamMeta(nil); err != nil || got != (StreamMeta{}) {
		t.Fatalf("empty meta %+v, %v", got, err)
	}
	fv := [][]byte{[]byte("f"), {}, []byte("field two"), bytes.Repeat([]byte{0}, 300)}
	if got, err := DecodeStreamFields(EncodeStreamFields(fv)); err != nil || !slices.EqualFunc(got, fv, bytes.Equal) {
		t.Fatalf("fields %q, %v", got, err)
	}
	n := StreamNode{Live: 99, Deleted: 1, Last: StreamID{7, 7}}
	if got, err := DecodeStreamNode(EncodeStreamNode(n)); err != nil || got != n {
		t.Fatalf("node %+v, %v", got, err)
	}
	g := StreamGroup{LastID: StreamID{3, 2}, EntriesRead: -1, Pending: 5, Consumers: 2}
	if got, err := DecodeStreamGroup(EncodeStreamGroup(g)); err != nil || got != g {
		t.Fatalf("group %+v, %v", got, err)
	}
	c := StreamConsumer{SeenTime: 1700000000000, ActiveTime: -1, Pending: 3}
	if got, err := DecodeStreamConsumer(EncodeStreamConsumer(c)); err != nil || got != c {
		t.Fatalf("consumer %+v, %v", got, err)
	}
	p := StreamPending{DeliveryTime: 1700000000001, DeliveryCount: 2, Consumer: []byte("alice")}
	if got, err := DecodeStreamPending(EncodeStreamPending(p)); err != nil || got.DeliveryTime != p.DeliveryTime ||
		got.DeliveryCount != p.DeliveryCount || string(got.Consumer) != "alice" {
		t.Fatalf("pending %+v, %v", got, err)
	}
}

// Damaged values fail with ErrBadKey, never panic.
func TestStream_DamageFailsWithErrBadKey(t *testing.T) {
	good := [][]byte{EncodeStreamMeta(StreamMeta{EntriesAdded: 1}), EncodeStreamFields([][]byte{[]byte("f"), []byte("v")}),
		EncodeStreamNode(StreamNode{Live: 1}), EncodeStreamGroup(StreamGroup{}), EncodeStreamConsumer(StreamConsumer{}),
		EncodeStreamPending(StreamPending{})}
	decode := []func([]byte) error{
		func(b []byte) error { _, err := DecodeStreamMeta(b); return err },
		func(b []byte) error { _, err := DecodeStreamFields(b); return err },
		func(b []byte) error { _, err := DecodeStreamNode(b); return err },
		func(b []byte) error { _, err := DecodeStreamGroup(b); return err },
		func(b []byte) error { _, err := DecodeStreamConsumer(b); return err },
		func(b []byte) error { _, err := DecodeStreamPending(b); return err },
	}
	for i, b := range good {
		if err := decode[i](b); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		for cut := 1; cut < len(b); cut++ {
			if err := decode[i](b[:cut]); err != nil && !errors.Is(err, ErrBadKey) {
				t.Fatalf("value %d cut at %d: %v, not ErrBadKey", i, cut, err)
			}
		}
		if err := decode[i](append(slices.Clone(b), 1)); i != 5 && err == nil {
			t.Fatalf("value %d with a byte more decoded", i)
		}
	}
	if err := decode[1]([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}); !errors.Is(err, ErrBadKey) {
		t.Fatalf("a huge field count: %v", err)
	}
}
