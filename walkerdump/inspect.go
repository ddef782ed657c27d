package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "describe every segment and hint file: sizes, records, live and dead bytes",
		ArgsUsage: "DIR",
		Description: "Prints the directory's format and key layout versions (its FORMAT file).\n" +
			"Loads the directory as walkerd would (hint files where they are valid, scans\n" +
			"elsewhere) without changing it, and prints per segment: size, records,\n" +
			"tombstones, live keys and bytes, dead bytes, live keys already expired (merge\n" +
			"drops them), the hint's state, and damage met while scanning; then totals and\n" +
			"the garbage ratio (dead / all bytes). Segments loaded from their hints are not\n" +
			"read record by record: use verify to check every CRC. Then it counts the live\n" +
			"keys by database and type (reading each one's value), and names a few of\n" +
			"walkerd's internal keys and of those outside its layout, as dump names keys.",
		Flags:  []cli.Flag{jsonFlag},
		Action: inspectAction,
	}
}

// inspectJSON is inspect's --json output.
type inspectJSON struct {
	Dir         string            `json:"dir"`
	Format      uint32            `json:"format_version"` // 0: written before format versions
	Layout      uint32            `json:"layout_version"` // 0: none recorded
	Segments    []segmentJSON     `json:"segments"`
	Totals      inspectTotalsJSON `json:"totals"`
	Merge       mergeJSON         `json:"merge"`
	Temps       []string          `json:"temp_files"`
	OrphanHints []uint32          `json:"orphan_hints"`
	Quarantine  bool              `json:"quarantine"`
	Seq         uint64            `json:"seq"`
	Keyspace    keyspaceJSON      `json:"keyspace"`
}

// keyspaceJSON counts the live keys (expired ones included) by what they
// are in walkerd's layout.
type keyspaceJSON struct {
	Databases map[string]map[string]int64 `json:"databases"` // "db0" -> type ("string", "hash", ...) -> keys
	Elements  int64                       `json:"elements"`  // collections' element sub-keys
	// ElementsByType counts the elements of the collections (of live or
	// expired keys) by type: "hash", "list", "set", "zset" (a sorted set's
	// members, each also one by-score index sub-key, not counted).
	ElementsByType map[string]int64 `json:"elements_by_type"`
	// DeadElements counts sub-keys of collection versions no key names
	// (deleted or overwritten, not yet swept by walkerd).
	DeadElements int64 `json:"dead_elements"`
	Internal     int64 `json:"internal"`
	Outside      int64 `json:"outside_layout"`
	// Examples names a few internal keys and keys outside the layout, as
	// dump names keys.
	Examples []string `json:"examples"`
	Error    string   `json:"error,omitempty"` // the count stopped at damage
}

type segmentJSON struct {
	ID           uint32       `json:"id"`
	Size         int64        `json:"size"`
	Active       bool         `json:"active"`
	Records      int64        `json:"records"`
	Tombstones   int64        `json:"tombstones"`
	LiveKeys     int64        `json:"live_keys"`
	LiveBytes    int64        `json:"live_bytes"`
	DeadBytes    int64        `json:"dead_bytes"`
	Expired      int64        `json:"expired"`
	ExpiredBytes int64        `json:"expired_bytes"`
	Hint         string       `json:"hint"` // missing, valid, corrupt, stale
	HintError    string       `json:"hint_error,omitempty"`
	FromHint     bool         `json:"loaded_from_hint"`
	Bad          []regionJSON `json:"bad_regions"`
}

type inspectTotalsJSON struct {
	Segments     int     `json:"segments"`
	Bytes        int64   `json:"bytes"`
	Records      int64   `json:"records"`
	Tombstones   int64   `json:"tombstones"`
	Keys         int     `json:"keys"`
	LiveBytes    int64   `json:"live_bytes"`
	DeadBytes    int64   `json:"dead_bytes"`
	Expired      int64   `json:"expired"`
	ExpiredBytes int64   `json:"expired_bytes"`
	GarbageRatio float64 `json:"garbage_ratio"`
	HintFiles    int     `json:"hint_files"`
	ValidHints   int     `json:"valid_hints"`
}

type mergeJSON struct {
	State   string   `json:"state"` // none, uncommitted, committed, unreadable
	Inputs  []uint32 `json:"inputs,omitempty"`
	Outputs []uint32 `json:"outputs,omitempty"`
	Error   string   `json:"error,omitempty"`
}

