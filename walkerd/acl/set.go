package acl

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Set is every ACL user, by name. It is immutable: With and Without
// return new sets sharing the unchanged users.
type Set struct {
	users []*User // sorted by name (byte order, as Redis's rax)
}

// NewSet returns the set of users; of two users with one name the last
// wins.
func NewSet(users ...*User) *Set {
	s := &Set{}
	for _, u := range users {
		s = s.With(u)
	}
	return s
}

func (s *Set) find(name string) (int, bool) {
	return slices.BinarySearchFunc(s.users, name, func(u *User, n string) int { return strings.Compare(u.Name, n) })
}

// User returns the user named name (case-sensitive), or nil.
func (s *Set) User(name string) *User {
	if i, ok := s.find(name); ok {
		return s.users[i]
	}
	return nil
}

// Users returns every user sorted by name, as ACL USERS and ACL LIST list
// them. The slice is the caller's; the users are shared and immutable.
func (s *Set) Users() []*User { return slices.Clone(s.users) }

// With returns the set with u added, or replacing the user of its name.
func (s *Set) With(u *User) *Set {
	i, ok := s.find(u.Name)
	users := slices.Clone(s.users)
	if ok {
		users[i] = u
	} else {
		users = slices.Insert(users, i, u)
	}
	return &Set{users: users}
}

// Without returns the set without the user named name.
func (s *Set) Without(name string) *Set {
	i, ok := s.find(name)
	if !ok {
		return s
	}
	return &Set{users: slices.Delete(slices.Clone(s.users), i, i+1)}
}

// encodingVersion is the first byte of Encode's output.
const encodingVersion = 1

// ErrCorrupt is returned by Decode for bytes Encode did not write.
var ErrCorrupt = errors.New("acl: corrupt encoded user set")

// Encode is the set's replicated form (drawn in the package doc): each
// user as its name and the rules that rebuild it.
func (s *Set) Encode() []byte {
	b := []byte{encodingVersion}
	b = binary.AppendUvarint(b, uint64(len(s.users)))
	for _, u := range s.users {
		b = appendString(b, u.Name)
		rules := u.tokens(true)
		b = binary.AppendUvarint(b, uint64(len(rules)))
		for _, r := range rules {
			b = appendString(b, r)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// Decode reads what Encode wrote. Rules naming a command this binary does
// not know are skipped; any other failure wraps ErrCorrupt.
func Decode(b []byte) (*Set, error) {
	if len(b) == 0 || b[0] != encodingVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrCorrupt)
	}
	b = b[1:]
	n, err := readUvarint(&b)
	if err != nil {
		return nil, err
	}
	users := make([]*User, 0, min(n, uint64(len(b))))
	for range n {
		name, err := readString(&b)
		if err != nil {
			return nil, err
		}
		nr, err := readUvarint(&b)
		if err != nil {
			return nil, err
		}
		u := NewUser(name)
		for range nr {
			r, err := readString(&b)
			if err != nil {
				return nil, err
			}
			if err := u.SetRule(r); err != nil && !err.(*RuleError).UnknownCommand() {
				return nil, fmt.Errorf("%w: user %q: rule %q: %v", ErrCorrupt, name, r, err)
			}
		}
		users = append(users, u)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(b))
	}
	return NewSet(users...), nil
}

func readUvarint(b *[]byte) (uint64, error) {
	v, n := binary.Uvarint(*b)
	if n <= 0 {
		return 0, fmt.Errorf("%w: bad length", ErrCorrupt)
	}
	*b = (*b)[n:]
	return v, nil
}

func readString(b *[]byte) (string, error) {
	n, err := readUvarint(b)
	if err != nil {
		return "", err
	}
	if n > uint64(len(*b)) {
		return "", fmt.Errorf("%w: string past the end", ErrCorrupt)
	}
	s := string((*b)[:n])
	*b = (*b)[n:]
	return s, nil
}

// File is the ACL file of the set, as ACLSaveToFile writes it: one line
// "user <name> <Describe>\n" per user, sorted by name.
func (s *Set) File() string {
	var b strings.Builder
	for _, u := range s.users {
		b.WriteString("user ")
		b.WriteString(u.Name)
		b.WriteByte(' ')
		b.WriteString(u.Describe())
		b.WriteByte('\n')
	}
	return b.String()
}

