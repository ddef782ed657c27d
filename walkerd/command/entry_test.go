package command

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func TestEntry_EncodeDecodeRoundTrip(t *testing.T) {
	cases := []*Entry{
		{NowMs: 1, DB: 0, Cmds: [][][]byte{cmd("SET", "a", "b")}},
		{NowMs: -5, DB: 15, Exec: true},
		{NowMs: 1 << 62, DB: 3, Exec: true, Cmds: [][][]byte{cmd("SET", "", ""), cmd("GET", "\x00\xff")},
			Watches: []Watch{{DB: 1, Key: []byte("k"), Seq: 99}, {DB: 15, Key: []byte{}, Seq: 0}}},
		{Cmds: [][][]byte{{}}},
	}
	for _, e := range cases {
		got, err := DecodeEntry(e.Encode())
		if err != nil {
			t.Fatalf("%+v: %v", e, err)
		}
		if !entriesEqual(e, got) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, e)
		}
	}
}

func entriesEqual(a, b *Entry) bool {
	norm := func(e *Entry) Entry {
		c := *e
		if len(c.Cmds) == 0 {
			c.Cmds = nil
		}
		for i := range c.Cmds {
			if len(c.Cmds[i]) == 0 {
				c.Cmds[i] = [][]byte{}
			}
			for j := range c.Cmds[i] {
				if c.Cmds[i][j] == nil {
					c.Cmds[i][j] = []byte{}
				}
			}
		}
		if len(c.Watches) == 0 {
			c.Watches = nil
		}
		for i := range c.Watches {
			if c.Watches[i].Key == nil {
				c.Watches[i].Key = []byte{}
			}
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestDecodeEntry_RefusesMalformedInput(t *testing.T) {
	good := (&Entry{NowMs: 7, DB: 2, Cmds: [][][]byte{cmd("SET", "k", "v")}, Watches: []Watch{{Key: []byte("w"), Seq: 3}}}).Encode()
	bad := [][]byte{
		nil,
		{},
		{2},                                     // unknown version
		append([]byte{}, good[:len(good)-1]...), // truncated
		append(append([]byte{}, good...), 0),    // trailing byte
		{1, 0, 16, 0, 0, 0},                     // database 16
		{1, 0, 0, 2, 0, 0},                      // unknown flag
		{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},       // huge command count
		{1, 0, 0, 0, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, // huge argument length
	}
	for _, b := range bad {
		if _, err := DecodeEntry(b); !errors.Is(err, ErrBadEntry) {
			t.Errorf("DecodeEntry(%x) = %v, want ErrBadEntry", b, err)
		}
	}
	// Every truncation of a good entry fails cleanly.
	for i := range good {
		if _, err := DecodeEntry(good[:i]); err == nil {
			t.Errorf("truncated to %d bytes: decoded", i)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add((&Entry{NowMs: 1, Cmds: [][][]byte{cmd("SET", "a", "b")}}).Encode())
	f.Add((&Entry{NowMs: 1 << 40, DB: 15, Exec: true, Cmds: [][][]byte{cmd("INCR", "n"), cmd("GET", "n")},
		Watches: []Watch{{DB: 1, Key: []byte("n"), Seq: 12}}}).Encode())
	f.Add([]byte{1, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			if e != nil {
				t.Fatal("entry with error")
			}
			return
		}
		// A decoded entry encodes back to the same bytes (the format has
		// one encoding per entry, varints being minimal).
		if enc := e.Encode(); !bytes.Equal(enc, b) {
			e2, err := DecodeEntry(enc)
			if err != nil || !entriesEqual(e, e2) {
				t.Fatalf("re-encoding changed the entry: %x -> %x (%v)", b, enc, err)
			}
		}
		// Applying whatever decodes never panics (ApplyEntry recovers, but
		// a recovered panic shows as an internal error).
		if len(b) < 200 {
			// Keep values small: SETRANGE with a large offset would
			// otherwise write hundreds of megabytes per input.
			defer func(old int) { MaxValueLen = old }(MaxValueLen)
			MaxValueLen = 1 << 16
			db := fuzzDB(t)
			if res, _ := ApplyEntry(db, 1, e); strings.Contains(render(res, e.Exec), "internal error") {
				t.Fatalf("apply: %s", render(res, e.Exec))
			}
		}
	})
}

// An entry holding an argument with spare room around it is framed in
// place: the same bytes as a plain encoding, in the argument's own buffer.
func TestEntry_EncodeFramesARoomyArgumentInPlace(t *testing.T) {
	roomy := func(v string, head, tail int) Roomy {
		buf := make([]byte, head+len(v)+tail)
		copy(buf[head:], v)
		return Roomy{Buf: buf, Off: head, Len: len(v)}
	}
	value := strings.Repeat("v", 5000)
	for _, tc := range []struct {
		name       string
		head, tail int
		inPlace    bool
	}{
		{"room enough", 256, 256, true},
		{"too little before", 8, 256, false},
		{"too little after", 256, 2, false},
	} {
		r := roomy(value, tc.head, tc.tail)
		other := roomy(value[:100], 256, 64) // smaller: not the one chosen
		e := &Entry{NowMs: 1234567, DB: 3, User: "alice",
			Cmds:    [][][]byte{cmd("SET", "k", "x"), {[]byte("SET"), []byte("key"), r.Arg(), []byte("EX"), []byte("100")}, {[]byte("APPEND"), []byte("o"), other.Arg()}},
			Watches: []Watch{{DB: 2, Key: []byte("w"), Seq: 7}},
			Room:    []Roomy{other, r}}
		plain := *e
		plain.Room = nil
		want := plain.Encode()
		got := e.Encode()
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: framed in place = %q..., want %q...", tc.name, got[:40], want[:40])
		}
		if d, err := DecodeEntry(got); err != nil || !bytes.Equal(d.Cmds[1][2], []byte(value)) {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		// Whether got is the argument's buffer: a change to the argument
		// shows in it.
		r.Buf[r.Off] = 'Z'
		aliases := bytes.Contains(got, []byte("Z"+value[1:]))
		if aliases != tc.inPlace {
			t.Fatalf("%s: encoded in the argument's buffer = %v, want %v", tc.name, aliases, tc.inPlace)
		}
	}
}

// An entry decoded from a forwarded entry's buffer (WALKER.APPLY) and
// given a new clock is framed again in that buffer, around its large
// argument, after FrameIn: the encoding is the plain one, it lies in the
// buffer, and the entry's small arguments and watched keys, which lay in
// the bytes the new frame overwrites, keep their values.
func TestEntry_FrameInReframesAForwardedEntryInItsBuffer(t *testing.T) {
	value := strings.Repeat("v", 5000)
	orig := &Entry{NowMs: 1, DB: 3, User: "alice",
		Cmds:    [][][]byte{cmd("SET", "a-key", "x"), cmd("SET", "big", value, "EX", "100")},
		Watches: []Watch{{DB: 2, Key: []byte("watched"), Seq: 7}}}
	enc := orig.Encode()
	// As the guard reads it: spare room on both sides.
	buf := make([]byte, 300+len(enc)+64)
	copy(buf[300:], enc)
	r := Roomy{Buf: buf, Off: 300, Len: len(enc)}

	e, err := DecodeEntry(r.Arg())
	if err != nil {
		t.Fatal(err)
	}
	e.NowMs = 1234567890123 // the leader's clock: a longer varint
	e.User = "al"           // a shorter user moves the arguments after it
	e.FrameIn(r, 1000)
	if len(e.Room) != 1 || e.Room[0].Len != len(value) {
		t.Fatalf("Room = %+v, want the value's place", e.Room)
	}
	plain := *e
	plain.Room = nil
	want := plain.Encode()
	got := e.Encode()
	if !bytes.Equal(got, want) {
		t.Fatalf("framed in place = %q..., want %q...", got[:40], want[:40])
	}
	lo, hi := unsafe.Pointer(&buf[0]), unsafe.Pointer(&buf[len(buf)-1])
	if p := unsafe.Pointer(&got[0]); uintptr(p) < uintptr(lo) || uintptr(p) > uintptr(hi) {
		t.Fatal("the encoding is not in the forwarded entry's buffer")
	}
	d, err := DecodeEntry(got)
	if err != nil {
		t.Fatal(err)
	}
	if d.NowMs != e.NowMs || string(d.Cmds[0][1]) != "a-key" || string(d.Cmds[1][1]) != "big" || string(d.Cmds[1][2]) != value ||
		string(d.Watches[0].Key) != "watched" || d.User != "al" {
		t.Fatalf("decoded %+v", d)
	}
	// The entry itself, which the leader's state machine applies.
	if string(e.Cmds[0][1]) != "a-key" || string(e.Cmds[1][3]) != "EX" || string(e.Watches[0].Key) != "watched" {
		t.Fatalf("the entry's small arguments changed under the new frame: %q %q %q", e.Cmds[0][1], e.Cmds[1][3], e.Watches[0].Key)
	}
}

// ReadOnly is true for an entry of reads and pure commands only, as
// EVAL_RO would allow them, and false for anything that writes or may
// replicate, or whose commands are not parsed.
func TestEntry_ReadOnly(t *testing.T) {
	entry := func(parsed bool, cmds ...[]string) *Entry {
		e := &Entry{Exec: true}
		for _, c := range cmds {
			args := make([][]byte, len(c))
			for i, a := range c {
				args[i] = []byte(a)
			}
			e.Cmds = append(e.Cmds, args)
			if parsed {
				e.Parsed = append(e.Parsed, Lookup(args[0]).ParseArgs(args, 0))
			}
		}
		return e
	}
	for _, tc := range []struct {
		cmds [][]string
		want bool
	}{
		{nil, true}, // EXEC of nothing, or of WATCHed keys alone
		{[][]string{{"GET", "k"}, {"EXISTS", "k"}, {"PING"}, {"SELECT", "2"}, {"ZRANGE", "z", "0", "-1"}}, true},
		{[][]string{{"EVAL_RO", "return 1", "0"}}, true},
		{[][]string{{"GET", "k"}, {"INCR", "n"}}, false},
		{[][]string{{"EVAL", "return 1", "0"}}, false},
		{[][]string{{"FCALL", "f", "0"}}, false},
		{[][]string{{"PUBLISH", "ch", "m"}}, false},
		{[][]string{{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}}, false},
	} {
		if got := entry(true, tc.cmds...).ReadOnly(); got != tc.want {
			t.Errorf("%q: ReadOnly = %v, want %v", tc.cmds, got, tc.want)
		}
	}
	if entry(false, []string{"GET", "k"}).ReadOnly() {
		t.Error("an entry without Parsed is read-only")
	}
}
