package server

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// role is the replication role reported by HELLO and INFO: master unless
// the backend's Raft section says this node is a follower or candidate
// ("raft_state:Follower", any case).
func (s *Server) role() string {
	info := strings.ToLower(s.b.InfoRaft())
	if strings.Contains(info, "state:follower") || strings.Contains(info, "state:candidate") {
		return "slave"
	}
	return "master"
}

var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace", "raft"}

func cmdInfo(s *Server, c *client, args [][]byte) {
	want := map[string]bool{}
	if len(args) == 1 {
		for _, n := range infoSections {
			want[n] = true
		}
	}
	for _, a := range args[1:] {
		n := strings.ToLower(string(a))
		switch n {
		case "all", "everything", "default":
			for _, n := range infoSections {
				want[n] = true
			}
		default:
			want[n] = true
		}
	}
	var b strings.Builder
	for _, sec := range infoSections {
		if !want[sec] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		s.infoSection(&b, sec)
	}
	c.verbatim(b.String())
}

func (s *Server) infoSection(b *strings.Builder, sec string) {
	line := func(k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }
	switch sec {
	case "server":
		b.WriteString("# Server\r\n")
		line("redis_version", s.cfg.RedisVersion)
		line("walkerdb_version", s.cfg.Version)
		line("redis_mode", s.cfg.Mode)
		line("os", runtime.GOOS+" "+runtime.GOARCH)
		line("arch_bits", strconv.IntSize)
		line("go_version", runtime.Version())
		line("process_id", os.Getpid())
		if a := s.Addr(); a != nil {
			if _, port, err := splitPort(a.String()); err == nil {
				line("tcp_port", port)
			}
		}
		now := time.Now()
		line("server_time_usec", now.UnixMicro())
		up := now.Sub(s.started)
		line("uptime_in_seconds", int64(up/time.Second))
		line("uptime_in_days", int64(up/(24*time.Hour)))
		line("hz", 10)
		line("executable", executable())
		line("config_file", "")
	case "clients":
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		b.WriteString("# Clients\r\n")
		line("connected_clients", n)
		line("maxclients", s.maxConns.Load())
		line("blocked_clients", s.waiters.blocked())
		b.WriteString(s.infoTrackingClients())
	case "memory":
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.WriteString("# Memory\r\n")
		line("used_memory", m.HeapAlloc)
		line("used_memory_human", human(m.HeapAlloc))
		line("used_memory_rss", m.Sys)
		line("used_memory_rss_human", human(m.Sys))
		line("maxmemory", 0)
		line("maxmemory_policy", command.MaxmemoryPolicy())
		line("mem_allocator", "go")
		// The script cache and the function libraries, as Redis counts
		// them (replicated state: the same on every node once applied).
		db := s.b.Engine()
		line("number_of_cached_scripts", db.CountPrefix(keyspace.ScriptPrefix))
		line("number_of_functions", db.CountPrefix(keyspace.FunctionPrefix))
		line("number_of_libraries", db.CountPrefix(keyspace.LibraryPrefix))
	case "persistence":
		b.WriteString("# Persistence\r\n")
		line("loading", 0)
		line("rdb_changes_since_last_save", 0)
		line("aof_enabled", 1)
		if st, err := s.b.Engine().Stats(); err == nil {
			line("engine_keys", st.Keys)
			line("engine_seq", st.Seq)
			line("engine_segments", len(st.Segments))
			line("engine_bytes", st.Bytes)
			line("engine_live_bytes", st.LiveBytes)
			line("engine_dead_bytes", st.DeadBytes)
			line("engine_garbage_ratio", fmt.Sprintf("%.4f", st.GarbageRatio))
			line("engine_index_bytes", st.IndexBytes)
			line("engine_fsyncs", st.Fsyncs)
			line("engine_merges", st.Merges)
		}
	case "stats":
		b.WriteString("# Stats\r\n")
		line("total_connections_received", s.stats.connections.Load())
		line("total_commands_processed", s.stats.commands.Load())
		line("rejected_connections", s.stats.rejected.Load())
		line("protocol_error_connections", s.stats.protocol.Load())
		line("expired_keys", s.stats.expired.Load())
		line("reclaimed_elements", s.stats.reclaimed.Load())
		line("forwarded_commands", s.stats.forwarded.Load())
		line("keyspace_hits", 0)
		line("keyspace_misses", 0)
		b.WriteString(s.infoPubsub())
		b.WriteString(s.infoTrackingStats())
	case "replication":
		b.WriteString("# Replication\r\n")
		line("role", s.role())
		line("connected_slaves", 0)
	case "cpu":
		b.WriteString("# CPU\r\n")
		line("go_goroutines", runtime.NumGoroutine())
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		db := s.b.Engine()
		for d := range command.Databases {
			if n := db.CountPrefix(keyspace.DBPrefix(d)); n > 0 {
				fmt.Fprintf(b, "db%d:keys=%d,expires=0,avg_ttl=0\r\n", d, n)
			}
		}
	case "raft":
		b.WriteString("# Raft\r\n")
		b.WriteString(s.b.InfoRaft())
	}
}

