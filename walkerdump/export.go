package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write every live key as a RESP stream for redis-cli --pipe, or as JSON lines",
		ArgsUsage: "DIR",
		Description: "resp (default): SELECT db whenever the database changes, then SET key value,\n" +
			"with PXAT <unix ms> for keys that expire; load it with\n" +
			"  walkerdump export DIR | redis-cli --pipe\n" +
			"json: one object per key, {\"db\":0,\"key\":\"k\",\"value\":\"v\",\"expire_at\":0}\n" +
			"(expire_at in Unix ms, 0 = none). Bytes that are not valid UTF-8 go in\n" +
			"key_base64 / value_base64 (standard base64) instead of key / value.\n" +
			"Keys already expired are skipped, as are walkerd's internal keys (first byte\n" +
			"0xFF), any key that is not in walkerd's layout (database byte 0..15), and\n" +
			"collections (hash, list, set, zset, stream: export writes strings only);\n" +
			"the summary on stderr counts each and names a few, as dump names keys.\n" +
			"The directory must be one walkerd would open: run recover first otherwise.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "resp", Usage: "output format: resp or json (JSON lines)"},
			&cli.BoolFlag{Name: "json", Usage: "same as --format json"},
		},
		Action: exportAction,
	}
}

type exportJSON struct {
	DB          int     `json:"db"`
	Key         *string `json:"key,omitempty"`
	KeyBase64   []byte  `json:"key_base64,omitempty"`
	Value       *string `json:"value,omitempty"`
	ValueBase64 []byte  `json:"value_base64,omitempty"`
	ExpireAt    int64   `json:"expire_at"`
}

func exportAction(c *cli.Context) error {
	format := c.String("format")
	if c.Bool("json") {
		format = "json"
	}
	if format != "resp" && format != "json" {
		return cli.Exit(fmt.Sprintf("export: --format %q: want resp or json", format), exitError)
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
	if l.Merge == engine.MergeCommitted || l.Merge == engine.MergeUnreadable {
		return cli.Exit(fmt.Sprintf("export: %s has an interrupted merge (%s) whose files may be half renamed: run 'walkerdump recover %s' first", d.Dir(), l.Merge, d.Dir()), exitError)
	}
	now := time.Now().UnixMilli()
	p := newProgress(c, "load", "B")
	x, err := d.Load(now, p.update)
	p.finish()
	if err != nil {
		return err
	}
	defer x.Close()
	for _, s := range x.Segments() {
		for _, b := range s.Bad {
			// What Open tolerates: preallocated zeros, the active segment's torn tail.
			if !b.Zero && !(s.Active && b.Tail) {
				return cli.Exit(fmt.Sprintf("export: segment %d offset %d is damaged (%v): run 'walkerdump recover %s' first", s.ID, b.Start, b.Err, d.Dir()), exitError)
			}
		}
	}

	w := bufio.NewWriterSize(c.App.Writer, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var buf []byte
	curDB := -1
	var n, expired, seen int64
	// Keys skipped for a reason other than expiry, counted with a few
	// examples each, named as keyName names them.
	internal, foreign, colls := &skipped{}, &skipped{}, &skipped{}
	total := int64(x.Len())
	p = newProgress(c, "export", "keys")
	err = x.Ascend(func(key, value []byte, exp int64) error {
		if seen%4096 == 0 {
			p.update(seen, total)
		}
		seen++
		db, k, ok := keyspace.SplitMeta(key)
		var m keyspace.Meta
		if ok {
			var err error
			if m, err = keyspace.DecodeMeta(value); err != nil {
				foreign.add(key, value)
				return nil
			}
		}
		switch {
		case keyspace.IsSub(key):
			return nil // a collection's element: skipped with its collection
		case !ok && len(key) > 0 && key[0] == keyspace.Internal:
			internal.add(key, nil)
			return nil
		case !ok:
			foreign.add(key, nil)
			return nil
		case exp != 0 && exp <= now:
			expired++
			return nil
		case m.Type != keyspace.String:
			colls.add(key, value)
			return nil
		}
		value = m.Value
		n++
		if format == "json" {
			j := exportJSON{DB: db, ExpireAt: exp}
			j.Key, j.KeyBase64 = jsonBytes(k)
			j.Value, j.ValueBase64 = jsonBytes(value)
			return enc.Encode(j)
		}
		buf = buf[:0]
		if db != curDB {
			buf = resp.AppendCommand(buf, [][]byte{[]byte("SELECT"), []byte(strconv.Itoa(db))})
			curDB = db
		}
		if exp != 0 {
			buf = resp.AppendCommand(buf, [][]byte{[]byte("SET"), k, value, []byte("PXAT"), strconv.AppendInt(nil, exp, 10)})
		} else {
			buf = resp.AppendCommand(buf, [][]byte{[]byte("SET"), k, value})
		}
		_, err := w.Write(buf)
		return err
	})
	p.update(total, total)
	p.finish()
	if errors.Is(err, engine.ErrCorruption) {
		return fmt.Errorf("export: %w\nthe directory is damaged: run 'walkerdump recover %s' first", err, d.Dir())
	}
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "exported %d keys; skipped %d expired, %d internal%s, %d outside walkerd's layout%s",
		n, expired, internal.n, internal.examples(), foreign.n, foreign.examples())
	if colls.n > 0 {
		fmt.Fprintf(c.App.ErrWriter, ", %d collections%s (export writes strings only)", colls.n, colls.examples())
	}
	fmt.Fprintln(c.App.ErrWriter)
	return nil
}

// skipped counts keys export leaves out for one reason, and names the
// first few.
type skipped struct {
	n     int64
	names []string
}

func (s *skipped) add(key, meta []byte) {
	if s.n++; len(s.names) < 3 {
		s.names = append(s.names, keyName(key, meta))
	}
}

// examples names the keys: ` (internal member "n1")`, or with more than
// it kept ` (e.g. a, b, c)`; "" for none.
func (s *skipped) examples() string {
	switch {
	case s.n == 0:
		return ""
	case s.n > int64(len(s.names)):
		return " (e.g. " + strings.Join(s.names, ", ") + ")"
	}
	return " (" + strings.Join(s.names, ", ") + ")"
}
