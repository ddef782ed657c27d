package acl

import (
	"slices"
	"strings"
	"sync"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// universe is the set of commands ACL rules can name: every spec of
// package command but the internal ones, top-level commands sorted by
// name, each followed by its subcommands sorted by name. acl.c walks
// server.orig_commands, a hash table; walking in name order gives the same
// rules in a stable order.
type universe struct {
	top  []*command.Spec
	subs map[*command.Spec][]*command.Spec
	all  []*command.Spec    // top-level then its subcommands, in walk order
	n    int                // command.Count(): the bitmap's size
	cats []command.Category // by Spec.ID: Spec.Categories()
}

var commands = sync.OnceValue(func() *universe {
	u := &universe{subs: map[*command.Spec][]*command.Spec{}, n: command.Count()}
	u.cats = make([]command.Category, u.n)
	for _, s := range command.Specs() {
		if s.Flags&command.FlagInternal != 0 {
			continue
		}
		u.top = append(u.top, s)
		u.all = append(u.all, s)
		u.cats[s.ID] = s.Categories()
		for _, sub := range s.Subs {
			u.cats[sub.ID] = sub.Categories()
		}
		if len(s.Subs) > 0 {
			subs := slices.Clone(s.Subs)
			slices.SortFunc(subs, func(a, b *command.Spec) int { return strings.Compare(a.Name, b.Name) })
			u.subs[s] = subs
			u.all = append(u.all, subs...)
		}
	}
	return u
})

// lookup finds a command by name as acl.c's ACLLookupCommand
// (lookupCommandBySdsLogic, strict): "name" or "container|sub"; a name
// with a '|' needs a container and one of its subcommands. Internal
// commands are not found.
func lookup(name string) *command.Spec {
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return nil
		}
	}
	parts := strings.Split(name, "|")
	if len(parts) > 2 {
		return nil
	}
	s := command.LookupName(parts[0])
	if s == nil || s.Flags&command.FlagInternal != 0 || strings.Contains(parts[0], "|") {
		return nil
	}
	if len(parts) == 1 {
		return s
	}
	if len(s.Subs) == 0 {
		return nil
	}
	return s.Sub([]byte(parts[1]))
}

// bits is a command bitmap indexed by Spec.ID.
type bits []uint64

func newBits() bits { return make(bits, (commands().n+63)/64) }

func (b bits) get(id int) bool { return b[id/64]&(1<<(id%64)) != 0 }
func (b bits) set(id int, v bool) {
	if v {
		b[id/64] |= 1 << (id % 64)
	} else {
		b[id/64] &^= 1 << (id % 64)
	}
}

// Key pattern permissions, as acl.c's ACL_READ_PERMISSION and
// ACL_WRITE_PERMISSION.
const (
	permRead  uint8 = 1
	permWrite uint8 = 2
	permAll         = permRead | permWrite
)

type keyPattern struct {
	pattern string
	perm    uint8
}

// selector is acl.c's aclSelector.
type selector struct {
	root        bool
	allKeys     bool
	allChannels bool
	allCommands bool // SELECTOR_FLAG_ALLCOMMANDS: skip the bit test
	future      bool // the reserved bit +@all sets: future commands
	cmds        bits
	firstArgs   map[int][]string // by Spec.ID: allowed first arguments
	keys        []keyPattern
	channels    []string
}

// newSelector is ACLCreateSelector with acl-pubsub-default resetchannels.
func newSelector(root bool) *selector {
	return &selector{root: root, cmds: newBits()}
}

func (s *selector) clone() *selector {
	c := *s
	c.cmds = slices.Clone(s.cmds)
	c.keys = slices.Clone(s.keys)
	c.channels = slices.Clone(s.channels)
	c.firstArgs = nil
	for id, a := range s.firstArgs {
		if c.firstArgs == nil {
			c.firstArgs = map[int][]string{}
		}
		c.firstArgs[id] = slices.Clone(a)
	}
	return &c
}

// setBit is ACLSetSelectorCommandBit: clearing a bit clears ALLCOMMANDS.
func (s *selector) setBit(id int, v bool) {
	s.cmds.set(id, v)
	if !v {
		s.allCommands = false
	}
}

// changePerm is ACLChangeSelectorPerm: a command's bit, and for a
// container its subcommands' bits too; the command's first arguments are
// forgotten.
func (s *selector) changePerm(cmd *command.Spec, allow bool) {
	s.setBit(cmd.ID, allow)
	delete(s.firstArgs, cmd.ID)
	for _, sub := range cmd.Subs {
		s.setBit(sub.ID, allow)
	}
}

