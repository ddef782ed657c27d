package acl

import (
	"fmt"
	"unsafe"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Denial reasons, with acl.c's ACL_DENIED_* values: when no selector
// allows a command, the denial reported is the highest reason any
// selector gave (ACLCheckAllUserCommandPerm).
const (
	ReasonCommand = 1 // ACL_DENIED_CMD
	ReasonKey     = 2 // ACL_DENIED_KEY
	ReasonAuth    = 3 // ACL_DENIED_AUTH
	ReasonChannel = 4 // ACL_DENIED_CHANNEL
)

// Denial is why a user may not run a command.
type Denial struct {
	// Reason is ReasonCommand, ReasonKey, ReasonChannel or ReasonAuth.
	Reason int
	// Object is what ACL LOG reports: the command's full name
	// ("config|set"), the key, the channel, or for ReasonAuth the user
	// name.
	Object string
}

// Error is the error Redis 7.0.15 sends for the denial (processCommand),
// without the leading '-'.
func (d *Denial) Error() string {
	switch d.Reason {
	case ReasonCommand:
		return "NOPERM this user has no permissions to run the '" + d.Object + "' command"
	case ReasonKey:
		return "NOPERM this user has no permissions to access one of the keys used as arguments"
	case ReasonChannel:
		return "NOPERM this user has no permissions to access one of the channels used as arguments"
	}
	return "WRONGPASS invalid username-password pair or user is disabled."
}

// DryRun is ACL DRYRUN's bulk reply for the denial (Redis 7.0.15's
// aclCommand "dryrun"); cmd is the command's full name, used when Object
// is empty. Redis 7.0 does not name the user in it. DRYRUN never gives
// ReasonAuth: its text here is walkerd's.
func (d *Denial) DryRun(user string, cmd string) string {
	switch d.Reason {
	case ReasonCommand:
		if d.Object != "" {
			cmd = d.Object
		}
		return fmt.Sprintf("This user has no permissions to run the '%s' command", cmd)
	case ReasonKey:
		return fmt.Sprintf("This user has no permissions to access the '%s' key", d.Object)
	case ReasonChannel:
		return fmt.Sprintf("This user has no permissions to access the '%s' channel", d.Object)
	}
	return "This user has no permissions to authenticate"
}

// channelArgs lists a command's channel arguments that ACLs check, as
// Redis 7.0's getChannelsFromCommand for the PUBLISH and SUBSCRIBE flags:
// PSUBSCRIBE's are patterns. UNSUBSCRIBE and friends are not checked.
func channelArgs(name string, args [][]byte) (first, last int, pattern bool) {
	switch name {
	case "publish", "spublish":
		return 1, min(1, len(args)-1), false
	case "subscribe", "ssubscribe":
		return 1, len(args) - 1, false
	case "psubscribe":
		return 1, len(args) - 1, true
	}
	return 1, 0, false
}

// Check is the permission check of one command run, as acl.c's
// ACLCheckAllUserCommandPerm: cmd is the spec of the command or, for a
// container, of the subcommand run; args the whole argv, name included.
// The run is allowed (nil) when a selector allows the command (or its
// first argument), every key with the access the command needs
// (command.KeyAccess: a read needs a %R~ or ~ pattern, a write %W~ or ~),
// and every channel of PUBLISH, SPUBLISH, SUBSCRIBE, SSUBSCRIBE and
// PSUBSCRIBE. Commands flagged no_auth (AUTH, HELLO, ...) need no command
// permission. Otherwise the *Denial is the one Redis reports: a command
// denial if no selector allowed the command, else the key or channel
// denial of the furthest argument.
func (u *User) Check(cmd *command.Spec, args [][]byte) *Denial {
	reason, lastIdx := ReasonCommand, 0
	var object []byte
	var keys []command.KeyRef
	keysDone := false
	for _, s := range u.selectors {
		r, idx, obj := s.check(cmd, args, &keys, &keysDone)
		if r == 0 {
			return nil
		}
		if r > reason || r == reason && idx > lastIdx {
			reason, lastIdx, object = r, idx, obj
		}
	}
	d := &Denial{Reason: reason, Object: cmd.Name}
	if reason == ReasonKey || reason == ReasonChannel {
		d.Object = string(object)
	}
	return d
}

// argIndex is the index in args of key, which KeyAccess gives as the
// argument itself; ordinal+1 (the key's place among the keys, past the
// name) if it is not found: it only orders the denials of selectors.
func argIndex(args [][]byte, key []byte, ordinal int) int {
	for i, a := range args {
		if len(a) == len(key) && unsafe.SliceData(a) == unsafe.SliceData(key) {
			return i
		}
	}
	return min(ordinal+1, len(args)-1)
}

// check is ACLSelectorCheckCmd. It returns 0 or the denial reason, and
// for a key or a channel the index of its argument and the argument.
func (s *selector) check(cmd *command.Spec, args [][]byte, keys *[]command.KeyRef, keysDone *bool) (int, int, []byte) {
	if !s.allCommands && cmd.Flags&command.FlagNoAuth == 0 {
		allowed := false
		if cmd.Flags&command.FlagInternal != 0 {
			allowed = s.future
		} else {
			allowed = s.cmds.get(cmd.ID)
		}
		if !allowed {
			idx := 1
			if cmd.Parent != nil {
				idx = 2
			}
			fa := s.firstArgs[cmd.ID]
			if len(args) < 2 || len(fa) == 0 || idx >= len(args) {
				return ReasonCommand, 0, nil
			}
			match := false
			for _, a := range fa {
				if foldEq(cstr(string(args[idx])), a) {
					match = true
					break
				}
			}
			if !match {
				return ReasonCommand, 0, nil
			}
		}
	}
	if !s.allKeys {
		if !*keysDone {
			*keys, *keysDone = command.KeyAccess(cmd, args), true
		}
		for i, k := range *keys {
			var need uint8
			if k.Read {
				need |= permRead
			}
			if k.Write {
				need |= permWrite
			}
			ok := false
			for _, p := range s.keys {
				if p.perm&need == need && command.Match([]byte(p.pattern), k.Key) {
					ok = true
					break
				}
			}
			if !ok {
				return ReasonKey, argIndex(args, k.Key, i), k.Key
			}
		}
	}
	if !s.allChannels {
		first, last, pattern := channelArgs(cmd.Name, args)
		for i := first; i <= last; i++ {
			ch := string(args[i])
			ok := false
			for _, p := range s.channels {
				if pattern && p == ch || !pattern && command.Match([]byte(p), args[i]) {
					ok = true
					break
				}
			}
			if !ok {
				return ReasonChannel, i, args[i]
			}
		}
	}
	return 0, 0, nil
}

// KeyAllowed reports whether any selector of u allows the key with the
// access asked, as acl.c's ACLUserCheckKeyPerm (SORT's BY and GET
// patterns ask it for the key "*" read: only a user who may read every
// key may use them).
func (u *User) KeyAllowed(key []byte, read, write bool) bool {
	var need uint8
	if read {
		need |= permRead
	}
	if write {
		need |= permWrite
	}
	for _, s := range u.selectors {
		if s.allKeys {
			return true
		}
		for _, p := range s.keys {
			if p.perm&need == need && command.Match([]byte(p.pattern), key) {
				return true
			}
		}
	}
	return false
}

// ChannelAllowed reports whether any selector of u allows the channel, or
// with pattern the channel pattern (compared literally), as acl.c's
// ACLUserCheckChannelPerm: ACL SETUSER disconnects the user's Pub/Sub
// clients whose subscriptions the new rules no longer allow.
func (u *User) ChannelAllowed(channel []byte, pattern bool) bool {
	for _, s := range u.selectors {
		if s.allChannels {
			return true
		}
		for _, p := range s.channels {
			if pattern && p == string(channel) || !pattern && command.Match([]byte(p), channel) {
				return true
			}
		}
	}
	return false
}