func splitPort(addr string) (string, string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", fmt.Errorf("no port in %q", addr)
	}
	return addr[:i], addr[i+1:], nil
}

func executable() string {
	p, _ := os.Executable()
	return p
}

func human(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

// --- CONFIG ---

// configParam is one CONFIG GET/SET parameter.
type configParam struct {
	get func(s *Server) string
	set func(s *Server, v []byte) error // nil: immutable
	// check validates a value before any parameter of the CONFIG SET
	// changes.
	check func(v []byte) error
}

// intParam is an integer parameter of at least min, read by get and set
// by set, with Redis's errors for a value that is not an integer or is
// out of range.
func intParam(min int64, get func(*Server) int64, set func(*Server, int64)) configParam {
	return configParam{
		get: func(s *Server) string { return strconv.FormatInt(get(s), 10) },
		check: func(v []byte) error {
			n, ok := command.ParseInt(v)
			if !ok {
				return fmt.Errorf("argument couldn't be parsed into an integer")
			}
			if n < min {
				return fmt.Errorf("argument must be between %d and 9223372036854775807 inclusive", min)
			}
			return nil
		},
		set: func(s *Server, v []byte) error {
			n, _ := command.ParseInt(v)
			set(s, n)
			return nil
		},
	}
}

func (s *Server) configParams() map[string]configParam {
	ro := func(v string) configParam { return configParam{get: func(*Server) string { return v }} }
	ps := map[string]configParam{
		"requirepass": {
			get:   func(s *Server) string { return s.requirePass() },
			check: func([]byte) error { return nil },
			set: func(s *Server, v []byte) error {
				p := string(v)
				s.pass.Store(&p)
				return nil
			},
		},
		"read-consistency": {
			get: func(s *Server) string { return strconv.Itoa(int(s.readLevel.Load())) },
			check: func(v []byte) error {
				if _, ok := parseLevel(v); !ok {
					return fmt.Errorf("argument must be 0 (default), 1 (stale) or 2 (consistent)")
				}
				return nil
			},
			set: func(s *Server, v []byte) error {
				l, _ := parseLevel(v)
				s.readLevel.Store(int32(l))
				return nil
			},
		},
		"maxclients":         intParam(1, func(s *Server) int64 { return s.maxConns.Load() }, func(s *Server, n int64) { s.maxConns.Store(n) }),
		"databases":          ro(strconv.Itoa(command.Databases)),
		"appendonly":         ro("yes"),
		"appendfsync":        ro("always"),
		"save":               ro(""),
		"proto-max-bulk-len": ro(strconv.Itoa(maxBulkLen)),
		"maxmemory":          ro("0"),
		"maxmemory-policy": {
			get:   func(*Server) string { return command.MaxmemoryPolicy() },
			check: command.CheckMaxmemoryPolicy,
			set:   func(_ *Server, v []byte) error { return command.SetMaxmemoryPolicy(v) },
		},
		"timeout":                ro("0"),
		"notify-keyspace-events": notifyParam(),

		"tracking-table-max-keys": trackingMaxKeysParam(), // tracking.go
		"busy-reply-threshold":    busyThresholdParam(),   // script.go
		"lua-time-limit":          busyThresholdParam(),
	}
	// Redis's encoding settings (hash-max-listpack-entries and the rest,
	// with their ziplist aliases): accepted for compatibility, they change
	// only what OBJECT ENCODING reports (command/encoding.go).
	for _, n := range command.EncodingSettings() {
		ps[n] = configParam{
			get:   func(*Server) string { v, _ := command.GetEncodingSetting(n); return v },
			check: func(v []byte) error { return command.CheckEncodingSetting(n, v) },
			set:   func(_ *Server, v []byte) error { return command.SetEncodingSetting(n, v) },
		}
	}
	for k, v := range s.cfg.Settings {
		ps[strings.ToLower(k)] = ro(v)
	}
	return ps
}

func cmdConfigGet(s *Server, c *client, args [][]byte) {
	ps := s.configParams()
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	slices.Sort(names)
	// As Redis: a plain name is looked up and echoed as given; a pattern
	// matches names case-insensitively.
	seen := map[string]bool{}
	var out [][2]string
	for _, a := range args[2:] {
		pat := strings.ToLower(string(a))
		if !strings.ContainsAny(pat, "*?[") {
			if p, ok := ps[pat]; ok && !seen[pat] {
				seen[pat] = true
				out = append(out, [2]string{string(a), p.get(s)})
			}
			continue
		}
		for _, n := range names {
			if !seen[n] && command.Match([]byte(pat), []byte(n)) {
				seen[n] = true
				out = append(out, [2]string{n, ps[n].get(s)})
			}
		}
	}
	c.w.Map(len(out))
	for _, kv := range out {
		c.bulkString(kv[0])
		c.bulkString(kv[1])
	}
}

func cmdConfigSet(s *Server, c *client, args [][]byte) {
	if len(args)%2 != 0 {
		c.fail(command.ErrSyntax)
		return
	}
	ps := s.configParams()
	for i := 2; i < len(args); i += 2 {
		name := strings.ToLower(string(args[i]))
		p, ok := ps[name]
		if !ok {
			c.errorReply(fmt.Sprintf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", args[i]))
			return
		}
		if p.set == nil {
			c.errorReply(fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", args[i]))
			return
		}
		if err := p.check(args[i+1]); err != nil {
			c.errorReply(fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - %v", args[i], err))
			return
		}
	}
	for i := 2; i < len(args); i += 2 {
		ps[strings.ToLower(string(args[i]))].set(s, args[i+1])
	}
	c.ok()
}

func cmdConfigResetstat(s *Server, c *client, args [][]byte) {
	s.stats.commands.Store(0)
	s.stats.connections.Store(0)
	s.stats.rejected.Store(0)
	s.stats.protocol.Store(0)
	s.stats.expired.Store(0)
	s.stats.reclaimed.Store(0)
	s.stats.forwarded.Store(0)
	c.ok()
}

func cmdConfigRewrite(s *Server, c *client, args [][]byte) {
	c.errorReply("ERR The server is running without a config file")
}

func cmdObjectHelp(s *Server, c *client, args [][]byte) {
	lines := command.ObjectHelp()
	c.array(len(lines))
	for _, l := range lines {
		c.simple(l)
	}
}

func cmdConfigHelp(s *Server, c *client, args [][]byte) {
	lines := []string{
		"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
		"RESETSTAT", "    Reset statistics reported by the INFO command.",
		"HELP", "    Print this help.",
	}
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
