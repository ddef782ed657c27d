package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// checkpointStream writes n keys over several segments, and returns a
// checkpoint of them and its stream.
func checkpointStream(t *testing.T, n int) (*Checkpoint, []byte) {
	t.Helper()
	db, _ := openTest(t, &Options{SegmentSize: 4 << 10, Sync: SyncNo, LayoutVersion: 3})
	for i := 0; i < n; i++ {
		mustPut(t, db, fmt.Sprintf("k%04d", i), fmt.Sprintf("value-%d", i))
	}
	cp, err := db.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cp.Close() })
	var buf bytes.Buffer
	if _, err := cp.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return cp, buf.Bytes()
}

func TestCheckpoint_StreamSizeIsTheLengthWriteToWrites(t *testing.T) {
	for _, n := range []int{0, 1, 500} {
		cp, stream := checkpointStream(t, n)
		size, err := cp.StreamSize()
		if err != nil {
			t.Fatal(err)
		}
		if size != int64(len(stream)) {
			t.Fatalf("%d keys: StreamSize = %d, WriteTo wrote %d bytes", n, size, len(stream))
		}
	}
}

func TestCheckStream_AcceptsAWholeStreamAndDescribesIt(t *testing.T) {
	cp, stream := checkpointStream(t, 500)
	var seen []string
	info, err := CheckStream(bytes.NewReader(stream), 3, func(f StreamFile) { seen = append(seen, f.Name) })
	if err != nil {
		t.Fatal(err)
	}
	if info.Seq != cp.Seq() || info.Format.Layout != 3 || info.Format.Version != FormatVersion {
		t.Fatalf("info = %+v, want seq %d layout 3", info, cp.Seq())
	}
	if info.Bytes != int64(len(stream)) {
		t.Fatalf("Bytes = %d, want %d", info.Bytes, len(stream))
	}
	if len(seen) != len(cp.Files()) || len(info.Files) != len(cp.Files()) || len(seen) < 2 {
		t.Fatalf("files seen %v, want the checkpoint's %v", seen, cp.Files())
	}
	for i, name := range cp.Files() {
		if seen[i] != name {
			t.Fatalf("file %d = %s, want %s", i, seen[i], name)
		}
	}
}

func TestCheckStream_RefusesDamageTruncationAndTrailingBytes(t *testing.T) {
	_, stream := checkpointStream(t, 300)
	flip := func(off int) []byte {
		b := bytes.Clone(stream)
		b[off] ^= 0x40
		return b
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"a flipped byte in the header", flip(14), ErrCorruption},
		{"a flipped byte in a file", flip(len(stream) / 2), ErrCorruption},
		{"cut inside a file", stream[:len(stream)/2], io.ErrUnexpectedEOF},
		{"cut before the end mark", stream[:len(stream)-1], io.ErrUnexpectedEOF},
		{"cut inside the header", stream[:20], io.ErrUnexpectedEOF},
		{"bytes after the end", append(bytes.Clone(stream), 'x'), ErrCorruption},
		{"not a stream", []byte("REDIS0011 and more bytes after it, enough for a header"), ErrCorruption},
	}
	for _, tc := range cases {
		_, err := CheckStream(bytes.NewReader(tc.data), 3, nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := CheckStream(bytes.NewReader(stream), 4, nil); !errors.Is(err, ErrFormat) {
		t.Errorf("another key layout: err = %v, want ErrFormat", err)
	}
}
