package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func newGoRedis(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGoRedis_BasicsAndPipelines(t *testing.T) {
	s := startServer(t, Config{})
	ctx := context.Background()
	c := newGoRedis(t, s.addr)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "a", "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "a").Result(); err != nil || v != "1" {
		t.Fatalf("GET = %q %v", v, err)
	}
	if ttl := c.TTL(ctx, "a").Val(); ttl < 59*time.Second || ttl > time.Minute {
		t.Fatalf("TTL = %v", ttl)
	}
	if _, err := c.Get(ctx, "missing").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET missing: %v", err)
	}

	// A pipeline of 1000 commands: replies come back in order.
	p := c.Pipeline()
	incrs := make([]*redis.IntCmd, 500)
	for i := range incrs {
		p.Set(ctx, "k"+strconv.Itoa(i), i, 0)
		incrs[i] = p.Incr(ctx, "k"+strconv.Itoa(i))
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range incrs {
		if cmd.Val() != int64(i+1) {
			t.Fatalf("INCR k%d = %d", i, cmd.Val())
		}
	}
	vals, err := c.MGet(ctx, "k0", "k499", "nope").Result()
	if err != nil || fmt.Sprint(vals) != "[1 500 <nil>]" {
		t.Fatalf("MGET = %v %v", vals, err)
	}
	if f, err := c.IncrByFloat(ctx, "f", 0.1).Result(); err != nil || f != 0.1 {
		t.Fatalf("INCRBYFLOAT = %v %v", f, err)
	}
	if err := c.Do(ctx, "SET", "a", "b", "FOO").Err(); err == nil || err.Error() != "ERR syntax error" {
		t.Fatalf("bad SET: %v", err)
	}
}

func TestGoRedis_TxPipelinedIsAtomic(t *testing.T) {
	s := startServer(t, Config{})
	ctx := context.Background()
	c := newGoRedis(t, s.addr)
	var incr *redis.IntCmd
	var get *redis.StringCmd
	cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "n", 10, 0)
		incr = p.Incr(ctx, "n")
		get = p.Get(ctx, "n")
		p.Expire(ctx, "n", time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 4 || incr.Val() != 11 || get.Val() != "11" {
		t.Fatalf("tx: %v %d %q", cmds, incr.Val(), get.Val())
	}
	// A runtime error inside the transaction fails that command only.
	c.Set(ctx, "s", "abc", 0)
	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "s")
		p.Set(ctx, "t", "x", 0)
		return nil
	})
	if err == nil {
		t.Fatal("want the INCR error")
	}
	if v := c.Get(ctx, "t").Val(); v != "x" {
		t.Fatalf("t = %q", v)
	}
}

func TestGoRedis_WatchConflictAbortsTheTransaction(t *testing.T) {
	s := startServer(t, Config{})
	ctx := context.Background()
	c := newGoRedis(t, s.addr)
	other := newGoRedis(t, s.addr)
	c.Set(ctx, "balance", 100, 0)
	err := c.Watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.Get(ctx, "balance").Int()
		if err != nil {
			return err
		}
		// Another client changes the key between WATCH and EXEC.
		if err := other.Set(ctx, "balance", 0, 0).Err(); err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "balance", n-10, 0)
			return nil
		})
		return err
	}, "balance")
	if !errors.Is(err, redis.TxFailedErr) {
		t.Fatalf("Watch = %v, want TxFailedErr", err)
	}
	if v := c.Get(ctx, "balance").Val(); v != "0" {
		t.Fatalf("balance = %q", v)
	}
	// Without interference the same transaction commits.
	err = c.Watch(ctx, func(tx *redis.Tx) error {
		n, _ := tx.Get(ctx, "balance").Int()
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "balance", n+5, 0)
			return nil
		})
		return err
	}, "balance")
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Get(ctx, "balance").Val(); v != "5" {
		t.Fatalf("balance = %q", v)
	}
}