type regionJSON struct {
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	At    int64  `json:"at"`
	Tail  bool   `json:"tail"`
	Zero  bool   `json:"zero"`
	Error string `json:"error,omitempty"`
}

func newRegionJSON(b engine.BadRegion) regionJSON {
	r := regionJSON{Start: b.Start, End: b.End, At: b.At, Tail: b.Tail, Zero: b.Zero}
	if b.Err != nil {
		r.Error = b.Err.Error()
	}
	return r
}

func newMergeJSON(l *engine.Layout) mergeJSON {
	m := mergeJSON{State: l.Merge.String(), Inputs: l.MergeInputs, Outputs: l.MergeOutputs}
	if l.MergeErr != nil {
		m.Error = l.MergeErr.Error()
	}
	return m
}

func orphanHints(l *engine.Layout) []uint32 {
	out := []uint32{}
	for _, id := range l.Hints {
		if !l.HasSegment(id) {
			out = append(out, id)
		}
	}
	return out
}

func inspectAction(c *cli.Context) error {
	d, err := openDir(c)
	if err != nil {
		return err
	}
	defer d.Close()
	l, err := d.Layout()
	if err != nil {
		return err
	}
	p := newProgress(c, "inspect", "B")
	x, err := d.Load(0, p.Update)
	p.Finish()
	if err != nil {
		return err
	}
	defer x.Close()

	out := inspectJSON{Dir: d.Dir(), Format: d.Format().Version, Layout: d.Format().Layout, Merge: newMergeJSON(&l), Temps: l.Temps, OrphanHints: orphanHints(&l),
		Quarantine: l.Quarantine, Seq: x.Seq(), Segments: []segmentJSON{}}
	if out.Temps == nil {
		out.Temps = []string{}
	}
	t := &out.Totals
	t.Keys = x.Len()
	t.HintFiles = len(l.Hints)
	for _, s := range x.Segments() {
		sj := segmentJSON{ID: s.ID, Size: s.Size, Active: s.Active, Records: s.Puts + s.Tombstones, Tombstones: s.Tombstones,
			LiveKeys: s.LiveKeys, LiveBytes: s.LiveBytes, DeadBytes: s.DeadBytes, Expired: s.Expired, ExpiredBytes: s.ExpiredBytes,
			Hint: s.Hint.State.String(), FromHint: s.FromHint, Bad: []regionJSON{}}
		if s.Hint.Err != nil {
			sj.HintError = s.Hint.Err.Error()
		}
		for _, b := range s.Bad {
			sj.Bad = append(sj.Bad, newRegionJSON(b))
		}
		out.Segments = append(out.Segments, sj)
		t.Segments++
		t.Bytes += s.Size
		t.Records += sj.Records
		t.Tombstones += s.Tombstones
		t.LiveBytes += s.LiveBytes
		t.DeadBytes += s.DeadBytes
		t.Expired += s.Expired
		t.ExpiredBytes += s.ExpiredBytes
		if s.Hint.State == engine.HintValid {
			t.ValidHints++
		}
	}
	if t.Bytes > 0 {
		t.GarbageRatio = float64(t.DeadBytes) / float64(t.Bytes)
	}
	out.Keyspace = census(x)
	if c.Bool("json") {
		return writeJSON(c.App.Writer, out)
	}
	return printInspect(c.App.Writer, &out)
}

