package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
)

func hintCommand() *cli.Command {
	return &cli.Command{
		Name:      "hint",
		Usage:     "rebuild the hint file of every sealed segment",
		ArgsUsage: "DIR",
		Description: "Scans every sealed, non-empty segment and writes its hint file anew\n" +
			"(atomically: a temporary file renamed into place). The active (last) segment\n" +
			"gets none, as walkerd would ignore it. A damaged segment keeps its old hint\n" +
			"and is reported (exit 1): run recover, which rebuilds its hint too.",
		Flags:  []cli.Flag{jsonFlag},
		Action: hintAction,
	}
}

type hintJSON struct {
	ID      uint32 `json:"segment"`
	Entries int    `json:"entries"`
	Error   string `json:"error,omitempty"`
}

func hintAction(c *cli.Context) error {
	d, err := openDir(c)
	if err != nil {
		return err
	}
	defer d.Close()
	p := newProgress(c, "hint", "B")
	res, err := d.RebuildHints(p.Update)
	p.Finish()
	if err != nil && !errors.Is(err, engine.ErrCorruption) {
		return err
	}
	out := []hintJSON{}
	for _, r := range res {
		j := hintJSON{ID: r.ID, Entries: r.Entries}
		if r.Err != nil {
			j.Error = r.Err.Error()
		}
		out = append(out, j)
	}
	if c.Bool("json") {
		if werr := writeJSON(c.App.Writer, out); werr != nil {
			return werr
		}
	} else {
		for _, j := range out {
			if j.Error != "" {
				fmt.Fprintf(c.App.Writer, "segment %d: not rebuilt: %s\n", j.ID, j.Error)
			} else {
				fmt.Fprintf(c.App.Writer, "segment %d: %d entries\n", j.ID, j.Entries)
			}
		}
		fmt.Fprintf(c.App.Writer, "rebuilt %d hint files\n", len(out)-countErrors(out))
	}
	if err != nil {
		return cli.Exit(err.Error(), exitProblems)
	}
	return nil
}

func countErrors(hs []hintJSON) int {
	n := 0
	for _, h := range hs {
		if h.Error != "" {
			n++
		}
	}
	return n
}
