package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/enginetest"
)

func decodeField(plain *string, b64 []byte) string {
	if plain != nil {
		return *plain
	}
	return string(b64)
}

func TestDump_JSONLinesMatchEveryRecord(t *testing.T) {
	dir := makeDir(t)
	segs := enginetest.AllRecords(t, dir)
	out := mustRun(t, exitOK, "dump", "--format", "json", dir)
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	var lines []dumpJSON
	for sc.Scan() {
		var j dumpJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, j)
	}
	i := 0
	binary := 0
	for si, recs := range segs {
		for _, r := range recs {
			if i >= len(lines) {
				t.Fatalf("%d lines, more records than that", len(lines))
			}
			j := lines[i]
			i++
			if j.Segment != uint32(si+1) || j.Offset != r.Off || j.Size != r.Size || j.Seq != r.Rec.Seq || j.ExpireAt != r.Rec.ExpireAt || j.Batch != r.Rec.InBatch() {
				t.Fatalf("line %d %+v, record %+v", i, j, r)
			}
			if r.Rec.Kind() == 3 {
				if j.Type != "commit" || j.Count == nil {
					t.Fatalf("line %d: %+v for a commit", i, j)
				}
				continue
			}
			if k := decodeField(j.Key, j.KeyBase64); k != string(r.Rec.Key) {
				t.Fatalf("line %d: key %q, want %q", i, k, r.Rec.Key)
			}
			if v := decodeField(j.Value, j.ValueBase64); v != string(r.Rec.Value) {
				t.Fatalf("line %d: value %q, want %q", i, v, r.Rec.Value)
			}
			if j.ValueBase64 != nil {
				binary++
			}
		}
	}
	if i != len(lines) || binary == 0 {
		t.Fatalf("%d lines for %d records; %d binary values", len(lines), i, binary)
	}
}

func TestDump_TextOneSegmentKeysOnly(t *testing.T) {
	dir := makeDir(t)
	segs := enginetest.AllRecords(t, dir)
	out := mustRun(t, exitOK, "dump", "--segment", "2", "--keys-only", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(segs[1]) {
		t.Fatalf("%d lines for the %d records of segment 2", len(lines), len(segs[1]))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, fmt.Sprintf("segment 2 offset %d ", segs[1][i].Off)) || strings.Contains(l, " value ") {
			t.Fatalf("line %q", l)
		}
	}
	if _, errs, code := runCmd(t, "dump", "--segment", "999", dir); code != exitError || !strings.Contains(errs, "no segment 999") {
		t.Fatalf("dump of a missing segment: %d %s", code, errs)
	}
}

func TestDump_ShowsDamageAndGoesOn(t *testing.T) {
	dir := makeDir(t)
	segs := enginetest.AllRecords(t, dir)
	r := segs[0][enginetest.PlainRecords(segs[0])[3]]
	enginetest.FlipBytes(t, enginetest.Segments(t, dir)[0], r.Off+r.Size-1, r.Off+r.Size)
	out := mustRun(t, exitOK, "dump", "--segment", "1", dir)
	bad := fmt.Sprintf("segment 1 offset %d BAD %d bytes", r.Off, r.Size)
	if !strings.Contains(out, bad) || len(strings.Split(strings.TrimSpace(out), "\n")) != len(segs[0]) {
		t.Fatalf("dump lacks %q or a record after it:\n%s", bad, out)
	}
}
