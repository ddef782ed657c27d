package server

import (
	"bytes"
	"strings"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

func cmdObjectHelp(s *Server, c *client, args [][]byte) {
	lines := command.ObjectHelp()
	c.array(len(lines))
	for _, l := range lines {
		c.simple(l)
	}
}

// --- SHUTDOWN ---

func cmdShutdown(s *Server, c *client, args [][]byte) {
	for _, a := range args[1:] {
		switch strings.ToLower(string(a)) {
		case "nosave", "save", "now", "force":
		case "abort":
			c.errorReply("ERR No shutdown in progress.")
			return
		default:
			c.fail(command.ErrSyntax)
			return
		}
	}
	if s.cfg.OnShutdown == nil {
		c.errorReply("ERR Errors trying to SHUTDOWN. Check logs.")
		return
	}
	// Redis does not answer a successful SHUTDOWN: the connection closes.
	c.quit = true
	go s.cfg.OnShutdown()
}

// --- COMMAND ---
//
// Every reply is generated from the command registry (command.Specs), the
// one place commands are defined, in the shapes Redis 7.0 gives them.

// visible lists the commands a client sees: every registered command but
// the internal writes, which only walkerd itself proposes.
func visible() []*command.Spec {
	var out []*command.Spec
	for _, k := range command.Specs() {
		if k.Flags&command.FlagInternal != 0 && k.IsData() && k.Flags&command.FlagWrite != 0 {
			continue
		}
		out = append(out, k)
	}
	return out
}

// lookupVisible finds a visible command by its full name, any case.
func lookupVisible(name string) *command.Spec {
	k := command.LookupName(name)
	if k == nil {
		return nil
	}
	top := k
	if k.Parent != nil {
		top = k.Parent
	}
	if top.Flags&command.FlagInternal != 0 && top.IsData() && top.Flags&command.FlagWrite != 0 {
		return nil
	}
	return k
}

// commandInfo writes one command's COMMAND INFO entry: name, arity, flags,
// first key, last key, step, ACL categories, tips, key specs, subcommands.
func commandInfo(c *client, k *command.Spec) {
	c.array(10)
	c.bulkString(k.Name)
	c.integer(int64(k.Arity))
	flags := k.Flags.FlagNames()
	c.w.Set(len(flags))
	for _, f := range flags {
		c.simple(f)
	}
	c.integer(int64(k.FirstKey))
	c.integer(int64(k.LastKey))
	c.integer(int64(k.Step))
	cats := k.Categories().Names()
	c.w.Set(len(cats))
	for _, cat := range cats {
		c.simple(cat)
	}
	c.w.Set(len(k.Tips))
	for _, tip := range k.Tips {
		c.bulkString(tip)
	}
	keySpecs(c, k)
	// As server.c's addReplyCommandSubCommands: an empty set, or an array.
	if len(k.Subs) == 0 {
		c.w.Set(0)
	} else {
		c.array(len(k.Subs))
	}
	for _, sub := range k.Subs {
		commandInfo(c, sub)
	}
}

// keySpecs writes a command's key specifications (Redis 7's "key_specs"):
// its own (Spec.KeySpecs), or one range from the first key derived from
// its key positions.
func keySpecs(c *client, k *command.Spec) {
	specs := k.KeySpecs
	if len(specs) == 0 && k.FirstKey > 0 {
		ks := command.KeySpec{Flags: []string{"RO", "access"}, Index: k.FirstKey, LastKey: k.LastKey, KeyStep: max(k.Step, 1)}
		if k.Flags&command.FlagWrite != 0 {
			ks.Flags = []string{"RW", "update"}
		}
		if ks.LastKey > 0 {
			ks.LastKey -= k.FirstKey
		}
		specs = []command.KeySpec{ks}
	}
	c.w.Set(len(specs))
	for _, ks := range specs {
		keySpec(c, ks)
	}
}

// keySpec writes one key specification.
func keySpec(c *client, ks command.KeySpec) {
	if ks.Notes != "" {
		c.w.Map(4)
		c.bulkString("notes")
		c.bulkString(ks.Notes)
	} else {
		c.w.Map(3)
	}
	c.bulkString("flags")
	c.w.Set(len(ks.Flags))
	for _, f := range ks.Flags {
		c.simple(f)
	}
	c.bulkString("begin_search")
	c.w.Map(2)
	c.bulkString("type")
	if ks.Keyword != "" {
		c.bulkString("keyword")
		c.bulkString("spec")
		c.w.Map(2)
		c.bulkString("keyword")
		c.bulkString(ks.Keyword)
		c.bulkString("startfrom")
		c.integer(int64(ks.StartFrom))
	} else {
		c.bulkString("index")
		c.bulkString("spec")
		c.w.Map(1)
		c.bulkString("index")
		c.integer(int64(ks.Index))
	}
	c.bulkString("find_keys")
	c.w.Map(2)
	c.bulkString("type")
	if ks.KeyNum {
		c.bulkString("keynum")
		c.bulkString("spec")
		c.w.Map(3)
		c.bulkString("keynumidx")
		c.integer(int64(ks.KeyNumIdx))
		c.bulkString("firstkey")
		c.integer(int64(ks.FirstKey))
		c.bulkString("keystep")
		c.integer(int64(ks.KeyStep))
		return
	}
	c.bulkString("range")
	c.bulkString("spec")
	c.w.Map(3)
	c.bulkString("lastkey")
	c.integer(int64(ks.LastKey))
	c.bulkString("keystep")
	c.integer(int64(ks.KeyStep))
	c.bulkString("limit")
	c.integer(int64(ks.Limit))
}

func cmdCommand(s *Server, c *client, args [][]byte) {
	all := visible()
	c.array(len(all))
	for _, k := range all {
		commandInfo(c, k)
	}
}

func cmdCommandCount(s *Server, c *client, args [][]byte) { c.integer(int64(len(visible()))) }

func cmdCommandInfo(s *Server, c *client, args [][]byte) {
	if len(args) == 2 {
		cmdCommand(s, c, args)
		return
	}
	c.array(len(args) - 2)
	for _, a := range args[2:] {
		if k := lookupVisible(string(a)); k != nil {
			commandInfo(c, k)
		} else {
			c.null()
		}
	}
}

// commandDocs writes one command's COMMAND DOCS map.
func commandDocs(c *client, k *command.Spec) {
	n := 3
	if k.Complexity != "" {
		n++
	}
	if len(k.History) > 0 {
		n++
	}
	if len(k.Args) > 0 {
		n++
	}
	if len(k.Subs) > 0 {
		n++
	}
	c.w.Map(n)
	c.bulkString("summary")
	c.bulkString(k.Summary)
	c.bulkString("since")
	c.bulkString(k.Since)
	c.bulkString("group")
	c.bulkString(k.Group)
	if k.Complexity != "" {
		c.bulkString("complexity")
		c.bulkString(k.Complexity)
	}
	if len(k.History) > 0 {
		c.bulkString("history")
		c.w.Set(len(k.History))
		for _, h := range k.History {
			c.array(2)
			c.bulkString(h[0])
			c.bulkString(h[1])
		}
	}
	if len(k.Args) > 0 {
		c.bulkString("arguments")
		docArgs(c, k.Args)
	}
	if len(k.Subs) > 0 {
		c.bulkString("subcommands")
		c.w.Map(len(k.Subs))
		for _, sub := range k.Subs {
			c.bulkString(sub.Name)
			commandDocs(c, sub)
		}
	}
}

// docArgs writes a COMMAND DOCS "arguments" array, each argument a map
// with the fields and in the order of Redis's addReplyCommandArgList: its
// flags are status replies, as redis-cli expects.
func docArgs(c *client, args []command.Arg) {
	c.array(len(args))
	for _, a := range args {
		key, nested := a.Type == "key", a.Type == "oneof" || a.Type == "block"
		n := 2
		for _, present := range []bool{key, a.Token != "", a.Summary != "", a.Since != "", a.DeprecatedSince != "", a.Flags != 0, nested} {
			if present {
				n++
			}
		}
		c.w.Map(n)
		c.bulkString("name")
		c.bulkString(a.Name)
		c.bulkString("type")
		c.bulkString(a.Type)
		if key {
			c.bulkString("key_spec_index")
			c.integer(int64(a.KeySpecIndex))
		}
		for _, f := range [][2]string{{"token", a.Token}, {"summary", a.Summary}, {"since", a.Since}, {"deprecated_since", a.DeprecatedSince}} {
			if f[1] != "" {
				c.bulkString(f[0])
				c.bulkString(f[1])
			}
		}
		if a.Flags != 0 {
			c.bulkString("flags")
			names := a.Flags.Names()
			c.w.Set(len(names))
			for _, f := range names {
				c.w.Status(f)
			}
		}
		if nested {
			c.bulkString("arguments")
			docArgs(c, a.Args)
		}
	}
}

func cmdCommandDocs(s *Server, c *client, args [][]byte) {
	var list []*command.Spec
	if len(args) == 2 {
		list = visible()
	} else {
		for _, a := range args[2:] {
			if k := lookupVisible(string(a)); k != nil {
				list = append(list, k)
			}
		}
	}
	c.w.Map(len(list))
	for _, k := range list {
		c.bulkString(k.Name)
		commandDocs(c, k)
	}
}

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]
func cmdCommandList(s *Server, c *client, args [][]byte) {
	keep := func(*command.Spec) bool { return true }
	switch {
	case len(args) == 2:
	case len(args) == 5 && equalFoldStr(args[2], "filterby"):
		arg := args[4]
		switch {
		case equalFoldStr(args[3], "module"):
			keep = func(*command.Spec) bool { return false }
		case equalFoldStr(args[3], "aclcat"):
			cat, ok := command.ParseCategory(string(arg))
			keep = func(k *command.Spec) bool { return ok && k.Categories()&cat != 0 }
		case equalFoldStr(args[3], "pattern"):
			// Case-insensitive, as Redis matches it (names are lower case).
			lower := bytes.ToLower(arg)
			keep = func(k *command.Spec) bool { return command.Match(lower, []byte(k.Name)) }
		default:
			c.fail(command.ErrSyntax)
			return
		}
	default:
		c.fail(command.ErrSyntax)
		return
	}
	var names []string
	for _, k := range visible() {
		for _, x := range append([]*command.Spec{k}, k.Subs...) {
			if (x == k || len(args) == 5) && keep(x) {
				names = append(names, x.Name)
			}
		}
	}
	c.array(len(names))
	for _, n := range names {
		c.bulkString(n)
	}
}

