package server

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/acl"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// ACL users, as Redis 7.0's acl.c, replicated.
//
// The users are state of the cluster, not of one node: ACL SETUSER,
// DELUSER and LOAD propose the whole new set of users (walkerd/acl's
// binary form) as a WALKER.ACLSET log entry, which every node's state
// machine writes under keyspace.ACLKey. Each node reads the users from its
// engine, so every node enforces the same rules once it has applied the
// change, and a node that installs a snapshot gets them with the data.
// Passwords travel and rest as SHA-256 hashes only.
//
// A change is computed by the node that receives it from the users it has
// applied, and proposed with the hash of those users: the state machine
// refuses it when the stored users moved meanwhile (another change came
// first, or this node had not applied the latest), and the node computes
// it again. So concurrent changes on different nodes never lose one
// another, and a follower's change is never made from a stale view.
//
// The default user: until the first ACL change, "default" is each node's
// own, made from its requirepass (nopass when empty), as Redis makes it.
// The first change writes it into the replicated users, and from then on
// CONFIG SET requirepass changes the replicated default user (through the
// log, on every node), so a password rotated on one node holds everywhere.
//
// A command is checked after AUTH's check and before it runs or is queued
// (processCommand's ACLCheckAllPerm); a refusal is logged in ACL LOG (this
// node's, as Redis's is) and answered with Redis's NOPERM text. A command
// a follower forwards carries its user, and the leader checks it again
// with the users it has applied (data.go).

// aclView is the users as one node sees them at one moment.
type aclView struct {
	eng      *engine.DB
	gen      uint64
	pass     string   // requirepass the implicit default user was made from
	stored   []byte   // the replicated users as stored; nil: none yet
	set      *acl.Set // the users, "default" always among them
	explicit bool     // the replicated users hold "default"
	// free are the users that may run anything (~* &* +@all and no
	// selectors): their commands skip the check.
	free map[string]bool
}

// users returns the users this node enforces now.
func (s *Server) users() *aclView {
	eng := s.b.Engine()
	gen := command.ACLGeneration()
	pass := s.requirePass()
	if v := s.aclView.Load(); v != nil && v.eng == eng && v.gen == gen && v.pass == pass {
		return v
	}
	s.aclMu.Lock()
	defer s.aclMu.Unlock()
	if v := s.aclView.Load(); v != nil && v.eng == eng && v.gen == gen && v.pass == pass {
		return v
	}
	v := &aclView{eng: eng, gen: gen, pass: pass}
	stored, err := command.ACLUsers(eng)
	var set *acl.Set
	if err == nil && stored != nil {
		set, err = acl.Decode(stored)
	}
	if err != nil {
		// Unreadable users must not open the door: only the default
		// user, with this node's password, until they can be read.
		s.cfg.Logger.Error("cannot read the ACL users; serving the default user only", "err", err)
		set, stored = nil, nil
	}
	v.stored = stored
	if set == nil {
		set = acl.NewSet()
	}
	if set.User("default") != nil {
		v.explicit = true
	} else {
		set = set.With(acl.DefaultUser(pass))
	}
	v.set = set
	v.free = make(map[string]bool)
	for _, u := range set.Users() {
		if unrestricted(u.Describe()) {
			v.free[u.Name] = true
		}
	}
	if old := s.aclView.Swap(v); old != nil && !bytes.Equal(old.stored, v.stored) {
		go s.closeRevoked(set) // not under aclMu: accept holds s.mu and reads the users
	}
	return v
}

// closeRevoked closes, once the users changed, the connections of users
// that were deleted, as ACL DELUSER frees them in Redis, and those
// subscribed to a channel, pattern or shard channel their user may no
// longer subscribe to, as ACL SETUSER does (ACLKillPubsubClientsIfNeeded),
// and takes them off their channels at once. The node that ran the change
// calls it before it replies (updateUsers), every node when it sees the
// change (users). Other nodes' links carry no user of their own and stay.
func (s *Server) closeRevoked(set *acl.Set) {
	for _, k := range s.clients() {
		if k.nodeLink.Load() {
			continue
		}
		u := set.User(k.userLocked())
		if u != nil && !s.subscribedBeyond(k, u) {
			continue
		}
		k.killed.Store(true)
		k.conn.NetConn().Close()
		s.pubsubGone(k) // its channels now, not when its handler sees the close
	}
}

