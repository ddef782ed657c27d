package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/proc"
)

// XREAD BLOCK and XREADGROUP BLOCK, side by side with redis-server: each
// scenario runs on both servers, blocking clients on connections of their
// own, and every reply, blocked or not, must be the same.

// blockScenario drives one server: do runs a command on the main
// connection, block starts one on a new connection and waits until the
// server counts it blocked, and the replies are collected in order.
type blockScenario struct {
	t       *testing.T
	addr    string
	c       *conn
	blocked int
	out     []string
}

func (b *blockScenario) do(args ...string) {
	b.out = append(b.out, strings.Join(args, " ")+" -> "+b.c.must(b.t, args...))
}

// block sends a blocking command and waits until the server counts it
// among its blocked clients (INFO clients).
func (b *blockScenario) block(args ...string) <-chan string {
	ch := async(b.t, b.addr, args...)
	b.blocked++
	b.waitBlocked(b.blocked)
	return ch
}

// waitBlocked waits until INFO reports n blocked clients.
func (b *blockScenario) waitBlocked(n int) {
	b.t.Helper()
	if err := proc.WaitFor(5*time.Second, func() error {
		info := b.c.must(b.t, "INFO", "clients")
		if want := fmt.Sprintf("blocked_clients:%d", n); !strings.Contains(info, want) {
			return fmt.Errorf("want %s in %s", want, info)
		}
		return nil
	}); err != nil {
		b.t.Fatal(err)
	}
}

// reply waits for a blocked command's reply.
func (b *blockScenario) reply(name string, ch <-chan string) {
	b.out = append(b.out, name+" -> "+recv(b.t, ch))
	b.blocked--
}

func runBlockScenario(t *testing.T, redisAddr, walkerAddr string, scenario func(b *blockScenario)) {
	t.Helper()
	var outs [2][]string
	for i, addr := range []string{redisAddr, walkerAddr} {
		b := &blockScenario{t: t, addr: addr, c: dial(t, addr)}
		b.c.must(t, "FLUSHALL")
		scenario(b)
		b.waitBlocked(0)
		outs[i] = b.out
	}
	if r, w := strings.Join(outs[0], "\n"), strings.Join(outs[1], "\n"); r != w {
		t.Fatalf("replies differ\nredis-server:\n%s\n\nwalkerd:\n%s", r, w)
	}
}