// COMMAND GETKEYS command [arg ...]: the key arguments, by the command's
// key positions, with Redis's errors.
func cmdCommandGetkeys(s *Server, c *client, args [][]byte) {
	inner := args[2:]
	k := command.Lookup(inner[0])
	if k != nil && len(k.Subs) > 0 && len(inner) > 1 {
		if sub := k.Sub(inner[1]); sub != nil {
			k = sub
		}
	}
	switch {
	case k == nil || lookupVisible(k.Name) == nil:
		c.errorReply("ERR Invalid command specified")
		return
	case !command.ArityOK(k.Arity, len(inner)):
		c.errorReply("ERR Invalid number of arguments specified for command")
		return
	}
	keys := k.Keys(inner)
	if len(keys) == 0 && k.Flags&command.FlagNoMandatoryKeys != 0 {
		c.array(0) // EVAL with no keys: Redis's commandGetKeysCommand
		return
	}
	if len(keys) == 0 {
		c.errorReply("ERR The command has no key arguments")
		return
	}
	c.array(len(keys))
	for _, key := range keys {
		c.bulk(key)
	}
}

func cmdCommandHelp(s *Server, c *client, args [][]byte) {
	lines := []string{
		"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)", "    Return details about all commands.",
		"COUNT", "    Return the total number of commands in this server.",
		"LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]", "    Return a list of all commands in this server.",
		"INFO [<command-name> ...]", "    Return details about the given commands, or all of them.",
		"DOCS [<command-name> ...]", "    Return documentation details about the given commands, or all of them.",
		"GETKEYS <full-command>", "    Return the keys from a full command.",
		"HELP", "    Print this help.",
	}
	c.array(len(lines))
	for _, l := range lines {
		c.simple(l)
	}
}