// subscribedBeyond reports whether k is subscribed to something u may not
// subscribe to.
func (s *Server) subscribedBeyond(k *client, u *acl.User) bool {
	s.ps.mu.RLock()
	defer s.ps.mu.RUnlock()
	st := k.ps
	if st == nil {
		return false
	}
	for ch := range st.channels {
		if !u.ChannelAllowed([]byte(ch), false) {
			return true
		}
	}
	for ch := range st.shard {
		if !u.ChannelAllowed([]byte(ch), false) {
			return true
		}
	}
	for p := range st.patterns {
		if !u.ChannelAllowed([]byte(p), true) {
			return true
		}
	}
	return false
}

// unrestricted reports whether a user's ACL LIST rules allow everything:
// "... ~* &* +@all" with no selector after it.
func unrestricted(desc string) bool {
	return strings.HasSuffix(desc, " ~* &* +@all") || strings.HasSuffix(desc, " allkeys allchannels +@all")
}

// defaultUserHasPassword reports whether the default user needs one: the
// condition of AUTH's one-argument form and of protected mode.
func (s *Server) defaultUserHasPassword() bool {
	u := s.users().set.User("default")
	return u != nil && !(u.Enabled() && u.NoPass())
}

// newClientAuthed is whether a new connection starts authenticated as the
// default user: the default user is on and needs no password (acl.c's
// DefaultUser with USER_FLAG_NOPASS, createClient).
func (s *Server) newClientAuthed() bool {
	u := s.users().set.User("default")
	return u != nil && u.Enabled() && u.NoPass()
}

// authenticate checks a username and password (ACLCheckUserCredentials):
// the user must exist, be on, and take the password.
func (s *Server) authenticate(user, pass []byte) bool {
	u := s.users().set.User(string(user))
	return u != nil && u.Enabled() && u.CheckPassword(pass)
}

// login makes c the user's, after authenticate.
func (s *Server) login(c *client, user []byte) {
	c.authed = true
	c.setUser(string(user))
}

// authFailed logs a refused AUTH or HELLO AUTH in ACL LOG (reason "auth",
// the object the command's name as the client wrote it, as
// addACLLogEntry does) and in the audit trail.
func (s *Server) authFailed(c *client, cmd, user []byte) {
	s.aclLog.add(aclEntry{reason: "auth", context: logContext(c), object: string(cmd), user: string(user)}, s.clientLine(c, time.Now(), true))
	s.audit.authFailed(c.addr, string(user))
}

// checkACL is the permission check of one command, nil when c's user may
// run it. A user turned off keeps the connections it has (off refuses
// AUTH only, as in Redis); a user deleted since c authenticated runs
// nothing more: its connections are closed once this node has applied the
// deletion (closeRevoked), and a command that comes first is refused.
func (s *Server) checkACL(c *client, k *command.Spec, args [][]byte) *acl.Denial {
	v := s.users()
	name := c.userName()
	if v.free[name] {
		return nil
	}
	u := v.set.User(name)
	if u == nil {
		c.quit = true
		return &acl.Denial{Reason: acl.ReasonCommand, Object: k.Name}
	}
	return u.Check(k, args)
}

// checkForwarded checks the commands a follower forwards (WALKER.APPLY,
// WALKER.FORWARD) against their user, as this node's users say: "" when
// the user may run them all, else the refusal to answer. Internal commands
// in an entry are walkerd's own (the sweeper, membership, ACL changes the
// follower checked), not the user's.
func (s *Server) checkForwarded(c *client, user string, cmds [][][]byte) string {
	v := s.users()
	if v.free[user] {
		return ""
	}
	u := v.set.User(user)
	for _, args := range cmds {
		k := command.Lookup(args[0])
		if k != nil && len(k.Subs) > 0 && len(args) > 1 {
			if sub := k.Sub(args[1]); sub != nil {
				k = sub
			}
		}
		if k == nil || k.Flags&command.FlagInternal != 0 {
			continue
		}
		d := &acl.Denial{Reason: acl.ReasonCommand, Object: k.Name}
		if u != nil {
			d = u.Check(k, args)
		}
		if d != nil {
			return s.denied(c, user, d, k, "toplevel")
		}
	}
	return ""
}

