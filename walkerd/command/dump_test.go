package command

import (
	"encoding/binary"
	"encoding/hex"
	"hash/crc64"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// dumpOf runs DUMP as a read and returns the payload ("" and false for a
// null reply).
func dumpOf(t *testing.T, a *applier, dbi int, key string) (string, bool) {
	t.Helper()
	r := read(a.db, dbi, a.now, cmd("DUMP", key))
	if r == "$-1\r\n" {
		return "", false
	}
	v, _, err := resp.Parse([]byte(r))
	if err != nil || v.Kind != '$' {
		t.Fatalf("DUMP %s = %q (%v)", key, r, err)
	}
	return string(v.Str), true
}

func TestDumpRestore_RoundTripEveryType(t *testing.T) {
	a := newApplier(t)
	seedAll(t, a, 0, "k")
	seed(t, a, 0, "kbin", keyspace.Hash, "\x00\xff", "", "", "\r\n")
	seed(t, a, 0, "kzs", keyspace.ZSet, "inf", "inf", "-inf", "-inf", "zero", "-0", "tiny", "5e-324")
	a.do("SET", "kempty", "")
	a.do("SET", "kbig", strings.Repeat("x", 100000))
	want := map[string]string{
		"kbin":   contents(t, a, 0, "kbin"),
		"kzs":    contents(t, a, 0, "kzs"),
		"kempty": "string:",
		"kbig":   "string:" + strings.Repeat("x", 100000),
	}
	for s, w := range allWant {
		want["k"+s] = w
	}
	for k, w := range want {
		p, ok := dumpOf(t, a, 0, k)
		if !ok {
			t.Fatalf("DUMP %s: nil", k)
		}
		expect(t, "RESTORE "+k, a.do("RESTORE", "r"+k, "0", p), "+OK\r\n")
		expect(t, "restored "+k, contents(t, a, 0, "r"+k), w)
		expect(t, "TTL "+k, a.read("TTL", "r"+k), ":-1\r\n")
		// Into another database, with a TTL.
		expect(t, "RESTORE db 2 "+k, a.doDB(2, "RESTORE", k, "5000", p), "+OK\r\n")
		expect(t, "restored in 2 "+k, contents(t, a, 2, k), w)
		expect(t, "PTTL "+k, read(a.db, 2, a.now, cmd("PTTL", k)), ":5000\r\n")
		// The payload is the same after a round trip.
		p2, _ := dumpOf(t, a, 0, "r"+k)
		if p2 != p {
			t.Errorf("%s: payload changed after a round trip", k)
		}
	}
	if _, ok := dumpOf(t, a, 0, "nothing"); ok {
		t.Error("DUMP of a missing key is not nil")
	}
}

func TestRestore_OptionsAndErrors(t *testing.T) {
	a := newApplier(t)
	a.do("SET", "src", "value")
	seed(t, a, 0, "list", keyspace.List, "a", "b")
	p, _ := dumpOf(t, a, 0, "src")
	lp, _ := dumpOf(t, a, 0, "list")
	redisPayload, _ := hex.DecodeString("000568656c6c6f0a006372df766534200a") // Redis 7.0's DUMP of "hello"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"RESTORE", "src", "0", p}, "-BUSYKEY Target key name already exists.\r\n"},
		{[]string{"RESTORE", "src", "abc", "junk"}, "-BUSYKEY Target key name already exists.\r\n"},
		{[]string{"RESTORE", "new", "abc", p}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"RESTORE", "new", "-1", p}, "-ERR Invalid TTL value, must be >= 0\r\n"},
		{[]string{"RESTORE", "new", "0", ""}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "new", "0", string(redisPayload)}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "new", "0", p[:len(p)-1] + "x"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "new", "0", "x" + p[1:]}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "new", "0", p, "IDLETIME", "-1"}, "-ERR Invalid IDLETIME value, must be >= 0\r\n"},
		{[]string{"RESTORE", "new", "0", p, "IDLETIME", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"RESTORE", "new", "0", p, "IDLETIME", "1", "FREQ", "1"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "new", "0", p, "FREQ", "1", "IDLETIME", "1"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "new", "0", p, "FREQ", "256"}, "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"},
		{[]string{"RESTORE", "new", "0", p, "FREQ", "-1"}, "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"},
		{[]string{"RESTORE", "new", "0", p, "IDLETIME"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "src", "0", p, "FOO"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "new", "0"}, "-ERR wrong number of arguments for 'restore' command\r\n"},
		{[]string{"DUMP"}, "-ERR wrong number of arguments for 'dump' command\r\n"},
	} {
		expect(t, strings.Join(c.args[:min(len(c.args), 3)], " "), a.do(c.args...), c.want)
	}
	expect(t, "nothing created", contents(t, a, 0, "new"), "none")
	// REPLACE replaces a key of any type; IDLETIME and FREQ are accepted.
	expect(t, "REPLACE", a.do("RESTORE", "list", "0", p, "REPLACE", "IDLETIME", "100"), "+OK\r\n")
	expect(t, "replaced", contents(t, a, 0, "list"), "string:value")
	expect(t, "REPLACE by a list", a.do("RESTORE", "src", "0", lp, "replace", "freq", "5"), "+OK\r\n")
	expect(t, "replaced by a list", contents(t, a, 0, "src"), "list:a,b")
	// ABSTTL: an absolute Unix time in ms.
	at := a.now + 12345
	expect(t, "ABSTTL", a.do("RESTORE", "abs", itoa(at), p, "ABSTTL"), "+OK\r\n")
	expect(t, "PEXPIRETIME", a.read("PEXPIRETIME", "abs"), ":"+itoa(at)+"\r\n")
	// A TTL already past creates nothing, and REPLACE deletes the key.
	expect(t, "past ABSTTL", a.do("RESTORE", "past", itoa(a.now-1), p, "ABSTTL"), "+OK\r\n")
	expect(t, "not created", contents(t, a, 0, "past"), "none")
	expect(t, "past REPLACE", a.do("RESTORE", "src", itoa(a.now), p, "ABSTTL", "REPLACE"), "+OK\r\n")
	expect(t, "deleted", contents(t, a, 0, "src"), "none")
	// A payload whose checksum holds but whose body does not decode.
	for name, body := range map[string][]byte{
		"unknown type":  {9, 0},
		"truncated":     {byte(keyspace.String), 5, 'a'},
		"trailing":      {byte(keyspace.String), 1, 'a', 'b'},
		"empty set":     {byte(keyspace.Set), 0},
		"duplicate":     {byte(keyspace.Set), 2, 1, 'a', 1, 'a'},
		"huge count":    {byte(keyspace.List), 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 'a'},
		"nan score":     append([]byte{byte(keyspace.ZSet), 1, 1, 'a'}, binary.BigEndian.AppendUint64(nil, math.Float64bits(math.NaN()))...),
		"short score":   {byte(keyspace.ZSet), 1, 1, 'a', 0, 0},
		"no hash value": {byte(keyspace.Hash), 1, 1, 'f'},
		"no body":       {},
	} {
		b := append([]byte(dumpMagic+"\x01"), body...)
		b = binary.BigEndian.AppendUint64(b, crc64.Checksum(b, crc64.MakeTable(crc64.ECMA)))
		if len(body) == 0 {
			b = b[:0]
			b = append(b, dumpMagic+"\x01"...)
			b = binary.BigEndian.AppendUint64(b, crc64.Checksum(b, crc64.MakeTable(crc64.ECMA)))
		}
		want := "-ERR Bad data format\r\n"
		if len(body) == 0 {
			want = "-ERR DUMP payload version or checksum are wrong\r\n"
		}
		expect(t, name, a.do("RESTORE", "bad", "0", string(b)), want)
	}
	// A payload of another format version is refused.
	v2 := []byte(p)
	v2[3] = 2
	v2 = binary.BigEndian.AppendUint64(v2[:len(v2)-8], crc64.Checksum(v2[:len(v2)-8], crc64.MakeTable(crc64.ECMA)))
	expect(t, "version 2", a.do("RESTORE", "v2", "0", string(v2)), "-ERR DUMP payload version or checksum are wrong\r\n")
}

func TestDumpPayload_Format(t *testing.T) {
	// The documented layout, byte for byte, for a small hash.
	v := &dumpValue{typ: keyspace.Hash, els: [][]byte{[]byte("f")}, vals: [][]byte{[]byte("vv")}}
	p := encodeDump(v)
	body := "WDB\x01\x04\x01\x01f\x02vv"
	if string(p[:len(p)-8]) != body {
		t.Fatalf("payload %q, want %q + CRC", p, body)
	}
	if got := binary.BigEndian.Uint64(p[len(p)-8:]); got != crc64.Checksum([]byte(body), crc64.MakeTable(crc64.ECMA)) {
		t.Fatalf("CRC %x", got)
	}
	d, ok := decodeDump(p)
	if !verifyDump(p) || !ok || string(d.els[0]) != "f" || string(d.vals[0]) != "vv" {
		t.Fatalf("decode %+v %v", d, ok)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
