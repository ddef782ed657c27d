package server

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

func cmdPing(s *Server, c *client, args [][]byte) {
	switch len(args) {
	case 1:
		c.simple("PONG")
	case 2:
		c.bulk(args[1])
	default:
		c.fail(command.ErrArity("ping"))
	}
}

func cmdEcho(s *Server, c *client, args [][]byte) { c.bulk(args[1]) }

func cmdQuit(s *Server, c *client, args [][]byte) {
	c.ok()
	c.quit = true
}

func cmdSelect(s *Server, c *client, args [][]byte) {
	d, err := command.ParseDB(args[1])
	if err != nil {
		c.fail(err)
		return
	}
	if s.shards != nil && d != 0 {
		c.errorReply("ERR SELECT is not allowed in cluster mode") // as Redis Cluster: one database
		return
	}
	c.setDB(d)
	c.ok()
}

func cmdTime(s *Server, c *client, args [][]byte) {
	now := s.now()
	c.array(2)
	c.bulkString(fmt.Sprint(now.Unix()))
	c.bulkString(fmt.Sprint(now.Nanosecond() / 1000))
}

const (
	errWrongPass = "WRONGPASS invalid username-password pair or user is disabled."
	errNoPass    = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
)

func cmdAuth(s *Server, c *client, args [][]byte) {
	var user, pass []byte
	switch len(args) {
	case 2:
		if !s.defaultUserHasPassword() {
			c.errorReply(errNoPass)
			return
		}
		user, pass = []byte("default"), args[1]
	case 3:
		user, pass = args[1], args[2]
	default:
		c.fail(command.ErrSyntax)
		return
	}
	if !s.authenticate(user, pass) {
		s.authFailed(c, args[0], user)
		c.errorReply(errWrongPass)
		return
	}
	s.login(c, user)
	c.ok()
}

// HELLO [protover [AUTH user pass] [SETNAME name]], as networking.c's
// helloCommand: protover 2 or 3 (anything else NOPROTO) switches the
// connection's replies to RESP2 or RESP3 after the options are checked,
// and the reply, a map (a flat array in RESP2), is in the new protocol.
// Without protover the protocol stays as it is.
func cmdHello(s *Server, c *client, args [][]byte) {
	i := 1
	proto := c.enc.Proto
	if len(args) >= 2 {
		ver, ok := command.ParseInt(args[1])
		if !ok {
			c.errorReply("ERR Protocol version is not an integer or out of range")
			return
		}
		if ver < 2 || ver > 3 {
			c.errorReply("NOPROTO unsupported protocol version")
			return
		}
		proto = int(ver)
		i = 2
	}
	var user, pass, name []byte
	setName := false
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		switch {
		case equalFoldStr(args[i], "auth") && more >= 2:
			user, pass = args[i+1], args[i+2]
			i += 2
		case equalFoldStr(args[i], "setname") && more >= 1:
			name, setName = args[i+1], true
			if err := validName(name); err != "" {
				c.errorReply(err)
				return
			}
			i++
		default:
			c.errorReply(fmt.Sprintf("ERR Syntax error in HELLO option '%s'", args[i]))
			return
		}
	}
	if user != nil {
		if !s.authenticate(user, pass) {
			s.authFailed(c, args[0], user)
			c.errorReply(errWrongPass)
			return
		}
		s.login(c, user)
	}
	if !c.authed && !s.newClientAuthed() {
		c.errorReply("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if setName {
		c.setName(string(name))
	}
	c.setProto(proto)
	c.w.Map(7)
	c.bulkString("server")
	c.bulkString("redis")
	c.bulkString("version")
	c.bulkString(s.cfg.RedisVersion)
	c.bulkString("proto")
	c.integer(int64(proto))
	c.bulkString("id")
	c.integer(c.id)
	c.bulkString("mode")
	c.bulkString(s.cfg.Mode)
	c.bulkString("role")
	c.bulkString(s.role())
	c.bulkString("modules")
	c.array(0)
}

