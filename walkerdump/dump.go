package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/record"
)

func dumpCommand() *cli.Command {
	return &cli.Command{
		Name:      "dump",
		Usage:     "print every record with its offset, type, sequence, expiry, key and value",
		ArgsUsage: "DIR",
		Description: "Prints the records of every segment (or one) exactly as stored, in order:\n" +
			"batch members as they come and the commit that ends their batch, tombstones,\n" +
			"and each stretch that does not decode (then goes on at the next valid record).\n" +
			"Text names each key as walkerd lays it out: database, type (from a metadata\n" +
			"key's value; \"key\" where the value is not at hand, as for a tombstone) and\n" +
			"user key, e.g. db0 string \"user:1\", db2 hash \"h\" v=5 elem \"f\",\n" +
			"internal member \"n1\", or raw <hex> outside the layout; then, in brackets,\n" +
			"a collection's version and element count (a list's head too) or what an\n" +
			"element's bytes hold (a list's position, a sorted set's member and score;\n" +
			"list positions count from where a new list begins); values are engine\n" +
			"bytes, Go-quoted when printable, 0x-hex otherwise. JSON lines carry the same\n" +
			"name, and key/value as engine bytes: strings when valid UTF-8, else\n" +
			"key_base64/value_base64.",
		Flags: []cli.Flag{
			&cli.UintFlag{Name: "segment", Usage: "dump only segment `N`", DefaultText: "every segment"},
			&cli.BoolFlag{Name: "keys-only", Usage: "leave values out"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output format: text or json (JSON lines)"},
			&cli.BoolFlag{Name: "json", Usage: "same as --format json"},
		},
		Action: dumpAction,
	}
}

// dumpJSON is one line of dump --format json: a record, or (type "bad") a
// region that does not decode.
type dumpJSON struct {
	Segment  uint32 `json:"segment"`
	Offset   int64  `json:"offset"`
	Type     string `json:"type"` // put, delete, commit, bad
	Batch    bool   `json:"batch,omitempty"`
	Size     int64  `json:"size"`
	Seq      uint64 `json:"seq,omitempty"`
	ExpireAt int64  `json:"expire_at,omitempty"` // Unix ms
	Name     string `json:"name,omitempty"`      // the key as text shows it (keyName)
	// Detail decodes a collection's metadata (v=, count=, a list's head=)
	// or element (a list's pos=, a sorted set's member and score) as text
	// shows it; absent for strings and where the type is not known.
	Detail      string  `json:"detail,omitempty"`
	Key         *string `json:"key,omitempty"`
	KeyBase64   []byte  `json:"key_base64,omitempty"`
	Value       *string `json:"value,omitempty"`
	ValueBase64 []byte  `json:"value_base64,omitempty"`
	Count       *uint32 `json:"count,omitempty"` // a commit's batch size
	Error       string  `json:"error,omitempty"` // bad regions
	Tail        bool    `json:"tail,omitempty"`
	Zero        bool    `json:"zero,omitempty"`
}

func kindName(k uint8) string {
	switch k {
	case record.KindPut:
		return "put"
	case record.KindDelete:
		return "delete"
	case record.KindCommit:
		return "commit"
	}
	return fmt.Sprintf("kind%d", k)
}

func dumpAction(c *cli.Context) error {
	format := c.String("format")
	if c.Bool("json") {
		format = "json"
	}
	if format != "text" && format != "json" {
		return cli.Exit(fmt.Sprintf("dump: --format %q: want text or json", format), exitError)
	}
	d, err := openDir(c)
	if err != nil {
		return err
	}
	defer d.Close()
	l, err := d.Layout()
	if err != nil {
		return err
	}
	ids := l.Segments
	if c.IsSet("segment") {
		id := uint32(c.Uint("segment"))
		if !l.HasSegment(id) {
			return cli.Exit(fmt.Sprintf("dump: no segment %d in %s", id, d.Dir()), exitError)
		}
		ids = []uint32{id}
	}
	keysOnly := c.Bool("keys-only")
	w := bufio.NewWriterSize(c.App.Writer, 1<<20)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var names keyNamer
	for _, id := range ids {
		fn := func(off int64, rec record.Record) error {
			var name, detail string
			switch rec.Kind() {
			case record.KindPut:
				name = names.name(rec.Key, rec.Value)
				detail = names.detail(rec.Key, rec.Value)
			case record.KindDelete:
				name = names.name(rec.Key, nil)
			}
			if format == "json" {
				j := dumpJSON{Segment: id, Offset: off, Type: kindName(rec.Kind()), Batch: rec.InBatch(), Size: rec.Size(),
					Seq: rec.Seq, ExpireAt: rec.ExpireAt}
				if rec.Kind() == record.KindCommit {
					n, _ := record.CommitCount(rec.Value)
					j.Count = &n
				} else {
					j.Name, j.Detail = name, detail
					j.Key, j.KeyBase64 = jsonBytes(rec.Key)
					if !keysOnly && rec.Kind() == record.KindPut {
						j.Value, j.ValueBase64 = jsonBytes(rec.Value)
					}
				}
				return enc.Encode(j)
			}
			typ := kindName(rec.Kind())
			if rec.InBatch() {
				typ += "+batch"
			}
			fmt.Fprintf(w, "segment %d offset %d %s seq %d", id, off, typ, rec.Seq)
			if rec.Kind() == record.KindCommit {
				n, _ := record.CommitCount(rec.Value)
				_, err := fmt.Fprintf(w, " count %d\n", n)
				return err
			}
			if rec.ExpireAt != 0 {
				fmt.Fprintf(w, " expire %s", time.UnixMilli(rec.ExpireAt).UTC().Format("2006-01-02T15:04:05.000Z"))
			}
			fmt.Fprintf(w, " %s", name)
			if detail != "" {
				fmt.Fprintf(w, " [%s]", detail)
			}
			if !keysOnly && rec.Kind() == record.KindPut {
				fmt.Fprintf(w, " value %s", text(rec.Value))
			}
			_, err := fmt.Fprintln(w)
			return err
		}
		bad := func(b engine.BadRegion) error {
			r := newRegionJSON(b)
			if format == "json" {
				return enc.Encode(dumpJSON{Segment: id, Offset: b.Start, Type: "bad", Size: b.End - b.Start, Error: r.Error, Tail: b.Tail, Zero: b.Zero})
			}
			_, err := fmt.Fprintf(w, "segment %d offset %d BAD %d bytes up to %d: %s\n", id, b.Start, b.End-b.Start, b.End, regionWhat(r))
			return err
		}
		if err := d.WalkRecords(id, fn, bad); err != nil {
			return err
		}
	}
	return w.Flush()
}