// deniedAtExec checks a transaction's queued commands again when EXEC
// runs them, as execCommand does: for each one the user may no longer
// run (its rules changed since it was queued), the NOPERM error it
// answers instead of running, logged in ACL LOG with context "multi";
// "" for the others. nil when every command may run.
func (s *Server) deniedAtExec(c *client, queue []queued) []string {
	v := s.users()
	name := c.userName()
	if v.free[name] {
		return nil
	}
	u := v.set.User(name)
	var out []string
	for i, q := range queue {
		if q.spec.Flags&command.FlagNoAuth != 0 {
			continue
		}
		d := &acl.Denial{Reason: acl.ReasonCommand, Object: q.spec.Name}
		if u != nil {
			d = u.Check(q.spec, q.args)
		}
		if d == nil {
			continue
		}
		if out == nil {
			out = make([]string, len(queue))
		}
		s.denied(c, name, d, q.spec, "multi")
		out[i] = "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. " +
			"This command is no longer allowed for the following reason: " + execDenied[d.Reason]
	}
	return out
}

// execDenied are acl.c's reasons (getAclErrorMessage) in EXEC's NOPERM.
var execDenied = map[int]string{
	acl.ReasonCommand: "no permission to execute the command or subcommand",
	acl.ReasonKey:     "no permission to touch the specified keys",
	acl.ReasonChannel: "no permission to access one of the channels used as arguments",
}

// restrictedUser is c's user when it is restricted, "" when it may run
// anything (command.Entry.User).
func (s *Server) restrictedUser(c *client) string {
	name := c.userName()
	if s.users().free[name] {
		return ""
	}
	return name
}

func init() {
	command.ScriptPermission = scriptPermission
	command.FullKeyRead = fullKeyRead
}

// fullKeyRead is command.FullKeyRead: whether the user may read the key
// "*", as sort.c asks ACLUserCheckKeyPerm, by the users the log
// replicated (the default user that only requirepass makes may).
func fullKeyRead(stored []byte, user string) bool {
	set, ok := storedUsers(stored)
	if !ok {
		return false
	}
	var u *acl.User
	if set != nil {
		u = set.User(user)
	}
	if u == nil {
		return user == "default" && (set == nil || set.User("default") == nil)
	}
	return u.KeyAllowed([]byte("*"), true, false)
}

// storedUsers decodes the replicated users (nil for none), keeping the last
// decoded; ok is false when they cannot be decoded.
func storedUsers(stored []byte) (*acl.Set, bool) {
	if stored == nil {
		return nil, true
	}
	if v := lastUsers.Load(); v != nil && bytes.Equal(v.stored, stored) {
		return v.set, true
	}
	set, err := acl.Decode(stored)
	if err != nil {
		return nil, false
	}
	lastUsers.Store(&decodedUsers{stored: bytes.Clone(stored), set: set})
	return set, true
}

// lastUsers are the replicated users storedUsers decoded last, by their stored
// form.
var lastUsers atomic.Pointer[decodedUsers]

type decodedUsers struct {
	stored []byte
	set    *acl.Set
}

// scriptPermission is command.ScriptPermission: "" when the user may run
// a command a script calls, by the users the log replicated (stored; nil
// for none), else script.c's refusal. The default user that only this
// node's requirepass makes (none replicated) may run anything, on every
// node alike.
func scriptPermission(stored []byte, user string, spec *command.Spec, args [][]byte) string {
	set, ok := storedUsers(stored)
	if !ok {
		return scriptDenied[acl.ReasonCommand]
	}
	var u *acl.User
	if set != nil {
		u = set.User(user)
	}
	if u == nil {
		if user == "default" && (set == nil || set.User("default") == nil) {
			return ""
		}
		return scriptDenied[acl.ReasonCommand]
	}
	if d := u.Check(spec, args); d != nil {
		if msg, ok := scriptDenied[d.Reason]; ok {
			return msg
		}
		return scriptDenied[acl.ReasonCommand]
	}
	return ""
}

// scriptDenied are script.c's texts for a call its user may not make.
var scriptDenied = map[int]string{
	acl.ReasonCommand: "ERR The user executing the script can't run this command or subcommand",
	acl.ReasonKey:     "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
	acl.ReasonChannel: "ERR The user executing the script can't publish to the channel mentioned in the command",
}