func TestStreamBlocking_MatchesRedis(t *testing.T) {
	redisAddr := startRedis(t)
	ws := startServer(t, Config{})
	scenarios := []struct {
		name string
		run  func(b *blockScenario)
	}{
		{"xread $ waits for entries after the last one", func(b *blockScenario) {
			b.do("XADD", "s", "1-1", "a", "1")
			w1 := b.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
			w2 := b.block("XREAD", "COUNT", "5", "BLOCK", "0", "STREAMS", "s", "$")
			b.do("XADD", "s", "2-1", "b", "2")
			// Reading does not consume: both readers get the entry.
			b.reply("first reader", w1)
			b.reply("second reader", w2)
		}},
		{"xread $ on a missing stream", func(b *blockScenario) {
			w := b.block("XREAD", "BLOCK", "0", "STREAMS", "nosuch", "$")
			b.do("XADD", "nosuch", "5-5", "f", "v")
			b.reply("reader", w)
		}},
		{"xread of several streams wakes on the one with a newer entry", func(b *blockScenario) {
			b.do("XADD", "s2", "3-0", "x", "1")
			w := b.block("XREAD", "BLOCK", "0", "STREAMS", "s1", "s2", "0-0", "5-0")
			b.do("XADD", "s2", "4-0", "y", "2") // not after 5-0: still blocked
			b.do("XADD", "s1", "1-1", "z", "3")
			b.reply("reader", w)
		}},
		{"xread timeout", func(b *blockScenario) {
			b.do("XADD", "s", "1-1", "a", "1")
			b.reply("reader", b.block("XREAD", "BLOCK", "600", "STREAMS", "s", "$"))
		}},
		{"xread errors are immediate", func(b *blockScenario) {
			b.do("SET", "str", "x")
			b.do("XREAD", "BLOCK", "0", "STREAMS", "str", "$")
			b.do("XREAD", "BLOCK", "0", "STREAMS", "str", "0-0")
			b.do("XREAD", "BLOCK", "-1", "STREAMS", "s", "$")
			b.do("XREAD", "BLOCK", "abc", "STREAMS", "s", "$")
			b.do("XREAD", "BLOCK", "0", "STREAMS", "s", "zz")
			b.do("XREAD", "BLOCK", "0", "STREAMS", "s")
		}},
		{"xread key of another type leaves the client blocked", func(b *blockScenario) {
			w := b.block("XREAD", "BLOCK", "0", "STREAMS", "k", "0-0")
			b.do("SET", "k", "x")
			b.do("DEL", "k")
			b.do("XADD", "k", "1-1", "f", "v")
			b.reply("reader", w)
		}},
		{"xread block inside multi does not block", func(b *blockScenario) {
			b.do("XADD", "s", "1-1", "a", "1")
			b.do("MULTI")
			b.do("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
			b.do("XREAD", "BLOCK", "0", "STREAMS", "s", "0-0")
			b.do("EXEC")
		}},
		{"xreadgroup consumers share the entries", func(b *blockScenario) {
			b.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
			c1 := b.block("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")
			c2 := b.block("XREADGROUP", "GROUP", "g", "c2", "COUNT", "2", "BLOCK", "0", "STREAMS", "s", ">")
			b.do("XADD", "s", "1-1", "a", "1")
			b.reply("c1", c1)
			b.do("XADD", "s", "2-1", "b", "2")
			b.reply("c2", c2)
			b.do("XPENDING", "s", "g")
			b.do("XINFO", "GROUPS", "s")
		}},
		{"a consumer that finds nothing does not keep the readers after it waiting", func(b *blockScenario) {
			b.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
			b.do("XGROUP", "CREATE", "s", "h", "$")
			c1 := b.block("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")
			c2 := b.block("XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0", "STREAMS", "s", ">")
			x := b.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
			h := b.block("XREADGROUP", "GROUP", "h", "c3", "BLOCK", "0", "STREAMS", "s", ">")
			b.do("XADD", "s", "1-1", "a", "1")
			b.reply("c1 of g", c1)
			b.reply("reader", x)
			b.reply("c3 of h", h)
			b.waitBlocked(1) // c2 found nothing and waits on
			b.do("XADD", "s", "2-1", "b", "2")
			b.reply("c2 of g", c2)
		}},
		{"xreadgroup noack and count", func(b *blockScenario) {
			b.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
			w := b.block("XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "NOACK", "BLOCK", "0", "STREAMS", "s", ">")
			b.do("MULTI")
			b.do("XADD", "s", "1-1", "a", "1")
			b.do("XADD", "s", "1-2", "b", "2")
			b.do("XADD", "s", "1-3", "c", "3")
			b.do("EXEC")
			b.reply("reader", w)
			b.do("XPENDING", "s", "g")
		}},
		{"xreadgroup history does not block", func(b *blockScenario) {
			b.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
			b.do("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", "0")
		}},
		{"xreadgroup blocked on a group that goes away", func(b *blockScenario) {
			b.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
			w := b.block("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
			b.do("XGROUP", "DESTROY", "s", "g")
			b.reply("reader", w)
		}},
		{"xreadgroup blocked on a stream that is deleted", func(b *blockScenario) {
			b.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
			w := b.block("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
			b.do("DEL", "s")
			b.reply("reader", w)
		}},
		{"xreadgroup blocked on a stream that becomes a string", func(b *blockScenario) {
			b.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
			w := b.block("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
			b.do("SET", "s", "x")
			b.reply("reader", w)
		}},
		{"xread blocked on a stream that is deleted stays blocked", func(b *blockScenario) {
			b.do("XADD", "s", "1-1", "a", "1")
			w := b.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
			b.do("DEL", "s")
			b.do("XADD", "s", "2-2", "b", "2")
			b.reply("reader", w)
		}},
		{"xreadgroup errors are immediate", func(b *blockScenario) {
			b.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
			b.do("XREADGROUP", "GROUP", "nog", "c", "BLOCK", "0", "STREAMS", "s", ">")
			b.do("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", "$")
			b.do("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "nosuch", ">")
		}},
		{"xreadgroup timeout", func(b *blockScenario) {
			b.do("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
			b.reply("reader", b.block("XREADGROUP", "GROUP", "g", "c", "BLOCK", "600", "STREAMS", "s", ">"))
			b.do("XPENDING", "s", "g")
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			runBlockScenario(t, redisAddr, ws.addr, sc.run)
		})
	}
}
