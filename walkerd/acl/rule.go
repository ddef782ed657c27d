package acl

import (
	"slices"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// errCode is the errno ACLSetUser leaves on failure; its text is
// ACLSetUserStringError's.
type errCode int

const (
	errNone   errCode = iota
	errNoEnt          // ENOENT
	errInval          // EINVAL
	errExist          // EEXIST
	errIsDir          // EISDIR
	errNoDev          // ENODEV
	errBadMsg         // EBADMSG
	errChild          // ECHILD
)

var errTexts = [...]string{
	errNone:   "Wrong format",
	errNoEnt:  "Unknown command or category name in ACL",
	errInval:  "Syntax error",
	errExist:  "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
	errIsDir:  "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
	errNoDev:  "The password you are trying to remove from the user does not exist",
	errBadMsg: "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
	errChild:  "Allowing first-arg of a subcommand is not supported",
}

// RuleError is a refused ACL SETUSER rule. Its Error is exactly what Redis
// writes after "ERR Error in ACL SETUSER modifier '<rule>': "
// (acl.c's ACLSetUserStringError).
type RuleError struct {
	// Rule is the refused rule, as given.
	Rule string
	code errCode
}

func (e *RuleError) Error() string { return errTexts[e.code] }

// SetUserReply is ACL SETUSER's whole error reply for e, without the
// leading '-': "ERR Error in ACL SETUSER modifier '<rule>': <Error()>",
// the rule cut at its first NUL as Redis's %s prints it.
func (e *RuleError) SetUserReply() string {
	return "ERR Error in ACL SETUSER modifier '" + cstr(e.Rule) + "': " + e.Error()
}

// UnknownCommand reports whether the rule named a command or category
// that does not exist (ENOENT): ACL LOAD reports those with the rule.
func (e *RuleError) UnknownCommand() bool { return e.code == errNoEnt }

// SetRule applies one ACL SETUSER rule to u, as acl.c's ACLSetUser: on off
// nopass resetpass >pass <pass #hash !hash skip-sanitize-payload
// sanitize-payload reset clearselectors "(selector rules)", or a rule of
// the root selector: ~pattern %R~ %W~ %RW~ allkeys resetkeys &pattern
// allchannels resetchannels +cmd -cmd +cmd|sub +cmd|firstarg +@cat -@cat
// allcommands nocommands. "" does nothing. Keywords are matched in any
// ASCII case. The error is a *RuleError; a failed rule may have changed
// part of u, so apply a user's rules to a Clone and drop it on error, as
// ACL SETUSER does.
func (u *User) SetRule(rule string) error {
	if code := u.apply(rule); code != errNone {
		return &RuleError{Rule: rule, code: code}
	}
	return nil
}

func (u *User) apply(op string) errCode {
	if op == "" {
		return errNone
	}
	c := cstr(op)
	switch {
	case foldEq(c, "on"):
		u.flags = u.flags&^flagDisabled | flagEnabled
	case foldEq(c, "off"):
		u.flags = u.flags&^flagEnabled | flagDisabled
	case foldEq(c, "skip-sanitize-payload"):
		u.flags = u.flags&^flagSanitize | flagSkipSanitize
	case foldEq(c, "sanitize-payload"):
		u.flags = u.flags&^flagSkipSanitize | flagSanitize
	case foldEq(c, "nopass"):
		u.flags |= flagNopass
		u.passwords = nil
	case foldEq(c, "resetpass"):
		u.flags &^= flagNopass
		u.passwords = nil
	case op[0] == '>' || op[0] == '#':
		var h string
		if op[0] == '>' {
			h = hashPassword([]byte(op[1:]))
		} else {
			if !validHash(op[1:]) {
				return errBadMsg
			}
			h = op[1:]
		}
		if !slices.Contains(u.passwords, h) {
			u.passwords = append(u.passwords, h)
		}
		u.flags &^= flagNopass
	case op[0] == '<' || op[0] == '!':
		var h string
		if op[0] == '<' {
			h = hashPassword([]byte(op[1:]))
		} else {
			if !validHash(op[1:]) {
				return errBadMsg
			}
			h = op[1:]
		}
		i := slices.Index(u.passwords, h)
		if i < 0 {
			return errNoDev
		}
		u.passwords = slices.Delete(u.passwords, i, i+1)
	case op[0] == '(' && op[len(op)-1] == ')' && len(op) > 1:
		s := newSelector(false)
		for _, r := range splitArgs(cstr(op[1 : len(op)-1])) {
			if code := s.apply(r); code != errNone {
				return code
			}
		}
		u.selectors = append(u.selectors, s)
	case foldEq(c, "clearselectors"):
		u.selectors = u.selectors[:1]
	case foldEq(c, "reset"):
		for _, r := range []string{"resetpass", "resetkeys", "resetchannels", "off", "sanitize-payload", "clearselectors", "-@all"} {
			u.apply(r)
		}
	default:
		return u.selectors[0].apply(op)
	}
	return errNone
}

// MergeSelectorArgs joins the rules of one selector given as several
// arguments ("(~a", "+get)") into one rule ("(~a +get)"), as acl.c's
// ACLMergeSelectorArguments does for ACL SETUSER and the ACL file. On an
// unmatched '(' it returns ok false and the index in args of the argument
// that opened it (ACL SETUSER answers "Unmatched parenthesis in acl
// selector starting at '<that argument>'.").
func MergeSelectorArgs(args []string) (merged []string, bad int, ok bool) {
	open := -1
	var sel string
	last := func(s string) byte {
		if s == "" {
			return 0
		}
		return s[len(s)-1]
	}
	for j, op := range args {
		if op != "" && op[0] == '(' && last(op) != ')' {
			sel, open = op, j
			continue
		}
		if open != -1 {
			sel += " " + op
			if last(op) == ')' {
				open = -1
				merged = append(merged, sel)
			}
			continue
		}
		merged = append(merged, op)
	}
	if open != -1 {
		return nil, open, false
	}
	return merged, 0, true
}

// splitArgs is Redis's sdssplitargs (resp.SplitArgs) over a string.
// Unbalanced quotes give no arguments at all, as sdssplitargs' NULL does
// for a selector.
func splitArgs(line string) []string {
	args, ok := resp.SplitArgs([]byte(line))
	if !ok {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}
