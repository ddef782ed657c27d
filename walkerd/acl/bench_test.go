package acl

import (
	"testing"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

func BenchmarkCheck(b *testing.B) {
	get := command.LookupName("get")
	args := argv("get", "foo:1")
	for _, c := range []struct {
		name string
		u    *User
	}{
		{"default", DefaultUser("")},
		{"patterns", user(b, "u", "+@all", "~bar:*", "%R~foo:*", "&c")},
		{"selectors", user(b, "u", "+set", "~x", "(+hset ~y)", "(+get ~foo:*)")},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if d := c.u.Check(get, args); d != nil {
					b.Fatal(d)
				}
			}
		})
	}
}

func BenchmarkDescribe(b *testing.B) {
	u := user(b, "u", "+@all", "-@dangerous", "+info", "~x", "(+get ~y)")
	for b.Loop() {
		u.Describe()
	}
}
