// Command gen-keyspecs writes walkerd/command/keyaccess_table.go: the Redis
// 7 key specifications of every command (subcommands included) as a real
// redis-server reports them in COMMAND's reply, for command.KeyAccess.
//
// Usage (from walkerd/command, as its go:generate line runs it):
//
//	go run ./internal/gen-keyspecs [-addr host:port] [-o keyaccess_table.go]
//
// Without -addr it starts redis-server (from PATH) on a free loopback port,
// with no persistence, and stops it when done. The Redis version it read is
// written in the file's header; WalkerDB follows Redis 7.0.15.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"log"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "", "address of a running redis-server (default: start one)")
	out := flag.String("o", "keyaccess_table.go", "output file")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gen-keyspecs: ")

	if *addr == "" {
		a, stop, err := startRedis()
		if err != nil {
			log.Fatal(err)
		}
		defer stop()
		*addr = a
	}
	src, err := generate(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

// startRedis starts redis-server on a free loopback port and waits until
// it answers PING.
func startRedis() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr = ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "gen-keyspecs")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
		err = c.Ping(context.Background()).Err()
		c.Close()
		if err == nil {
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server on %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keySpec is one key spec as COMMAND reports it.
type keySpec struct {
	flags          []string
	notes          string
	bsType, fkType string
	bs, fk         map[string]any
}

func generate(addr string) ([]byte, error) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()
	version, err := serverVersion(ctx, c)
	if err != nil {
		return nil, err
	}
	reply, err := c.Do(ctx, "COMMAND").Slice()
	if err != nil {
		return nil, err
	}
	table := map[string][]keySpec{}
	var walk func(entries []any) error
	walk = func(entries []any) error {
		for _, e := range entries {
			info, ok := e.([]any)
			if !ok || len(info) < 10 {
				return fmt.Errorf("COMMAND entry %v: not a 10-element array", e)
			}
			name, _ := info[0].(string)
			specs, err := parseKeySpecs(info[8])
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			table[strings.ToLower(name)] = specs
			if subs, _ := info[9].([]any); len(subs) > 0 {
				if err := walk(subs); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(reply); err != nil {
		return nil, err
	}
	return render(version, table)
}

func serverVersion(ctx context.Context, c *redis.Client) (string, error) {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "redis_version:"); ok {
			return v, nil
		}
	}
	return "", errors.New("INFO server has no redis_version")
}

// flatMap reads a RESP2 map (a flat key, value array).
func flatMap(v any) (map[string]any, error) {
	a, ok := v.([]any)
	if !ok || len(a)%2 != 0 {
		return nil, fmt.Errorf("not a map: %v", v)
	}
	m := map[string]any{}
	for i := 0; i < len(a); i += 2 {
		k, ok := a[i].(string)
		if !ok {
			return nil, fmt.Errorf("map key %v is not a string", a[i])
		}
		m[k] = a[i+1]
	}
	return m, nil
}

func parseKeySpecs(v any) ([]keySpec, error) {
	list, _ := v.([]any)
	var out []keySpec
	for _, e := range list {
		m, err := flatMap(e)
		if err != nil {
			return nil, err
		}
		var ks keySpec
		ks.notes, _ = m["notes"].(string)
		fl, _ := m["flags"].([]any)
		for _, f := range fl {
			s, _ := f.(string)
			ks.flags = append(ks.flags, s)
		}
		if ks.bsType, ks.bs, err = typedSpec(m["begin_search"]); err != nil {
			return nil, fmt.Errorf("begin_search: %w", err)
		}
		if ks.fkType, ks.fk, err = typedSpec(m["find_keys"]); err != nil {
			return nil, fmt.Errorf("find_keys: %w", err)
		}
		out = append(out, ks)
	}
	return out, nil
}

// typedSpec reads {type: T, spec: {...}}.
func typedSpec(v any) (string, map[string]any, error) {
	m, err := flatMap(v)
	if err != nil {
		return "", nil, err
	}
	t, _ := m["type"].(string)
	spec, err := flatMap(m["spec"])
	if err != nil {
		return "", nil, err
	}
	return t, spec, nil
}

func num(m map[string]any, k string) int64 {
	n, _ := m[k].(int64)
	return n
}

// literal writes a key spec as a command.KeySpec literal: an "unknown"
// begin_search leaves Index 0 and Keyword "", an "unknown" find_keys leaves
// KeyStep 0 without KeyNum (keyaccess.go reads both as Redis's unknown).
func literal(ks keySpec) (string, error) {
	var f []string
	f = append(f, fmt.Sprintf("Flags: %#v", ks.flags))
	switch ks.bsType {
	case "index":
		f = append(f, fmt.Sprintf("Index: %d", num(ks.bs, "index")))
	case "keyword":
		kw, _ := ks.bs["keyword"].(string)
		f = append(f, fmt.Sprintf("Keyword: %q, StartFrom: %d", kw, num(ks.bs, "startfrom")))
	case "unknown":
	default:
		return "", fmt.Errorf("begin_search type %q", ks.bsType)
	}
	switch ks.fkType {
	case "range":
		f = append(f, fmt.Sprintf("LastKey: %d, KeyStep: %d, Limit: %d", num(ks.fk, "lastkey"), num(ks.fk, "keystep"), num(ks.fk, "limit")))
	case "keynum":
		f = append(f, fmt.Sprintf("KeyNum: true, KeyNumIdx: %d, FirstKey: %d, KeyStep: %d",
			num(ks.fk, "keynumidx"), num(ks.fk, "firstkey"), num(ks.fk, "keystep")))
	case "unknown":
	default:
		return "", fmt.Errorf("find_keys type %q", ks.fkType)
	}
	if ks.notes != "" {
		f = append(f, fmt.Sprintf("Notes: %q", ks.notes))
	}
	return "{" + strings.Join(f, ", ") + "}", nil
}

func render(version string, table map[string][]keySpec) ([]byte, error) {
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/gen-keyspecs from redis-server %s's COMMAND reply; DO NOT EDIT.\n", version)
	b.WriteString("// Regenerate with `go generate` in walkerd/command (redis-server on PATH).\n\n")
	b.WriteString("package command\n\n")
	fmt.Fprintf(&b, "// redisKeySpecsVersion is the redis-server version redisKeySpecs was read from.\n")
	fmt.Fprintf(&b, "const redisKeySpecsVersion = %q\n\n", version)
	b.WriteString("// redisKeySpecs are the key specs of every Redis command and subcommand\n")
	b.WriteString("// (\"client|kill\"), in Redis's order; nil for a command without keys.\n")
	b.WriteString("var redisKeySpecs = map[string][]KeySpec{\n")
	for _, n := range names {
		specs := table[n]
		if len(specs) == 0 {
			fmt.Fprintf(&b, "\t%s: nil,\n", strconv.Quote(n))
			continue
		}
		fmt.Fprintf(&b, "\t%s: {\n", strconv.Quote(n))
		for _, ks := range specs {
			lit, err := literal(ks)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			fmt.Fprintf(&b, "\t\t%s,\n", lit)
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
