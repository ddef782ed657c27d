package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
)

func recoverCommand() *cli.Command {
	return &cli.Command{
		Name:      "recover",
		Usage:     "make a damaged directory openable, keeping every readable record",
		ArgsUsage: "DIR",
		Description: "Finishes a committed merge and discards an uncommitted one, as walkerd would;\n" +
			"removes *.tmp files; cuts torn tails and corrupt regions out of segments,\n" +
			"going on at the next valid record, and copies those bytes to\n" +
			"DIR/quarantine/<time>/segment-N-offset-M.bin (all-zero preallocated space is\n" +
			"cut without a copy); a batch whose commit is damaged or missing is set aside\n" +
			"whole. Rebuilds missing and bad hints (bad ones are copied to the quarantine\n" +
			"first) and moves hints without a segment there. Writes report.txt in the\n" +
			"quarantine folder. Nothing is deleted that could be read. A second run\n" +
			"changes nothing.",
		Flags:  []cli.Flag{jsonFlag},
		Action: recoverAction,
	}
}

type recoverJSON struct {
	Dir           string                `json:"dir"`
	Changed       bool                  `json:"changed"`
	Quarantine    string                `json:"quarantine,omitempty"` // relative to dir
	Merge         string                `json:"merge,omitempty"`
	Temps         []string              `json:"temp_files_removed"`
	Orphans       []string              `json:"orphan_hints_set_aside"`
	SetAsideBytes int64                 `json:"set_aside_bytes"`
	ZeroBytesCut  int64                 `json:"zero_bytes_cut"`
	Segments      []segmentRecoveryJSON `json:"segments"`
}

type segmentRecoveryJSON struct {
	ID       uint32         `json:"id"`
	Active   bool           `json:"active"`
	OldSize  int64          `json:"old_size"`
	NewSize  int64          `json:"new_size"`
	Puts     int64          `json:"puts_kept"`
	Deletes  int64          `json:"deletes_kept"`
	HintWas  string         `json:"hint_was"`
	Hint     string         `json:"hint_action,omitempty"`
	SetAside []setAsideJSON `json:"set_aside"`
}

type setAsideJSON struct {
	regionJSON
	File   string `json:"file,omitempty"` // relative to dir; empty for zero bytes
	Copied int64  `json:"copied"`
}

func newRecoverJSON(r *engine.RecoverReport) recoverJSON {
	out := recoverJSON{Dir: r.Dir, Changed: r.Changed, Quarantine: r.Quarantine, Merge: r.Merge,
		Temps: append([]string{}, r.Temps...), Orphans: append([]string{}, r.Orphans...), Segments: []segmentRecoveryJSON{}}
	out.SetAsideBytes, out.ZeroBytesCut = r.SetAsideBytes()
	for _, s := range r.Segments {
		sj := segmentRecoveryJSON{ID: s.ID, Active: s.Active, OldSize: s.OldSize, NewSize: s.NewSize, Puts: s.Puts, Deletes: s.Dels,
			HintWas: s.HintWas.State.String(), Hint: s.Hint, SetAside: []setAsideJSON{}}
		for _, a := range s.SetAside {
			sj.SetAside = append(sj.SetAside, setAsideJSON{regionJSON: newRegionJSON(a.BadRegion), File: a.File, Copied: a.Copied})
		}
		out.Segments = append(out.Segments, sj)
	}
	return out
}

func recoverAction(c *cli.Context) error {
	d, err := openDir(c)
	if err != nil {
		return err
	}
	defer d.Close()
	p := newProgress(c, "recover", "B")
	r, err := d.Recover(engine.RecoverOptions{Progress: p.Update})
	p.Finish()
	if err != nil {
		if r != nil && r.Changed {
			fmt.Fprintf(c.App.ErrWriter, "recover stopped part way; so far:\n%s", r)
		}
		return fmt.Errorf("recover: %w", err)
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, newRecoverJSON(r))
	}
	_, err = fmt.Fprint(c.App.Writer, r)
	return err
}
