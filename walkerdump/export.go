package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write every live key as a RESP stream for redis-cli --pipe, or as JSON lines",
		ArgsUsage: "DIR",
		Description: "resp (default): SELECT db whenever the database changes, then per key the\n" +
			"commands that rebuild it: SET key value (PXAT <unix ms> if it expires) for a\n" +
			"string; for a collection DEL key, then HSET key field value ..., RPUSH key\n" +
			"element ..., SADD key member ... or ZADD key score member ... in batches of at\n" +
			"most 256 elements or about 1 MiB, and PEXPIREAT key <unix ms> if it expires.\n" +
			"Scores are written so that they read back exactly (%.17g, inf, -inf).\n" +
			"Strings come first, then collections. Load it with\n" +
			"  walkerdump export DIR | redis-cli --pipe\n" +
			"json: one object per key, {\"db\":0,\"key\":\"k\",\"type\":\"string\",\"value\":\"v\",\"expire_at\":0}\n" +
			"(expire_at in Unix ms, 0 = none); a collection has \"elements\" instead of\n" +
			"\"value\": [{\"field\":..,\"value\":..}] (hash), [{\"value\":..}] (list, in order),\n" +
			"[{\"member\":..}] (set), [{\"member\":..,\"score\":\"1.5\"}] (zset, score as text).\n" +
			"Bytes that are not valid UTF-8 go in a field with a _base64 suffix (standard\n" +
			"base64) instead: key_base64, value_base64, field_base64, member_base64.\n" +
			"Keys already expired are skipped, as are walkerd's internal keys (first byte\n" +
			"0xFF), any key that is not in walkerd's layout (database byte 0..15), streams\n" +
			"in JSON (RESP writes a stream as XADD with explicit IDs, XSETID, XGROUP CREATE\n" +
			"and CREATECONSUMER; pending entries of consumer groups cannot be restored),\n" +
			"and the elements of collection versions no live key names (deleted or\n" +
			"overwritten collections that walkerd has not swept yet); the summary on stderr\n" +
			"counts each and names a few, as dump names keys.\n" +
			"The directory must be one walkerd would open: run recover first otherwise.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "resp", Usage: "output format: resp or json (JSON lines)"},
			&cli.BoolFlag{Name: "json", Usage: "same as --format json"},
		},
		Action: exportAction,
	}
}

// exportJSON is one line of export --format json: a string (Value) or a
// collection (Elements).
type exportJSON struct {
	DB          int          `json:"db"`
	Key         *string      `json:"key,omitempty"`
	KeyBase64   []byte       `json:"key_base64,omitempty"`
	Type        string       `json:"type"`
	Value       *string      `json:"value,omitempty"`
	ValueBase64 []byte       `json:"value_base64,omitempty"`
	ExpireAt    int64        `json:"expire_at"`
	Elements    []exportElem `json:"elements,omitempty"`
}

// exportElem is one element of a collection in export's JSON: a hash's
// field and value, a list's value, a set's member, a sorted set's member
// and score (formatted as the RESP stream writes it).
type exportElem struct {
	Field        *string `json:"field,omitempty"`
	FieldBase64  []byte  `json:"field_base64,omitempty"`
	Member       *string `json:"member,omitempty"`
	MemberBase64 []byte  `json:"member_base64,omitempty"`
	Value        *string `json:"value,omitempty"`
	ValueBase64  []byte  `json:"value_base64,omitempty"`
	Score        string  `json:"score,omitempty"`
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
	x, err := d.Load(now, p.Update)
	p.Finish()
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

	e := newExporter(bufio.NewWriterSize(c.App.Writer, 1<<20), format == "json")
	var seen int64
	total := int64(x.Len())
	p = newProgress(c, "export", "keys")
	err = x.Ascend(func(key, value []byte, exp int64) error {
		if seen%4096 == 0 {
			p.Update(seen, total)
		}
		seen++
		return e.key(key, value, exp, now)
	})
	if err == nil {
		err = e.finish()
	}
	p.Update(total, total)
	p.Finish()
	if errors.Is(err, engine.ErrCorruption) {
		return fmt.Errorf("export: %w\nthe directory is damaged: run 'walkerdump recover %s' first", err, d.Dir())
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.ErrWriter, e.summary())
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