// denied logs a refused command of user's, run by c, in ACL LOG, and
// returns the error to answer.
func (s *Server) denied(c *client, user string, d *acl.Denial, k *command.Spec, context string) string {
	object := d.Object
	if object == "" {
		object = k.Name
	}
	s.aclLog.add(aclEntry{reason: reasonName(d.Reason), context: context, object: object, user: user}, s.clientLine(c, time.Now(), true))
	return d.Error()
}

// logContext is ACL LOG's context of a refusal: "multi" while c queues a
// transaction, as processCommand tells.
func logContext(c *client) string {
	if c.multi {
		return "multi"
	}
	return "toplevel"
}

func reasonName(r int) string {
	switch r {
	case acl.ReasonKey:
		return "key"
	case acl.ReasonChannel:
		return "channel"
	case acl.ReasonAuth:
		return "auth"
	}
	return "command"
}

// --- changes ---

// errACLMoved is the state machine's refusal of a change made from users
// that are no longer the stored ones.
const errACLMoved = string(command.ErrACLMoved)

// updateUsers proposes a change of the users: change gets a copy of the
// users this node enforces and returns the new ones, or an error reply
// (sent as it is). It is computed again when the stored users moved under
// it, for up to 5 seconds.
func (s *Server) updateUsers(c *client, change func(set *acl.Set) (*acl.Set, string)) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := s.users()
		next, msg := change(v.set)
		if msg != "" {
			return msg
		}
		sum := sha256.Sum256(v.stored)
		if v.stored == nil {
			sum = [32]byte{}
		}
		enc := next.Encode()
		args := [][]byte{[]byte("WALKER.ACLSET"), enc, sum[:]}
		now := s.nowMs()
		e := &command.Entry{NowMs: now, Cmds: [][][]byte{args}, Parsed: []command.Parsed{command.ParseCommand(args, now)}}
		res := s.propose(c, e)
		if res.Error == "" {
			if msg, isErr := res.Reply().Err(); isErr {
				if msg == errACLMoved && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond) // until this node applies the change that came first
					continue
				}
				return msg
			}
			s.awaitUsers(v.stored, enc, deadline)
			// As Redis, before the reply: a subscriber to what its user
			// lost is gone, and hears nothing published after it.
			s.closeRevoked(s.users().set)
			return ""
		}
		return res.Error
	}
}

