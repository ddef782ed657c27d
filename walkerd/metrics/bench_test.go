package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// BenchmarkScrape is one GET /metrics of a standalone server that has run
// 20 kinds of command and holds 10,000 keys. Back-to-back scrapes reuse
// the keyspace walk (O(keys)) for ten times its duration, as a busy
// Prometheus would; a scrape a second or slower walks every time.
func BenchmarkScrape(b *testing.B) {
	n := startStandalone(b)
	var cmds [][]string
	for i := range 10000 {
		cmds = append(cmds, []string{"SET", fmt.Sprint("key:", i), "v"})
	}
	for _, c := range []string{"GET", "STRLEN", "EXISTS", "TTL", "TYPE", "APPEND", "INCR", "DEL", "LPUSH", "RPUSH",
		"LLEN", "SADD", "SCARD", "HSET", "HGET", "ZADD", "ZCARD", "PFADD", "SETNX"} {
		args := []string{c, "k:" + c}
		switch c {
		case "APPEND", "LPUSH", "RPUSH", "SADD", "PFADD", "SETNX":
			args = append(args, "v")
		case "HSET":
			args = append(args, "f", "v")
		case "HGET":
			args = append(args, "f")
		case "ZADD":
			args = append(args, "1", "m")
		}
		cmds = append(cmds, args)
	}
	if _, err := harness.DoPipeline(n.addr, cmds); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		resp, err := http.Get(n.metrics)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
