package server

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// go-redis's Script runs EVALSHA and, on NOSCRIPT, EVAL; scripts run
// atomically: concurrent read-modify-write scripts lose no update.
func TestScript_GoRedisScriptsAreAtomic(t *testing.T) {
	s := startServer(t, Config{})
	ctx := context.Background()
	c := newGoRedis(t, s.addr)
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	incr := redis.NewScript(`local v = tonumber(redis.call('get', KEYS[1]) or '0')
redis.call('set', KEYS[1], v + tonumber(ARGV[1]))
return v + tonumber(ARGV[1])`)
	if ok, err := incr.Exists(ctx, c).Result(); err != nil || ok[0] {
		t.Fatalf("SCRIPT EXISTS before the first run: %v %v", ok, err)
	}
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := incr.Run(ctx, c, []string{"counter"}, 1).Err(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "counter").Int(); err != nil || v != workers*each {
		t.Fatalf("counter = %d %v, want %d", v, err, workers*each)
	}
	if ok, err := incr.Exists(ctx, c).Result(); err != nil || !ok[0] {
		t.Fatalf("SCRIPT EXISTS after EVAL: %v %v", ok, err)
	}
	// Errors come back as Redis words them.
	err := c.Eval(ctx, "return redis.call('incr', KEYS[1])", []string{"s"}).Err()
	if err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "str", "x", 0)
	err = c.Eval(ctx, "return redis.call('incr', KEYS[1])", []string{"str"}).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "ERR value is not an integer or out of range script: ") {
		t.Fatalf("a failing redis.call: %v", err)
	}
	if err := c.EvalSha(ctx, strings.Repeat("0", 40), nil).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOSCRIPT") {
		t.Fatalf("EVALSHA of an unknown script: %v", err)
	}
	if v, err := c.EvalRO(ctx, "return redis.call('get', KEYS[1])", []string{"counter"}).Text(); err != nil || v != "320" {
		t.Fatalf("EVAL_RO = %q %v", v, err)
	}
	if err := c.EvalRO(ctx, "return redis.call('del', KEYS[1])", []string{"counter"}).Err(); err == nil ||
		!strings.HasPrefix(err.Error(), "ERR Write commands are not allowed from read-only scripts.") {
		t.Fatalf("a write in EVAL_RO: %v", err)
	}
	if err := c.Get(ctx, "nope").Err(); !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
}

// redis-py's Lock (whose acquire, extend and release are Lua scripts, run
// with EVALSHA and loaded with SCRIPT LOAD) works against walkerd. It
// needs a python3 with the redis package (Debian's python3-redis).
func TestScript_RedisPyLock(t *testing.T) {
	py := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import redis").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		t.Skip("no python3 with the redis package (apt-get install python3-redis)")
	}
	s := startServer(t, Config{})
	host, port, _ := strings.Cut(s.addr, ":")
	const prog = `
import sys, redis
from redis.exceptions import LockNotOwnedError
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]))
r.script_flush()
a = r.lock("res", timeout=10)
b = r.lock("res", timeout=10)
assert a.acquire(blocking=False), "a could not take a free lock"
assert not b.acquire(blocking=False), "b took a held lock"
assert a.owned() and not b.owned()
assert a.extend(5), "extend"
assert 10000 < r.pttl("res") <= 15000, r.pttl("res")
assert a.reacquire(), "reacquire"
a.release()
assert r.get("res") is None
assert b.acquire(blocking=False), "b could not take the released lock"
r.delete("res")  # b's lock expires early; a takes it
assert a.acquire(blocking=False)
try:
    b.release()  # the release script sees another token: refuses
    raise SystemExit("b released a's lock")
except LockNotOwnedError:
    pass
assert a.owned()
a.release()
assert r.get("res") is None
print("ok")
`
	out, err := exec.Command(py, "-c", prog, host, port).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("redis-py lock: %v\n%s", err, out)
	}
}