// verbatim answers text as Redis's addReplyVerbatim with format "txt"
// (INFO, CLIENT LIST): a verbatim string in RESP3, a bulk string in RESP2
// and to a Writer that cannot tell (a Recorder).
func (c *client) verbatim(text string) {
	if v, ok := c.w.(interface{ Verbatim(format, text string) }); ok {
		v.Verbatim("txt", text)
		return
	}
	c.bulkString(text)
}

// setProto switches the connection's replies to RESP proto (2 or 3).
func (c *client) setProto(proto int) {
	c.mu.Lock()
	c.enc.Proto = proto
	c.mu.Unlock()
}

func (c *client) setName(n string) {
	c.mu.Lock()
	c.name = n
	c.mu.Unlock()
}

// validName checks a client name as Redis does: printable ASCII, no spaces.
func validName(n []byte) string {
	for _, ch := range n {
		if ch < '!' || ch > '~' {
			return "ERR Client names cannot contain spaces, newlines or special characters."
		}
	}
	return ""
}

func cmdClientID(s *Server, c *client, args [][]byte) { c.integer(c.id) }

func cmdClientGetname(s *Server, c *client, args [][]byte) {
	c.mu.Lock()
	n := c.name
	c.mu.Unlock()
	if n == "" {
		c.null()
		return
	}
	c.bulkString(n)
}

func cmdClientSetname(s *Server, c *client, args [][]byte) {
	if err := validName(args[2]); err != "" {
		c.errorReply(err)
		return
	}
	c.setName(string(args[2]))
	c.ok()
}

func cmdClientSetinfo(s *Server, c *client, args [][]byte) {
	if !equalFoldStr(args[2], "lib-name") && !equalFoldStr(args[2], "lib-ver") {
		c.errorReply(fmt.Sprintf("ERR Unrecognized option '%s'", args[2]))
		return
	}
	c.ok()
}

func cmdClientFlagOK(s *Server, c *client, args [][]byte) {
	if !equalFoldStr(args[2], "on") && !equalFoldStr(args[2], "off") {
		c.fail(command.ErrSyntax)
		return
	}
	c.ok()
}

// clientLine describes a connection as CLIENT LIST does, with Redis
// 7.0.15's fields in its order (networking.c catClientInfoString):
//
//   - fd is the socket's file descriptor; qbuf the bytes read and not yet
//     run (the protocol guard's queue, the rest of the pipeline, and for
//     the connection asking its own command), qbuf-free what the 16 KB
//     read buffer has left beside them (0 when qbuf is 0, as Redis frees
//     an empty query buffer); argv-mem the running command's argument
//     bytes; multi-mem those of the commands queued in MULTI; rbs and rbp
//     the guard's read buffer (16 KB, as Redis's default).
//   - obl, oll and omem split the reply bytes held and not yet written
//     (a pipeline's replies before they are flushed, a subscriber's
//     pusher queue) as Redis would hold them: the first 16 KB in its reply
//     buffer, the rest in 16 KB list nodes. tot-mem adds them up with the
//     connection's fixed state; events is "rw" while replies wait.
//   - flags are Redis's letters in Redis's order: O (MONITOR) or P
//     (subscribed), x (in MULTI), b (blocked), then t, R, B (tracking);
//     N when none applies.
//   - cmd is the last command, "client|list" style ("NULL" before any).
//
// Other connections' figures are those their goroutine published after
// its last command (clientIO).
func (s *Server) clientLine(k *client, now time.Time, self bool) string {
	k.mu.Lock()
	name, db, proto, user := k.name, k.db, k.enc.Proto, k.user
	last := k.lastCommand()
	k.mu.Unlock()
	if last == "" {
		last = "NULL"
	}
	if user == "" {
		user = "default"
	}
	idle := now.Sub(time.Unix(0, k.lastCmd.Load())) / time.Second
	multi := k.io.multi.Load()
	if self {
		multi = -1
		if k.multi {
			multi = int64(len(k.queue))
		}
	}
	base, sub, psub, ssub := s.clientSubs(k)
	flags := ""
	if base != "N" {
		flags = base
	}
	if multi >= 0 {
		flags += "x"
	}
	if k.blocked.Load() != nil {
		flags += "b"
	}
	if flags == "" {
		flags = "N"
	}
	flags, redir := s.clientListFlags(k, flags) // t, R, B and redir (tracking.go)
	m := s.clientMemory(k, self)
	events := "r"
	if m.obl+m.omem > 0 {
		events = "rw"
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d multi=%d qbuf=%d qbuf-free=%d argv-mem=%d multi-mem=%d rbs=%d rbp=%d obl=%d oll=%d omem=%d tot-mem=%d events=%s cmd=%s user=%s redir=%d resp=%d\n",
		k.id, k.addr, k.laddr, k.io.fd, name, int64(now.Sub(k.created)/time.Second), int64(idle), flags, db, sub, psub, ssub, multi,
		m.qbuf, m.qbufFree, m.argv, m.multiMem, guardReadSize, guardReadSize, m.obl, m.oll, m.omem, m.total, events, last, user, redir, proto)
}