func TestGoRedis_ScanIteratorSeesEveryKeyOnce(t *testing.T) {
	s := startServer(t, Config{})
	ctx := context.Background()
	c := newGoRedis(t, s.addr)
	const n = 10000
	p := c.Pipeline()
	for i := range n {
		p.Set(ctx, fmt.Sprintf("key:%05d", i), i, 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "other", 1, 0)
	seen := make(map[string]int, n)
	it := c.Scan(ctx, 0, "key:*", 100).Iterator()
	for it.Next(ctx) {
		seen[it.Val()]++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("saw %d keys, want %d", len(seen), n)
	}
	for k, times := range seen {
		if times != 1 {
			t.Fatalf("%s seen %d times", k, times)
		}
	}
	// Keys written and deleted during a scan do not disturb the keys that
	// stay: each is still seen once.
	seen = map[string]int{}
	it = c.Scan(ctx, 0, "", 500).Iterator()
	i := 0
	for it.Next(ctx) {
		seen[it.Val()]++
		if i++; i%1000 == 0 {
			c.Set(ctx, fmt.Sprintf("new:%d", i), 1, 0)
			c.Del(ctx, fmt.Sprintf("new:%d", i-1000))
		}
	}
	for j := range n {
		if k := fmt.Sprintf("key:%05d", j); seen[k] != 1 {
			t.Fatalf("%s seen %d times", k, seen[k])
		}
	}
}

// go-redis with Protocol 3 negotiates RESP3 (HELLO 3) and reads maps,
// doubles, sets and nulls.
func TestGoRedis_RESP3(t *testing.T) {
	s := startServer(t, Config{})
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: s.addr, Protocol: 3, DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	hello, err := c.Do(ctx, "HELLO", "3").Result()
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := hello.(map[interface{}]interface{}); !ok || m["proto"] != int64(3) || m["server"] != "redis" {
		t.Fatalf("HELLO 3 = %#v", hello)
	}
	if info, err := c.ClientInfo(ctx).Result(); err != nil || info.Resp != 3 {
		t.Fatalf("CLIENT INFO = %+v %v", info, err)
	}
	c.HSet(ctx, "h", "a", "1", "b", "2")
	if m, err := c.HGetAll(ctx, "h").Result(); err != nil || fmt.Sprint(m) != "map[a:1 b:2]" {
		t.Fatalf("HGETALL = %v %v", m, err)
	}
	raw, err := c.Do(ctx, "HGETALL", "h").Result()
	if _, ok := raw.(map[interface{}]interface{}); err != nil || !ok {
		t.Fatalf("HGETALL is not a RESP3 map: %#v %v", raw, err)
	}
	c.ZAdd(ctx, "z", redis.Z{Score: 1.5, Member: "m"}, redis.Z{Score: 3, Member: "n"})
	if f, err := c.ZScore(ctx, "z", "m").Result(); err != nil || f != 1.5 {
		t.Fatalf("ZSCORE = %v %v", f, err)
	}
	if raw, err := c.Do(ctx, "ZSCORE", "z", "m").Result(); err != nil || raw != 1.5 {
		t.Fatalf("ZSCORE is not a RESP3 double: %#v %v", raw, err)
	}
	if zs, err := c.ZRangeWithScores(ctx, "z", 0, -1).Result(); err != nil || fmt.Sprint(zs) != "[{1.5 m} {3 n}]" {
		t.Fatalf("ZRANGE WITHSCORES = %v %v", zs, err)
	}
	if f, err := c.IncrByFloat(ctx, "f", 0.25).Result(); err != nil || f != 0.25 {
		t.Fatalf("INCRBYFLOAT = %v %v", f, err)
	}
	if m, err := c.ConfigGet(ctx, "databases").Result(); err != nil || m["databases"] != "16" {
		t.Fatalf("CONFIG GET = %v %v", m, err)
	}
	if _, err := c.Get(ctx, "missing").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET missing: %v", err)
	}
	c.SAdd(ctx, "s", "x", "y")
	if m, err := c.SMembers(ctx, "s").Result(); err != nil || len(m) != 2 {
		t.Fatalf("SMEMBERS = %v %v", m, err)
	}
	if raw, err := c.Do(ctx, "SMEMBERS", "s").Result(); err != nil {
		t.Fatal(err)
	} else if _, ok := raw.([]interface{}); !ok {
		t.Fatalf("SMEMBERS = %#v", raw)
	}
	info, err := c.Info(ctx, "server").Result()
	if err != nil || !strings.Contains(info, "redis_version:") {
		t.Fatalf("INFO = %q %v", info, err)
	}
	if ok, err := c.Do(ctx, "RESET").Text(); err != nil || ok != "RESET" {
		t.Fatalf("RESET = %v %v", ok, err)
	}
}
