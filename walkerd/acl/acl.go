// Package acl is WalkerDB's model of Redis 7.0's ACL users (acl.c): users
// with flags, SHA-256 password hashes and selectors; the ACL SETUSER rules
// that change them; ACL LIST's and ACL GETUSER's descriptions; the
// permission check of a command run (ACLCheckAllUserCommandPerm); the ACL
// file (ACLLoadFromFile, ACLSaveToFile); and the binary form of the whole
// user set that the Raft log carries. It holds no server state: a User and
// a Set are values, immutable once published, and the server swaps a Set
// as a whole.
//
// # Users and selectors
//
// A user has flags (on/off, nopass, sanitize-payload), passwords (only as
// lower-case SHA-256 hex, never the clear text) and selectors: the root
// selector, changed by rules given outside parentheses, and any number of
// added selectors, each given as one "(...)" rule. A selector allows
// commands (a bit per command, and the "future commands" bit that +@all
// sets), first arguments of otherwise denied commands (+select|0), key
// patterns with read/write permissions (~, %R~, %W~, %RW~) and channel
// patterns (&). A command run is allowed when any selector allows the
// command, all its keys and all its channels.
//
// The commands are those of package command, internal ones (FlagInternal)
// excepted: those cannot be named in a rule, and a selector allows them
// only when it allows future commands (it was built from +@all), as Redis
// treats commands loaded after a user was defined.
//
// # The replicated form
//
// Set.Encode writes every user as the rules that rebuild it, the tokens of
// its ACL LIST line, so that the form does not depend on command IDs:
//
//	+---------+-----------------+--------------------------------------+
//	| version | uvarint n users | n times: user                        |
//	| 1 byte  |                 |                                      |
//	+---------+-----------------+--------------------------------------+
//	user:  uvarint len | name | uvarint n rules | n times: uvarint len | rule
//
// Version is 1. Decode applies the rules to a new user; a rule that names
// a command this binary does not know is skipped, as such a command cannot
// run here.
package acl

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"slices"
)

// User flags, as acl.c's USER_FLAG_*.
const (
	flagEnabled uint8 = 1 << iota
	flagDisabled
	flagNopass
	flagSkipSanitize
	flagSanitize
)

// userFlagNames is acl.c's ACLUserFlags: the order ACL LIST and GETUSER
// show them in.
var userFlagNames = []struct {
	name string
	flag uint8
}{
	{"on", flagEnabled},
	{"off", flagDisabled},
	{"nopass", flagNopass},
	{"skip-sanitize-payload", flagSkipSanitize},
	{"sanitize-payload", flagSanitize},
}

// User is one ACL user. A published User is immutable: change a Clone
// with SetRule and publish the clone.
type User struct {
	// Name is the user name, as given (case-sensitive, any bytes but
	// spaces and NUL).
	Name string

	flags     uint8
	passwords []string    // SHA-256 hex, in the order they were added
	selectors []*selector // [0] is the root selector
}

// NewUser returns a user as ACL SETUSER creates one (ACLCreateUser): off,
// no passwords, no commands, no keys, no channels (acl-pubsub-default
// resetchannels, Redis 7.0's default).
func NewUser(name string) *User {
	return &User{Name: name, flags: flagDisabled, selectors: []*selector{newSelector(true)}}
}

// DefaultUser returns the "default" user as Redis creates it
// (ACLCreateDefaultUser, then requirepass): on, ~* &* +@all, and nopass
// when pass is "", else the one password pass.
func DefaultUser(pass string) *User {
	u := NewUser("default")
	for _, r := range []string{"+@all", "~*", "&*", "on", "nopass"} {
		mustRule(u, r)
	}
	if pass != "" {
		mustRule(u, "resetpass")
		mustRule(u, ">"+pass)
	}
	return u
}

func mustRule(u *User, r string) {
	if err := u.SetRule(r); err != nil {
		panic("acl: " + r + ": " + err.Error())
	}
}

// Clone returns a deep copy of u, which SetRule may change.
func (u *User) Clone() *User {
	c := &User{Name: u.Name, flags: u.flags, passwords: slices.Clone(u.passwords)}
	c.selectors = make([]*selector, len(u.selectors))
	for i, s := range u.selectors {
		c.selectors[i] = s.clone()
	}
	return c
}

// Enabled reports whether the user is on: only an enabled user can
// authenticate (connections already authenticated keep working).
func (u *User) Enabled() bool { return u.flags&flagEnabled != 0 }

// NoPass reports whether the user accepts any password.
func (u *User) NoPass() bool { return u.flags&flagNopass != 0 }

// CheckPassword reports whether pass is one of the user's passwords,
// comparing SHA-256 hashes in constant time, or the user is nopass, as
// ACLCheckUserCredentials does after its enabled check (which is the
// caller's: see Enabled).
func (u *User) CheckPassword(pass []byte) bool {
	if u.NoPass() {
		return true
	}
	h := hashPassword(pass)
	ok := false
	for _, p := range u.passwords {
		if subtle.ConstantTimeCompare([]byte(h), []byte(p)) == 1 {
			ok = true
		}
	}
	return ok
}

// hashPassword is acl.c's ACLHashPassword: lower-case SHA-256 hex.
func hashPassword(p []byte) string {
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:])
}

// validHash is ACLCheckPasswordHash: 64 characters of 0-9a-f.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < 'a' || c > 'f') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// HasSpaces reports whether s holds a space (C's isspace) or a NUL, which
// Redis refuses in user names and key and channel patterns
// (ACLStringHasSpaces): ACL SETUSER answers "Usernames can't contain
// spaces or null characters" for such a name.
func HasSpaces(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\v', '\f', '\r', 0:
			return true
		}
	}
	return false
}