func cmdClientList(s *Server, c *client, args [][]byte) {
	var ids map[int64]bool
	typ := ""
	for i := 2; i < len(args); i++ {
		switch {
		case equalFoldStr(args[i], "type") && i+1 < len(args):
			if typ = parseClientType(args[i+1]); typ == "" {
				c.errorReply(fmt.Sprintf("ERR Unknown client type '%s'", args[i+1]))
				return
			}
			i++
		case equalFoldStr(args[i], "id") && i+1 < len(args):
			ids = map[int64]bool{}
			for i++; i < len(args); i++ {
				n, ok := command.ParseInt(args[i])
				if !ok {
					c.errorReply("ERR Invalid client ID")
					return
				}
				ids[n] = true
			}
		default:
			c.fail(command.ErrSyntax)
			return
		}
	}
	s.mu.Lock()
	list := make([]*client, 0, len(s.conns))
	for k := range s.conns {
		if ids == nil || ids[k.id] {
			list = append(list, k)
		}
	}
	s.mu.Unlock()
	if typ != "" {
		list = slices.DeleteFunc(list, func(k *client) bool { return s.clientType(k) != typ })
	}
	sortClients(list)
	now := time.Now()
	var b strings.Builder
	for _, k := range list {
		b.WriteString(s.clientLine(k, now, k == c))
	}
	c.verbatim(b.String())
}

func cmdClientInfo(s *Server, c *client, args [][]byte) {
	c.verbatim(s.clientLine(c, time.Now(), true))
}

func cmdClientHelp(s *Server, c *client, args [][]byte) {
	lines := []string{
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME", "    Return the name of the current connection.",
		"ID", "    Return the ID of the current connection.",
		"INFO", "    Return information about the current client connection.",
		"KILL <ip:port>", "    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are:",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made from the specified address",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made to specified local address",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Kill connections by type.",
		"    * USER <username>",
		"      Kill connections authenticated by <username>.",
		"    * SKIPME (YES|NO)",
		"      Skip killing current connection (default: yes).",
		"LIST [TYPE <type>] [ID <id> [<id> ...]]", "    Return information about client connections.",
		"UNPAUSE", "    Stop the current client pause, resuming traffic.",
		"PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
		"REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"SETINFO <LIB-NAME|LIB-VER> <value>", "    Accepted and ignored.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
		"CACHING (YES|NO)", "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
		"GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
		"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
		"         [OPTIN] [OPTOUT] [NOLOOP]",
		"    Control server assisted client side caching.",
		"TRACKINGINFO", "    Report tracking status for the current connection.",
		"HELP", "    Print this help.",
	}
	c.array(len(lines))
	for _, l := range lines {
		c.simple(l)
	}
}

func sortClients(list []*client) {
	slices.SortFunc(list, func(a, b *client) int { return cmp.Compare(a.id, b.id) })
}