// census counts the live keys of x by database and type. Damage stops it
// (verify names the place): what it counted so far is kept, with the error.
func census(x *engine.Index) keyspaceJSON {
	ks := keyspaceJSON{Databases: map[string]map[string]int64{}, ElementsByType: map[string]int64{}, Examples: []string{}}
	internal, outside := &skipped{}, &skipped{}
	// Metadata keys come before every sub-key in engine order: the
	// collections' types are known by the time their elements come.
	types := map[string]keyspace.Type{} // SubPrefix -> type
	err := x.Ascend(func(key, value []byte, _ int64) error {
		switch {
		case keyspace.IsMeta(key):
			db, k, _ := keyspace.SplitMeta(key)
			typ := "unknown type"
			if t, ok := keyspace.TypeOf(value); ok {
				typ = t.String()
			}
			if m, err := keyspace.DecodeMeta(value); err == nil && m.Type != keyspace.String {
				types[string(keyspace.SubPrefix(db, k, m.Version))] = m.Type
			}
			name := fmt.Sprintf("db%d", db)
			if ks.Databases[name] == nil {
				ks.Databases[name] = map[string]int64{}
			}
			ks.Databases[name][typ]++
		case keyspace.IsSub(key):
			ks.Elements++
			p, err := keyspace.SplitSub(key)
			if err != nil {
				outside.add(key, nil)
				break
			}
			t, ok := types[string(p.Prefix)]
			if !ok {
				ks.DeadElements++
				break
			}
			if t == keyspace.Stream {
				if kind, ok := streamElemKind(p.Elem, value); !ok {
					ks.ElementsByType["malformed"]++
				} else if kind != "" {
					ks.ElementsByType[kind]++
				}
			} else if el, err := keyspace.DecodeElem(t, p.Elem, value); err != nil {
				ks.ElementsByType["malformed"]++
			} else if !el.Index {
				ks.ElementsByType[t.String()]++
			}
		case len(key) > 0 && key[0] == keyspace.Internal:
			internal.add(key, nil)
		default:
			outside.add(key, nil)
		}
		return nil
	})
	if err != nil {
		ks.Error = err.Error()
	}
	ks.Internal, ks.Outside = internal.n, outside.n
	ks.Examples = append(append(ks.Examples, internal.names...), outside.names...)
	return ks
}

// keyspaceText writes census's counts, a line each.
func keyspaceText(w io.Writer, ks keyspaceJSON) {
	var dbs []string
	for db := range keyspace.Databases {
		types := ks.Databases[fmt.Sprintf("db%d", db)]
		if len(types) == 0 {
			continue
		}
		var parts []string
		for _, t := range slices.Sorted(maps.Keys(types)) {
			parts = append(parts, fmt.Sprintf("%d %s", types[t], t))
		}
		dbs = append(dbs, fmt.Sprintf("db%d %s", db, strings.Join(parts, ", ")))
	}
	if len(dbs) == 0 {
		dbs = []string{"none"}
	}
	fmt.Fprintf(w, "keys by database and type: %s\n", strings.Join(dbs, "; "))
	if ks.Elements > 0 {
		var parts []string
		for _, t := range slices.Sorted(maps.Keys(ks.ElementsByType)) {
			parts = append(parts, fmt.Sprintf("%d %s", ks.ElementsByType[t], t))
		}
		if ks.DeadElements > 0 {
			parts = append(parts, fmt.Sprintf("%d of deleted or overwritten collections, not yet swept", ks.DeadElements))
		}
		fmt.Fprintf(w, "collection elements: %d sub-keys (%s)\n", ks.Elements, strings.Join(parts, ", "))
	}
	// Examples holds the internal keys' names first.
	ni := min(int(ks.Internal), 3)
	if ks.Internal > 0 {
		fmt.Fprintf(w, "internal keys: %d (%s)\n", ks.Internal, exampleList(ks.Examples[:ni], ks.Internal))
	}
	if ks.Outside > 0 {
		fmt.Fprintf(w, "keys outside walkerd's layout: %d (%s)\n", ks.Outside, exampleList(ks.Examples[ni:], ks.Outside))
	}
	if ks.Error != "" {
		fmt.Fprintf(w, "the key count stopped at damage (run verify): %s\n", ks.Error)
	}
}

func exampleList(names []string, n int64) string {
	if n > int64(len(names)) {
		return "e.g. " + strings.Join(names, ", ")
	}
	return strings.Join(names, ", ")
}

