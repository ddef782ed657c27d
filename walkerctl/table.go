package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table is human output: a header and rows, aligned in columns as kubectl
// and etcdctl print them. An empty cell prints as "-".
type table struct {
	header []string
	rows   [][]string
	blank  string // what an empty cell prints as: "-" unless changed
}

func newTable(header ...string) *table { return &table{header: header, blank: "-"} }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	line := func(cells []string) {
		clean := make([]string, len(cells))
		for i, c := range cells {
			c = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
			if c == "" {
				c = t.blank
			}
			clean[i] = c
		}
		fmt.Fprintln(tw, strings.Join(clean, "\t"))
	}
	line(t.header)
	for _, r := range t.rows {
		line(r)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var out strings.Builder
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if l != "" {
			out.WriteString(strings.TrimRight(l, " \n") + "\n")
		}
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// humanBytes prints a byte count in binary units: 512 B, 1.5 KiB, 3.0 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// uintCell prints an optional number.
func uintCell(n *uint64) string {
	if n == nil {
		return ""
	}
	return fmt.Sprint(*n)
}
