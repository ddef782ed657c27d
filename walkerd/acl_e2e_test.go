package main_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// authedDo runs commands on one connection to addr after AUTH user pass
// and returns the replies.
func authedDo(t *testing.T, addr, user, pass string, cmds ...[]string) []string {
	t.Helper()
	c, err := harness.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.Do("AUTH", user, pass); err != nil || got != "+OK\r\n" {
		t.Fatalf("AUTH %s at %s = %q, %v", user, addr, got, err)
	}
	var out []string
	for _, cmd := range cmds {
		got, err := c.Do(cmd...)
		if err != nil {
			t.Fatalf("%v at %s: %v", cmd, addr, err)
		}
		out = append(out, got)
	}
	return out
}

// ACL users are replicated through the log: a user made on a follower is
// enforced by every node, a forwarded command runs with its user's
// permissions, a password rotated with CONFIG SET requirepass holds on
// every node, and no node stores a password in the clear.
func TestE2E_ACLUsersAreTheClusters(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Followers(leader)
	must(t, f[0], "+OK\r\n", "ACL", "SETUSER", "app", "on", ">app-secret-pw", "~app:*", "+@read", "+@write", "-flushall")
	must(t, f[0], "+OK\r\n", "ACL", "SETUSER", "reader", "on", ">reader-pw", "%R~*", "+get", "+levelget")

	// Every node knows the users once it has applied the entry.
	for _, n := range c.Nodes {
		if err := harness.WaitFor(10*time.Second, func() error {
			got, err := n.Do("ACL", "USERS")
			if err != nil {
				return err
			}
			if !strings.HasPrefix(got, "*3\r\n$3\r\napp\r\n$7\r\ndefault\r\n$6\r\nreader\r\n") {
				return fmt.Errorf("%s ACL USERS = %q", n.ID, got)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	// A change made on a follower is in force there when the reply comes,
	// as Redis applies an ACL change before it replies.
	for i := range 20 {
		name := fmt.Sprintf("quick%d", i)
		c, err := harness.Dial(f[1].RESP)
		if err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]string{{"ACL", "SETUSER", name, "on", ">pw", "+@all", "~*"}, {"AUTH", name, "pw"}} {
			if got, err := c.Do(cmd...); err != nil || got != "+OK\r\n" {
				t.Fatalf("%v on a follower, at once: %q %v", cmd, got, err)
			}
		}
		c.Close()
	}

	// On each node: allowed writes go through (forwarded from followers
	// with their user), refused ones answer NOPERM.
	for i, n := range c.Nodes {
		key := fmt.Sprintf("app:%d", i)
		got := authedDo(t, n.RESP, "app", "app-secret-pw",
			[]string{"SET", key, "v"}, []string{"GET", key}, []string{"SET", "other", "v"},
			[]string{"FLUSHALL"}, []string{"ACL", "WHOAMI"})
		want := []string{"+OK\r\n", bulk("v"),
			"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
			"-NOPERM this user has no permissions to run the 'flushall' command\r\n",
			"-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n"}
		if strings.Join(got, "") != strings.Join(want, "") {
			t.Fatalf("%s: replies\n%q\nwant\n%q", n.ID, got, want)
		}
		got = authedDo(t, n.RESP, "reader", "reader-pw", []string{"LEVELGET", key, "2"}, []string{"SET", key, "x"})
		if got[0] != bulk("v") || !strings.HasPrefix(got[1], "-NOPERM") {
			t.Fatalf("%s: reader got %q", n.ID, got)
		}
	}

	// The default user's password, once the users are replicated, is the
	// cluster's: set on one follower, it holds on every node.
	must(t, f[1], "+OK\r\n", "CONFIG", "SET", "requirepass", "rotated-pw")
	for _, n := range c.Nodes {
		if err := harness.WaitFor(10*time.Second, func() error {
			if got, _ := n.Do("GET", "app:0"); !strings.HasPrefix(got, "-NOAUTH") {
				return fmt.Errorf("%s: GET without AUTH = %q", n.ID, got)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got := authedDo(t, n.RESP, "default", "rotated-pw", []string{"SET", "after", n.ID}); got[0] != "+OK\r\n" {
			t.Fatalf("%s: a write after the rotation = %q", n.ID, got[0])
		}
	}

	// Deleting a user ends what its connections may do, on every node.
	conn, err := harness.Dial(f[1].RESP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got, _ := conn.Do("AUTH", "app", "app-secret-pw"); got != "+OK\r\n" {
		t.Fatalf("AUTH app = %q", got)
	}
	authedDo(t, leader.RESP, "default", "rotated-pw", []string{"ACL", "DELUSER", "app"})
	if err := harness.WaitFor(10*time.Second, func() error {
		got, err := conn.Do("GET", "app:0")
		if err == nil && strings.HasPrefix(got, "$") {
			return fmt.Errorf("a deleted user's connection still reads: %q", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	for _, n := range c.Nodes {
		n.Stop()
	}
	for _, n := range c.Nodes {
		filepath.Walk(n.Dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(path)
			for _, secret := range []string{"app-secret-pw", "reader-pw", "rotated-pw"} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s holds the password %q in the clear", path, secret)
				}
			}
			return nil
		})
	}
}