func printInspect(w io.Writer, out *inspectJSON) error {
	fmt.Fprintf(w, "directory %s\n%s\n\n", out.Dir, formatText(out.Format, out.Layout))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tsize\trecords\ttombstones\tlive keys\tlive bytes\tdead bytes\texpired\t hint\t damage\t")
	for _, s := range out.Segments {
		id := fmt.Sprint(s.ID)
		if s.Active {
			id += " (active)"
		}
		hint := s.Hint
		if s.Active && s.Hint == "missing" {
			hint = "- (active)"
		}
		damage := "-"
		if len(s.Bad) > 0 {
			var n int64
			for _, b := range s.Bad {
				n += b.End - b.Start
			}
			damage = fmt.Sprintf("%d regions, %d bytes", len(s.Bad), n)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t %s\t %s\t\n", id, s.Size, s.Records, s.Tombstones,
			s.LiveKeys, s.LiveBytes, s.DeadBytes, s.Expired, hint, damage)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	t := out.Totals
	fmt.Fprintf(w, "\n%d segments, %s (%d bytes): %d records, %d tombstones\n", t.Segments, bytesText(t.Bytes), t.Bytes, t.Records, t.Tombstones)
	fmt.Fprintf(w, "%d keys (%d already expired); live %d bytes, dead %d bytes; garbage ratio %.3f\n",
		t.Keys, t.Expired, t.LiveBytes, t.DeadBytes, t.GarbageRatio)
	fmt.Fprintf(w, "hint files: %d, valid: %d; highest seq %d\n", t.HintFiles, t.ValidHints, out.Seq)
	keyspaceText(w, out.Keyspace)
	if t.ValidHints > 0 {
		fmt.Fprintln(w, "(segments with a valid hint were loaded from it, not read record by record: verify checks every CRC)")
	}
	for _, s := range out.Segments {
		if s.HintError != "" {
			fmt.Fprintf(w, "segment %d hint %s: %s\n", s.ID, s.Hint, s.HintError)
		}
		for _, b := range s.Bad {
			fmt.Fprintf(w, "segment %d offset %d: %d bad bytes up to %d: %s\n", s.ID, b.Start, b.End-b.Start, b.End, regionWhat(b))
		}
	}
	if out.Merge.State != "none" {
		fmt.Fprintf(w, "interrupted merge: %s%s (walkerd or walkerdump recover finishes or discards it)\n", out.Merge.State, mergeDetail(out.Merge))
	}
	for _, tmp := range out.Temps {
		fmt.Fprintf(w, "temporary file from an interrupted write: %s\n", tmp)
	}
	for _, id := range out.OrphanHints {
		fmt.Fprintf(w, "hint file without a segment: %d\n", id)
	}
	if out.Quarantine {
		fmt.Fprintln(w, "quarantine/ holds what an earlier recover set aside")
	}
	return nil
}

// formatText describes the versions a directory's FORMAT file records.
func formatText(format, layout uint32) string {
	if format == 0 {
		return fmt.Sprintf("format version 0: no FORMAT file, written before format versions (walkerd refuses it; this build reads format version %d)", engine.FormatVersion)
	}
	l := fmt.Sprint(layout)
	if layout == 0 {
		l = "none recorded"
	}
	return fmt.Sprintf("format version %d, key layout version %s", format, l)
}

func mergeDetail(m mergeJSON) string {
	switch {
	case m.Error != "":
		return ": " + m.Error
	case m.State == "committed":
		return fmt.Sprintf(", inputs %v, outputs %v", m.Inputs, m.Outputs)
	}
	return ""
}

func regionWhat(b regionJSON) string {
	var s string
	switch {
	case b.Zero && b.Tail:
		s = "zero tail (preallocated, never written)"
	case b.Zero:
		s = "zeroed bytes"
	case b.Tail:
		s = "torn tail"
	default:
		s = "corrupt"
	}
	if b.At != b.Start {
		s += fmt.Sprintf(", with a batch whose commit is bad or missing before offset %d", b.At)
	}
	if b.Error != "" && !b.Zero {
		s += ": " + b.Error
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// streamElemKind names a stream sub-key for the census (internal/keyspace
// stream.go): its entries count as "stream", as a sorted set's members
// count as "zset"; consumer groups, consumers and pending entries under
// their own names; nodes and the by-consumer index of pending entries
// (walkerd's own bookkeeping, as a sorted set's by-score index) not at all
// (""). ok is false for a sub-key that does not decode.
func streamElemKind(elem, value []byte) (kind string, ok bool) {
	if len(elem) == 0 {
		return "", false
	}
	var err error
	switch elem[0] {
	case keyspace.StreamEntryFamily:
		if len(elem) != 17 {
			return "", false
		}
		_, err = keyspace.DecodeStreamFields(value)
		kind = "stream"
	case keyspace.StreamNodeFamily:
		if len(elem) != 17 {
			return "", false
		}
		_, err = keyspace.DecodeStreamNode(value)
	case keyspace.StreamGroupFamily:
		_, err = keyspace.DecodeStreamGroup(value)
		kind = "stream group"
	case keyspace.StreamConsumerFamily:
		_, err = keyspace.DecodeStreamConsumer(value)
		kind = "stream consumer"
	case keyspace.StreamPendingFamily:
		_, err = keyspace.DecodeStreamPending(value)
		kind = "stream pending entry"
	case keyspace.StreamConsumerPendFamily:
	default:
		return "", false
	}
	return kind, err == nil
}