// FileError is a refused ACL file: its Error is ACL LOAD's error text
// (ACLLoadFromFile), every problem with its line number, then "WARNING:
// ACL errors detected, no change to the previously active ACL rules was
// performed".
type FileError struct {
	// Filename is the name the problems are reported under (Redis's
	// aclfile setting).
	Filename string
	// Problems are the texts ACLLoadFromFile collects, each ending in ". "
	// (or ".", for an unmatched parenthesis).
	Problems []string
}

func (e *FileError) Error() string {
	return strings.Join(e.Problems, "") +
		"WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
}

// ParseFile reads an ACL file (ParseFileAs with the file name
// "users.acl").
func ParseFile(text string) (*Set, error) { return ParseFileAs("users.acl", text) }

// ParseFileAs reads an ACL file as acl.c's ACLLoadFromFile: lines "user
// <name> <rule> ...", split at single spaces, selectors merged from their
// arguments; blank lines are skipped; "default", when absent, is
// DefaultUser(""). A user's rules apply to NewUser (a "default" in the
// file starts from NewUser too). Any problem refuses the whole file with
// a *FileError naming filename and the line.
func ParseFileAs(filename, text string) (*Set, error) {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	var users []*User
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		num := i + 1
		line = strings.Trim(line, " \t\r\n")
		if line == "" {
			continue
		}
		argv := strings.Split(line, " ")
		if argv[0] != "user" || len(argv) < 2 {
			add("%s:%d should start with user keyword followed by the username. ", filename, num)
			continue
		}
		name := argv[1]
		if HasSpaces(name) {
			add("'%s:%d: username '%s' contains invalid characters. ", filename, num, cstr(name))
			continue
		}
		if seen[name] {
			add("WARNING: Duplicate user '%s' found on line %d. ", cstr(name), num)
			continue
		}
		seen[name] = true
		u := NewUser(name)
		args, _, ok := MergeSelectorArgs(argv[2:])
		if !ok {
			add("%s:%d: Unmatched parenthesis in selector definition.", filename, num)
		}
		syntax := false
		for _, a := range args {
			a = strings.Trim(a, "\t\r\n")
			if err := u.SetRule(a); err != nil {
				re := err.(*RuleError)
				if re.UnknownCommand() {
					add("%s:%d: Error in applying operation '%s': %s. ", filename, num, cstr(a), re.Error())
				} else if !syntax {
					add("%s:%d: %s. ", filename, num, re.Error())
					syntax = true
				}
			}
		}
		users = append(users, u)
	}
	if len(problems) > 0 {
		return nil, &FileError{Filename: filename, Problems: problems}
	}
	s := NewSet(users...)
	if s.User("default") == nil {
		s = s.With(DefaultUser(""))
	}
	return s, nil
}

// GenPassMaxBits is the most bits ACL GENPASS gives.
const GenPassMaxBits = 4096

// ErrGenPassBits is ACL GENPASS's error for a bit count out of range.
var ErrGenPassBits = fmt.Errorf("ACL GENPASS argument must be the number of bits for the output password, a positive number up to %d", GenPassMaxBits)

// GenPass is ACL GENPASS: bits random bits (0: 256) as lower-case hex,
// bits rounded up to a multiple of 4. bits below 0 or above 4096 give
// ErrGenPassBits.
func GenPass(bits int) (string, error) {
	if bits == 0 {
		bits = 256
	}
	if bits < 0 || bits > GenPassMaxBits {
		return "", ErrGenPassBits
	}
	chars := (bits + 3) / 4
	buf := make([]byte, (chars+1)/2)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(buf)[:chars], nil
}

// Categories is ACL CAT: every category name, in Redis's order.
func Categories() []string { return command.CategoryNames() }

// CategoryCommands is ACL CAT <category> (any ASCII case): the full names
// of the commands in it, a container's subcommands after it, as
// aclCatWithFlags lists them (in name order where Redis walks a hash
// table). ok is false for an unknown category (ACL CAT answers "Unknown
// category '<name>'").
func CategoryCommands(cat string) ([]string, bool) {
	c, ok := parseCategory(cat)
	if !ok {
		return nil, false
	}
	u := commands()
	out := []string{}
	for _, top := range u.top {
		if u.cats[top.ID]&c != 0 {
			out = append(out, top.Name)
		}
		for _, sub := range u.subs[top] {
			if u.cats[sub.ID]&c != 0 {
				out = append(out, sub.Name)
			}
		}
	}
	return out, true
}