// awaitUsers waits, until deadline, for this node to apply the change of
// its users from old to next (or a later one): on a follower the leader
// answers once the change has committed, and the client's next command
// (AUTH as the new user, ACL GETUSER) must see it here too, as Redis
// applies an ACL change before it replies.
func (s *Server) awaitUsers(old, next []byte, deadline time.Time) {
	if old != nil && bytes.Equal(old, next) {
		return // nothing changed
	}
	for {
		v := s.users()
		if v.stored != nil && (bytes.Equal(v.stored, next) || !bytes.Equal(v.stored, old)) || time.Now().After(deadline) {
			return
		}
		select {
		case <-s.quit:
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// setRequirePass is CONFIG SET requirepass: the default user's password
// ("" for nopass), as Redis's. Once the replicated users hold the default
// user, the change goes through the log to every node; before that it is
// this node's own, as the default user is.
func (s *Server) setRequirePass(p string) error {
	if s.users().explicit {
		var rec command.Recorder
		c := &client{w: &rec, authed: true, user: "default"}
		msg := s.updateUsers(c, func(set *acl.Set) (*acl.Set, string) {
			u := set.User("default").Clone()
			rule := ">" + p
			if p == "" {
				rule = "nopass"
			}
			for _, r := range []string{"resetpass", rule} {
				if err := u.SetRule(r); err != nil {
					return nil, "ERR " + err.Error()
				}
			}
			return set.With(u), ""
		})
		if msg != "" {
			return errors.New(strings.TrimPrefix(msg, "ERR "))
		}
	}
	s.pass.Store(&p)
	return nil
}

// loadUsersAtStart makes the aclfile's users the cluster's when it has
// none yet, as Redis loads its aclfile at start-up: it proposes them with
// the sum of no users, so that it changes nothing once any node's users
// are in the log (the first node to start with the file wins; users the
// cluster has win over any file). It retries while there is no leader.
func (s *Server) loadUsersAtStart(set *acl.Set) {
	defer s.bg.Done()
	var rec command.Recorder
	c := &client{w: &rec, authed: true, user: "default"}
	for {
		if s.users().stored != nil {
			return
		}
		args := [][]byte{[]byte("WALKER.ACLSET"), set.Encode(), make([]byte, 32)}
		now := s.nowMs()
		e := &command.Entry{NowMs: now, Cmds: [][][]byte{args}, Parsed: []command.Parsed{command.ParseCommand(args, now)}}
		res := s.propose(c, e)
		if res.Error == "" {
			if msg, isErr := res.Reply().Err(); !isErr {
				s.cfg.Logger.Info("loaded the ACL users of the aclfile", "file", s.cfg.ACLFile, "users", len(set.Users()))
			} else if msg != errACLMoved {
				s.cfg.Logger.Warn("cannot load the aclfile's users", "file", s.cfg.ACLFile, "err", msg)
			}
			return
		}
		select {
		case <-s.quit:
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// --- ACL subcommands ---

func cmdACLSetuser(s *Server, c *client, args [][]byte) {
	name := string(args[2])
	if acl.HasSpaces(name) {
		c.errorReply("ERR Usernames can't contain spaces or null characters")
		return
	}
	raw := make([]string, len(args)-3)
	for i, a := range args[3:] {
		raw[i] = string(a)
	}
	rules, bad, ok := acl.MergeSelectorArgs(raw)
	if !ok {
		c.errorReply(fmt.Sprintf("ERR Unmatched parenthesis in acl selector starting at '%s'.", raw[bad]))
		return
	}
	msg := s.updateUsers(c, func(set *acl.Set) (*acl.Set, string) {
		u := set.User(name)
		if u == nil {
			u = acl.NewUser(name)
		} else {
			u = u.Clone()
		}
		for _, r := range rules {
			if err := u.SetRule(r); err != nil {
				return nil, fmt.Sprintf("ERR Error in ACL SETUSER modifier '%s': %s", r, err.Error())
			}
		}
		return set.With(u), ""
	})
	if msg != "" {
		c.errorReply(msg)
		return
	}
	c.ok()
}

func cmdACLDeluser(s *Server, c *client, args [][]byte) {
	var n int64
	msg := s.updateUsers(c, func(set *acl.Set) (*acl.Set, string) {
		n = 0
		for _, a := range args[2:] {
			if string(a) == "default" {
				return nil, "ERR The 'default' user cannot be removed"
			}
		}
		for _, a := range args[2:] {
			if set.User(string(a)) != nil {
				set = set.Without(string(a))
				n++
			}
		}
		return set, ""
	})
	if msg != "" {
		c.errorReply(msg)
		return
	}
	c.integer(n)
}

func cmdACLGetuser(s *Server, c *client, args [][]byte) {
	u := s.users().set.User(string(args[2]))
	if u == nil {
		c.null()
		return
	}
	writeGetUser(c, u.GetUser())
}

// writeGetUser writes ACL GETUSER's reply: a map of field names to values
// (a flat array in RESP2), as aclCommand's getuser; "flags" is a set in
// RESP3.
func writeGetUser(c *client, fields []any) {
	c.w.Map(len(fields) / 2)
	for i := 0; i+1 < len(fields); i += 2 {
		writeValue(c, fields[i])
		if flags, ok := fields[i+1].([]string); ok && fields[i] == "flags" {
			c.w.Set(len(flags))
			for _, f := range flags {
				c.bulkString(f)
			}
			continue
		}
		writeValue(c, fields[i+1])
	}
}

// writeValue writes a reply value of walkerd/acl's: a string, a list of
// strings or values, or ordered pairs (a map).
func writeValue(c *client, v any) {
	switch x := v.(type) {
	case string:
		c.bulkString(x)
	case []string:
		c.array(len(x))
		for _, s := range x {
			c.bulkString(s)
		}
	case []any:
		c.array(len(x))
		for _, e := range x {
			writeValue(c, e)
		}
	case [][2]any:
		c.w.Map(len(x))
		for _, p := range x {
			writeValue(c, p[0])
			writeValue(c, p[1])
		}
	default:
		c.bulkString(fmt.Sprint(x))
	}
}

func cmdACLList(s *Server, c *client, args [][]byte) {
	users := s.users().set.Users()
	c.array(len(users))
	for _, u := range users {
		c.bulkString("user " + u.Name + " " + u.Describe())
	}
}

func cmdACLUsers(s *Server, c *client, args [][]byte) {
	users := s.users().set.Users()
	c.array(len(users))
	for _, u := range users {
		c.bulkString(u.Name)
	}
}

func cmdACLWhoami(s *Server, c *client, args [][]byte) { c.bulkString(c.userName()) }

func cmdACLCat(s *Server, c *client, args [][]byte) {
	if len(args) == 2 {
		cats := acl.Categories()
		c.array(len(cats))
		for _, n := range cats {
			c.bulkString(n)
		}
		return
	}
	if len(args) > 3 {
		c.errorReply(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try ACL HELP.", args[1]))
		return
	}
	names, ok := acl.CategoryCommands(string(args[2]))
	if !ok {
		c.errorReply(fmt.Sprintf("ERR Unknown category '%s'", args[2]))
		return
	}
	c.array(len(names))
	for _, n := range names {
		c.bulkString(n)
	}
}

const errGenpass = "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"

func cmdACLGenpass(s *Server, c *client, args [][]byte) {
	bits := int64(256)
	switch len(args) {
	case 2:
	case 3:
		n, ok := command.ParseInt(args[2])
		if !ok {
			c.fail(command.ErrNotInteger)
			return
		}
		if n <= 0 || n > 4096 {
			c.errorReply(errGenpass)
			return
		}
		bits = n
	default:
		c.errorReply(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try ACL HELP.", args[1]))
		return
	}
	p, err := acl.GenPass(int(bits))
	if err != nil {
		c.fail(err)
		return
	}
	c.bulkString(p)
}

// ACL DRYRUN user command [arg ...], as aclCommand's dryrun: the texts of
// the refusal, not the NOPERM replies.
func cmdACLDryrun(s *Server, c *client, args [][]byte) {
	u := s.users().set.User(string(args[2]))
	if u == nil {
		c.errorReply(fmt.Sprintf("ERR User '%s' not found", args[2]))
		return
	}
	cmd := args[3:]
	k := command.Lookup(cmd[0])
	if k != nil && len(k.Subs) > 0 && len(cmd) > 1 {
		if sub := k.Sub(cmd[1]); sub != nil {
			k = sub
		}
	}
	if k == nil {
		c.errorReply(fmt.Sprintf("ERR Command '%s' not found", cmd[0]))
		return
	}
	if !command.ArityOK(k.Arity, len(cmd)) {
		c.errorReply(string(command.ErrArity(k.Name)))
		return
	}
	if d := u.Check(k, cmd); d != nil {
		c.bulkString(d.DryRun(u.Name, k.Name))
		return
	}
	c.ok()
}

const errNoACLFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

// ACL SAVE writes the users to this node's aclfile, as ACLSaveToFile: a
// temporary file renamed over it (config.go's writeFileAtomic).
func cmdACLSave(s *Server, c *client, args [][]byte) {
	if s.cfg.ACLFile == "" {
		c.errorReply(errNoACLFile)
		return
	}
	if err := writeFileAtomic(s.cfg.ACLFile, []byte(s.users().set.File())); err != nil {
		s.cfg.Logger.Warn("ACL SAVE failed", "file", s.cfg.ACLFile, "err", err)
		c.errorReply("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
		return
	}
	c.ok()
}

// ACL LOAD reads this node's aclfile and makes its users the cluster's
// (through the log). A file without "default" gets Redis's new default
// user (on, nopass, every command, key and channel), as ACLLoadFromFile.
func cmdACLLoad(s *Server, c *client, args [][]byte) {
	if s.cfg.ACLFile == "" {
		c.errorReply(errNoACLFile)
		return
	}
	set, msg := loadACLFile(s.cfg.ACLFile)
	if msg == "" {
		msg = s.updateUsers(c, func(*acl.Set) (*acl.Set, string) { return set, "" })
	}
	if msg != "" {
		c.errorReply(msg)
		return
	}
	c.ok()
}

func loadACLFile(path string) (*acl.Set, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Sprintf("ERR Error loading ACLs, opening file '%s': %s", path, err)
	}
	set, err := acl.ParseFileAs(path, string(b))
	if err != nil {
		return nil, "ERR " + err.Error()
	}
	return set, ""
}

func cmdACLHelp(s *Server, c *client, args [][]byte) {
	lines := []string{
		"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"DELUSER <username> [<username> ...]",
		"    Delete a list of users.",
		"DRYRUN <username> <command> [<arg> ...]",
		"    Returns whether the user can execute the given command without executing the command.",
		"GETUSER <username>",
		"    Get the user's details.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"LOAD",
		"    Reload users from the ACL file.",
		"LOG [<count> | RESET]",
		"    Show the ACL log entries.",
		"SAVE",
		"    Save the current config to the ACL file.",
		"SETUSER <username> <attribute> [<attribute> ...]",
		"    Create or modify a user with the specified attributes.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.",
		"HELP",
		"    Prints this help.",
	}
	c.array(len(lines))
	for _, l := range lines {
		c.simple(l)
	}
}

// --- ACL LOG ---

// aclEntry is one ACL LOG entry, as acl.c's ACLLogEntry: the same reason,
// context, object and user within aclLogGroupWindow count as one.
type aclEntry struct {
	count                         int64
	reason, context, object, user string
	created, updated              time.Time
	clientInfo                    string
}

// aclLogGroupWindow is ACL_LOG_GROUPING_MAX_TIME_DELTA (60 s).
const aclLogGroupWindow = 60 * time.Second

type aclLog struct {
	mu      sync.Mutex
	entries []aclEntry // newest first
	maxLen  atomic.Int64
}

func (l *aclLog) add(e aclEntry, clientInfo string) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.entries {
		x := &l.entries[i]
		if x.reason == e.reason && x.context == e.context && x.object == e.object && x.user == e.user &&
			now.Sub(x.updated) < aclLogGroupWindow {
			x.count++
			x.updated = now
			x.clientInfo = clientInfo
			moved := *x
			l.entries = slices.Delete(l.entries, i, i+1)
			l.entries = slices.Insert(l.entries, 0, moved)
			return
		}
	}
	e.count, e.created, e.updated, e.clientInfo = 1, now, now, clientInfo
	l.entries = slices.Insert(l.entries, 0, e)
	if max := l.maxLen.Load(); int64(len(l.entries)) > max {
		l.entries = l.entries[:max]
	}
}

// setMax is CONFIG SET acllog-max-len: the oldest entries beyond n go.
func (l *aclLog) setMax(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxLen.Store(n)
	if int64(len(l.entries)) > n {
		l.entries = l.entries[:n]
	}
}

// ACL LOG [count | RESET], as aclCommand's log: each entry a map of
// count, reason, context, object, username, age-seconds and client-info
// (Redis 7.0's fields).
func cmdACLLog(s *Server, c *client, args [][]byte) {
	count := int64(10)
	switch {
	case len(args) == 3 && equalFoldStr(args[2], "reset"):
		s.aclLog.mu.Lock()
		s.aclLog.entries = nil
		s.aclLog.mu.Unlock()
		c.ok()
		return
	case len(args) == 3:
		n, ok := command.ParseInt(args[2])
		if !ok {
			c.fail(command.ErrNotInteger)
			return
		}
		count = max(n, 0)
	case len(args) > 3:
		c.errorReply(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try ACL HELP.", args[1]))
		return
	}
	s.aclLog.mu.Lock()
	entries := s.aclLog.entries
	if int64(len(entries)) > count {
		entries = entries[:count]
	}
	entries = slices.Clone(entries)
	s.aclLog.mu.Unlock()
	now := time.Now()
	c.array(len(entries))
	for _, e := range entries {
		c.w.Map(7)
		c.bulkString("count")
		c.integer(e.count)
		c.bulkString("reason")
		c.bulkString(e.reason)
		c.bulkString("context")
		c.bulkString(e.context)
		c.bulkString("object")
		c.bulkString(e.object)
		c.bulkString("username")
		c.bulkString(e.user)
		c.bulkString("age-seconds")
		c.w.Double(float64(now.Sub(e.created).Milliseconds()) / 1000)
		c.bulkString("client-info")
		c.bulkString(strings.TrimSuffix(e.clientInfo, "\n"))
	}
}