// setCategory is ACLSetSelectorCommandBitsForCategory for a known
// category.
func (s *selector) setCategory(cat command.Category, allow bool) {
	u := commands()
	for _, top := range u.top {
		if u.cats[top.ID]&cat != 0 {
			s.changePerm(top, allow)
		}
		for _, sub := range u.subs[top] {
			if u.cats[sub.ID]&cat != 0 {
				s.changePerm(sub, allow)
			}
		}
	}
}

// setAll is +@all (allow) or -@all.
func (s *selector) setAll(allow bool) {
	for i := range s.cmds {
		if allow {
			s.cmds[i] = ^uint64(0)
		} else {
			s.cmds[i] = 0
		}
	}
	s.future, s.allCommands = allow, allow
	s.firstArgs = nil
}

// addFirstArg is ACLAddAllowedFirstArg: no duplicates, in any case.
func (s *selector) addFirstArg(id int, arg string) {
	for _, a := range s.firstArgs[id] {
		if foldEq(a, arg) {
			return
		}
	}
	if s.firstArgs == nil {
		s.firstArgs = map[int][]string{}
	}
	s.firstArgs[id] = append(s.firstArgs[id], arg)
}

// cstr is s up to its first NUL: what C's string functions see of an
// argument.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// apply is acl.c's ACLSetSelector: one selector rule. It returns the
// errno-like code of the failure, or errNone.
func (s *selector) apply(op string) errCode {
	c := cstr(op)
	switch {
	case foldEq(c, "allkeys") || c == "~*":
		s.allKeys, s.keys = true, nil
	case foldEq(c, "resetkeys"):
		s.allKeys, s.keys = false, nil
	case foldEq(c, "allchannels") || c == "&*":
		s.allChannels, s.channels = true, nil
	case foldEq(c, "resetchannels"):
		s.allChannels, s.channels = false, nil
	case foldEq(c, "allcommands") || foldEq(c, "+@all"):
		s.setAll(true)
	case foldEq(c, "nocommands") || foldEq(c, "-@all"):
		s.setAll(false)
	case len(op) > 0 && (op[0] == '~' || op[0] == '%'):
		if s.allKeys {
			return errExist
		}
		perm, off := permAll, 1
		if op[0] == '%' {
			perm = 0
		flags:
			for ; off < len(op); off++ {
				switch {
				case (op[off] == 'R' || op[off] == 'r') && perm&permRead == 0:
					perm |= permRead
				case (op[off] == 'W' || op[off] == 'w') && perm&permWrite == 0:
					perm |= permWrite
				case op[off] == '~':
					off++
					break flags
				default:
					return errInval
				}
			}
			if perm == 0 {
				return errInval
			}
		}
		pat := op[off:]
		if HasSpaces(pat) {
			return errInval
		}
		if i := slices.IndexFunc(s.keys, func(k keyPattern) bool { return k.pattern == pat }); i >= 0 {
			s.keys[i].perm |= perm
		} else {
			s.keys = append(s.keys, keyPattern{pat, perm})
		}
	case len(op) > 0 && op[0] == '&':
		if s.allChannels {
			return errIsDir
		}
		pat := op[1:]
		if HasSpaces(pat) {
			return errInval
		}
		if !slices.Contains(s.channels, pat) {
			s.channels = append(s.channels, pat)
		}
	case len(c) > 0 && c[0] == '+' && (len(c) < 2 || c[1] != '@'):
		name := c[1:]
		i := strings.LastIndexByte(name, '|')
		if i < 0 {
			cmd := lookup(name)
			if cmd == nil {
				return errNoEnt
			}
			s.changePerm(cmd, true)
			return errNone
		}
		cmd, sub := lookup(name[:i]), name[i+1:]
		switch {
		case cmd == nil:
			return errNoEnt
		case cmd.Parent != nil:
			return errChild
		case sub == "":
			return errInval
		case len(cmd.Subs) > 0:
			full := lookup(name)
			if full == nil {
				return errNoEnt
			}
			s.changePerm(full, true)
		default:
			s.addFirstArg(cmd.ID, sub)
		}
	case len(c) > 0 && c[0] == '-' && (len(c) < 2 || c[1] != '@'):
		cmd := lookup(c[1:])
		if cmd == nil {
			return errNoEnt
		}
		s.changePerm(cmd, false)
	case len(c) > 1 && (c[0] == '+' || c[0] == '-') && c[1] == '@':
		cat, ok := parseCategory(c[2:])
		if !ok {
			return errNoEnt
		}
		s.setCategory(cat, c[0] == '+')
	default:
		return errInval
	}
	return errNone
}

// foldEq is C's strcasecmp(a, b) == 0: ASCII case folding only.
func foldEq(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// parseCategory is ACLGetCommandCategoryFlagByName.
func parseCategory(name string) (command.Category, bool) {
	for i, n := range command.CategoryNames() {
		if foldEq(name, n) {
			return 1 << i, true
		}
	}
	return 0, false
}
