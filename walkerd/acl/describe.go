package acl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Describe is the user's ACL LIST line without "user <name> ", as
// acl.c's ACLDescribeUser: flags, "#<hash>" passwords, the root selector
// (keys, channels, commands), then " (<selector>)" for each added
// selector. Applying its rules, in order, to NewUser rebuilds the same
// user.
func (u *User) Describe() string {
	return strings.Join(u.rules(), " ")
}

// rules are the Describe tokens; a selector is one token.
func (u *User) rules() []string { return u.tokens(false) }

// tokens are the rules that rebuild u, a selector one token. With quote,
// a selector's rules are quoted where sdssplitargs would not give them
// back as they are (quotes, spaces in a first argument): the replicated
// form must rebuild the user exactly, where ACL LIST shows what Redis
// shows.
func (u *User) tokens(quote bool) []string {
	var out []string
	for _, f := range userFlagNames {
		if u.flags&f.flag != 0 {
			out = append(out, f.name)
		}
	}
	for _, p := range u.passwords {
		out = append(out, "#"+p)
	}
	for _, s := range u.selectors {
		if s.root {
			out = append(out, s.describe()...)
		} else {
			inner := s.describe()
			if quote {
				for i, r := range inner {
					inner[i] = quoteArg(r)
				}
			}
			out = append(out, "("+strings.Join(inner, " ")+")")
		}
	}
	return out
}

// describe is ACLDescribeSelector's tokens.
func (s *selector) describe() []string {
	var out []string
	if s.allKeys {
		out = append(out, "~*")
	} else {
		for _, k := range s.keys {
			out = append(out, k.String())
		}
	}
	if s.allChannels {
		out = append(out, "&*")
	} else {
		out = append(out, "resetchannels")
		for _, c := range s.channels {
			out = append(out, "&"+c)
		}
	}
	return append(out, s.commandRules()...)
}

// String is sdsCatPatternString: "~p", "%R~p" or "%W~p".
func (k keyPattern) String() string {
	switch k.perm {
	case permRead:
		return "%R~" + k.pattern
	case permWrite:
		return "%W~" + k.pattern
	}
	return "~" + k.pattern
}

// commandRules is acl.c's ACLDescribeSelectorCommandRules: +@all or -@all
// (by the future-commands bit), then the categories that best fit the
// bitmap, picked greedily, then the single commands (and first
// arguments) still different, walking the commands in name order. The
// rules rebuild exactly the selector's bitmap.
func (s *selector) commandRules() []string {
	u := commands()
	additive := !s.future
	fake := &selector{cmds: newBits()}
	var out []string
	if additive {
		out = append(out, "-@all")
		fake.setAll(false)
	} else {
		out = append(out, "+@all")
		fake.setAll(true)
	}
	temp := &selector{cmds: slices.Clone(s.cmds)}
	names := command.CategoryNames()
	applied := make([]bool, len(names))
	for {
		best, mindiff, maxsame := -1, int(^uint(0)>>1), 0
		for j := range names {
			if applied[j] {
				continue
			}
			cat := command.Category(1) << j
			on, off := 0, 0
			for _, c := range u.all {
				if u.cats[c.ID]&cat != 0 {
					if temp.cmds.get(c.ID) {
						on++
					} else {
						off++
					}
				}
			}
			diff, same := on, off
			if additive {
				diff, same = off, on
			}
			if same > diff && (diff < mindiff || diff == mindiff && same > maxsame) {
				best, mindiff, maxsame = j, diff, same
			}
		}
		if best < 0 {
			break
		}
		cat := command.Category(1) << best
		fake.setCategory(cat, additive)
		temp.setCategory(cat, !additive)
		sign := "+@"
		if !additive {
			sign = "-@"
		}
		out = append(out, sign+names[best])
		applied[best] = true
	}
	for _, top := range u.top {
		out = s.singleRules(fake, top, out)
		for _, sub := range u.subs[top] {
			out = s.singleRules(fake, sub, out)
		}
		// First arguments follow the command's subcommands, as in acl.c.
		if !s.cmds.get(top.ID) {
			for _, a := range s.firstArgs[top.ID] {
				out = append(out, "+"+top.Name+"|"+a)
			}
		}
	}
	return out
}

// singleRules emits +cmd or -cmd when the selector and the rules so far
// (fake) disagree on cmd.
func (s *selector) singleRules(fake *selector, cmd *command.Spec, out []string) []string {
	user := s.cmds.get(cmd.ID)
	if user != fake.cmds.get(cmd.ID) {
		sign := "-"
		if user {
			sign = "+"
		}
		out = append(out, sign+cmd.Name)
		fake.changePerm(cmd, user)
	}
	return out
}

// GetUser is ACL GETUSER's reply (aclCommand "getuser", Redis 7.0): the
// fields of a map as alternating name and value, in Redis's order:
//
//	"flags"     []string (a set: on/off, nopass, ...)
//	"passwords" []string (SHA-256 hex)
//	"commands"  string   (the root selector's command rules)
//	"keys"      string   ("~*", or the key patterns joined by spaces)
//	"channels"  string   ("&*", or the channel patterns, each with '&')
//	"selectors" []any    (each selector a [][2]any map of its
//	                      "commands", "keys" and "channels")
func (u *User) GetUser() []any {
	var flags []string
	for _, f := range userFlagNames {
		if u.flags&f.flag != 0 {
			flags = append(flags, f.name)
		}
	}
	out := []any{"flags", nonNil(flags), "passwords", nonNil(slices.Clone(u.passwords))}
	for _, f := range u.selectors[0].getUser() {
		out = append(out, f[0], f[1])
	}
	sels := []any{}
	for _, s := range u.selectors[1:] {
		sels = append(sels, s.getUser())
	}
	return append(out, "selectors", sels)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// getUser is aclAddReplySelectorDescription.
func (s *selector) getUser() [][2]any {
	keys := "~*"
	if !s.allKeys {
		var ks []string
		for _, k := range s.keys {
			ks = append(ks, k.String())
		}
		keys = strings.Join(ks, " ")
	}
	chans := "&*"
	if !s.allChannels {
		var cs []string
		for _, c := range s.channels {
			cs = append(cs, "&"+c)
		}
		chans = strings.Join(cs, " ")
	}
	return [][2]any{
		{"commands", strings.Join(s.commandRules(), " ")},
		{"keys", keys},
		{"channels", chans},
	}
}

// quoteArg returns a as splitArgs reads it back: as is when it is plain,
// else double-quoted with \" \\ and \xHH escapes.
func quoteArg(a string) string {
	plain := a != ""
	for i := 0; i < len(a) && plain; i++ {
		c := a[i]
		plain = c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '\\'
	}
	if plain {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(a); i++ {
		switch c := a[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c >= 0x7f:
			b.WriteString(fmt.Sprintf("\\x%02x", c))
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
