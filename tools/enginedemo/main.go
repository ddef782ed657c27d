// Command enginedemo writes, reads, merges and reopens a WalkerDB engine
// directory, printing what it does: a first look at the engine before
// walkerd serves it over the Redis protocol.
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/walkerdb/walkerdb/engine"
)

func main() {
	dir := flag.String("dir", "walker-data/demo", "data directory")
	n := flag.Int("keys", 100000, "keys to write")
	flag.Parse()

	opts := engine.DefaultOptions()
	opts.Sync = engine.SyncNo
	db, err := engine.Open(*dir, &opts)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	for i := range *n {
		if err := db.Put(fmt.Appendf(nil, "user:%08d", i), fmt.Appendf(nil, "value-%d", i)); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("put %d keys in %v\n", *n, time.Since(start).Round(time.Millisecond))
	for i := 0; i < *n; i += 2 {
		db.Delete(fmt.Appendf(nil, "user:%08d", i))
	}
	v, err := db.Get([]byte("user:00000001"))
	fmt.Printf("get user:00000001 = %q (%v)\n", v, err)
	page, next, _ := db.Scan(engine.ScanOptions{Prefix: []byte("user:"), Limit: 3})
	for _, kv := range page {
		fmt.Printf("scan %s = %s\n", kv.Key, kv.Value)
	}
	fmt.Printf("next cursor %q\n", next)
	st, _ := db.Stats()
	fmt.Printf("before merge: %d keys, %d segments, %d bytes, garbage %.0f%%\n", st.Keys, len(st.Segments), st.Bytes, 100*st.GarbageRatio)
	if err := db.Merge(); err != nil {
		log.Fatal(err)
	}
	st, _ = db.Stats()
	fmt.Printf("after merge:  %d keys, %d segments, %d bytes, garbage %.0f%%\n", st.Keys, len(st.Segments), st.Bytes, 100*st.GarbageRatio)
	db.Close()
	start = time.Now()
	if db, err = engine.Open(*dir, &opts); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("reopened %d keys from hint files in %v\n", db.Len(), time.Since(start).Round(time.Millisecond))
	db.Close()
	fmt.Printf("data left in %s\n", *dir)
}
