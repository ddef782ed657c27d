package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "print INFO from one node, or from every member side by side",
		ArgsUsage: "[SECTION...]",
		Description: `Sends INFO [SECTION...] to the node at --addr and prints its reply, or with
--all asks every member at its own RESP address and prints the fields side
by side, one column per member. walkerd's sections: server, clients, memory,
persistence (the engine's disk figures), stats, replication, cpu, keyspace,
raft; "all" or none for every one.

--json prints {"section": {"field": "value"}}, or with --all a list of
{"id", "addr", "reachable", "error", "info"} objects.

With --all, a member that cannot be asked (down, or its RESP address not
recorded yet) makes info exit with 6, as members and status do.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "ask every member of the cluster"},
		},
		Action: runInfo,
	}
}

func runInfo(c *cli.Context) error {
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	sections := c.Args().Slice()
	if c.Bool("all") {
		return infoAll(o, sections)
	}
	v, _, err := o.doOnce(append([]string{"INFO"}, sections...)...)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(o.stdout, parseInfo(string(v.Str)).jsonMap())
	}
	text := strings.ReplaceAll(string(v.Str), "\r\n", "\n")
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	_, err = fmt.Fprint(o.stdout, text)
	return err
}

type infoNode struct {
	ID        string                       `json:"id"`
	Addr      string                       `json:"addr"`
	Reachable bool                         `json:"reachable"`
	Error     string                       `json:"error,omitempty"`
	Info      map[string]map[string]string `json:"info,omitempty"`
}

func infoAll(o *opts, sections []string) error {
	ms, err := fetchMembers(o)
	if err != nil {
		return err
	}
	results := probe(o, ms, sections...)
	nodes := make([]infoNode, len(ms))
	for i, m := range ms {
		nodes[i] = infoNode{ID: m.ID, Addr: m.RESPAddr, Reachable: results[i].err == nil}
		if err := results[i].err; err != nil {
			nodes[i].Error = err.Error()
			continue
		}
		nodes[i].Info = results[i].info.jsonMap()
	}
	if o.json {
		if err := writeJSON(o.stdout, nodes); err != nil {
			return err
		}
	} else {
		writeSideBySide(o, ms, results)
	}
	// Each member's error is in the output above; the error names them
	// once more, without the cause, for the exit code members and status
	// share.
	return unasked(ms, results)
}

// writeSideBySide prints one row per field and one column per member, in
// the order the fields first appear.
func writeSideBySide(o *opts, ms []member, results []probeResult) {
	header := []string{"FIELD"}
	for _, m := range ms {
		header = append(header, m.ID)
	}
	t := newTable(header...)
	t.blank = ""
	type key struct{ section, field string }
	var order []key
	seen := map[key]bool{}
	for _, r := range results {
		for _, s := range r.info.sections {
			k := key{s.name, ""}
			if !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
			for _, f := range s.fields {
				k := key{s.name, f[0]}
				if !seen[k] {
					seen[k] = true
					order = append(order, k)
				}
			}
		}
	}
	// Sections in first-seen order, each with its fields.
	var rows []key
	for _, k := range order {
		if k.field != "" {
			continue
		}
		rows = append(rows, k)
		for _, f := range order {
			if f.section == k.section && f.field != "" {
				rows = append(rows, f)
			}
		}
	}
	for _, k := range rows {
		cells := []string{k.field}
		if k.field == "" {
			cells[0] = "# " + k.section
		}
		for _, r := range results {
			switch {
			case r.err != nil && k == rows[0]:
				cells = append(cells, "(unreachable)")
			case k.field == "":
				cells = append(cells, "")
			default:
				v, _ := r.info.field(k.section, k.field)
				cells = append(cells, v)
			}
		}
		t.add(cells...)
	}
	t.write(o.stdout)
	sep := "\n"
	for i, r := range results {
		if r.err != nil {
			fmt.Fprintf(o.stdout, "%s%s: %v\n", sep, ms[i].ID, r.err)
			sep = ""
		}
	}
}

// info is a parsed INFO reply: sections in order, fields in order.
type info struct {
	sections []infoSection
}

type infoSection struct {
	name   string // as in the header: "Raft", "Keyspace"
	fields [][2]string
}

func parseInfo(text string) info {
	var in info
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if name, ok := strings.CutPrefix(line, "# "); ok {
			in.sections = append(in.sections, infoSection{name: name})
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			continue
		}
		if len(in.sections) == 0 {
			in.sections = append(in.sections, infoSection{name: "default"})
		}
		s := &in.sections[len(in.sections)-1]
		s.fields = append(s.fields, [2]string{k, v})
	}
	return in
}

// field looks a field up in one section.
func (in info) field(section, name string) (string, bool) {
	for _, s := range in.sections {
		if s.name != section {
			continue
		}
		for _, f := range s.fields {
			if f[0] == name {
				return f[1], true
			}
		}
	}
	return "", false
}

// get looks a field up in any section.
func (in info) get(name string) string {
	for _, s := range in.sections {
		for _, f := range s.fields {
			if f[0] == name {
				return f[1]
			}
		}
	}
	return ""
}

func (in info) uint(name string) uint64 {
	n, _ := strconv.ParseUint(in.get(name), 10, 64)
	return n
}

func (in info) int(name string) int64 {
	n, _ := strconv.ParseInt(in.get(name), 10, 64)
	return n
}

// keys sums the keyspace section's db<N>:keys=... lines.
func (in info) keys() int64 {
	var total int64
	for _, s := range in.sections {
		if !strings.EqualFold(s.name, "keyspace") {
			continue
		}
		for _, f := range s.fields {
			for _, part := range strings.Split(f[1], ",") {
				if v, ok := strings.CutPrefix(part, "keys="); ok {
					n, _ := strconv.ParseInt(v, 10, 64)
					total += n
				}
			}
		}
	}
	return total
}

// jsonMap is {"section": {"field": "value"}} with lower-case section names.
func (in info) jsonMap() map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, s := range in.sections {
		name := strings.ToLower(s.name)
		if m[name] == nil {
			m[name] = map[string]string{}
		}
		for _, f := range s.fields {
			m[name][f[0]] = f[1]
		}
	}
	return m
}
