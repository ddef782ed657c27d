package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// respSeeds are inputs that reach every part of the argument handling:
// the protocol guard, redcon's parser, inline commands, arity and
// subcommand checks, MULTI/EXEC, and the data commands' own parsing.
var respSeeds = []string{
	"*1\r\n$4\r\nPING\r\n",
	"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
	"PING\r\nECHO hi\r\nSET a \"b c\"\r\n",
	"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n$20\r\n99999999999999999999\r\n",
	"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*3\r\n$6\r\nAPPEND\r\n$1\r\nn\r\n$1\r\nx\r\n*1\r\n$4\r\nEXEC\r\n",
	"*4\r\n$8\r\nSETRANGE\r\n$1\r\nk\r\n$10\r\n4294967296\r\n$1\r\nx\r\n",
	"*3\r\n$8\r\nLEVELGET\r\n$1\r\nk\r\n$1\r\n7\r\n",
	"*4\r\n$4\r\nSCAN\r\n$1\r\n0\r\n$5\r\nCOUNT\r\n$2\r\n-1\r\n",
	"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\na b\r\n",
	"*2\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n",
	"*2\r\n$14\r\nWALKER.FORWARD\r\n$1\r\n0\r\n",
	"*2\r\n$12\r\nWALKER.APPLY\r\n$3\r\n\x01\x00\x00\r\n",
	"*-1\r\n*0\r\n",
	"*2\r\n$-1\r\n",
	"*9223372036854775807\r\n",
	"*1\r\n$9223372036854775807\r\n",
	"*1\r\n$536870913\r\n",
	"*2\r\n+3\r\nGET\r\n",
	"*1\r\n$4\r\nPING",
	"\r\n\r\n\r\n",
	"*3\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\nb\r\n*3\r\n$5\r\nWATCH\r\n$1\r\na\r\n$1\r\nb\r\n",
}

// FuzzRESPArgs sends arbitrary bytes to a live (standalone) server on one
// connection, ends it, and checks that the server answered with whole
// RESP replies, never with a recovered panic, and still serves others.
func FuzzRESPArgs(f *testing.F) {
	for _, s := range respSeeds {
		f.Add([]byte(s))
	}
	// Keep values small: SETRANGE and APPEND would otherwise write up to
	// 512 MiB per input.
	old := command.MaxValueLen
	command.MaxValueLen = 1 << 16
	f.Cleanup(func() { command.MaxValueLen = old })
	ts := startServer(f, Config{SweepInterval: -1})
	f.Fuzz(func(t *testing.T, data []byte) {
		defer resetServer(ts.Server)
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(data); err != nil {
			return // the server cut the connection early: a refused frame
		}
		c.(*net.TCPConn).CloseWrite()
		out, err := io.ReadAll(c)
		if err != nil && !isReset(err) {
			t.Fatalf("reading the replies: %v (got %q)", err, out)
		}
		if bytes.Contains(out, []byte("internal error")) {
			t.Fatalf("a command panicked: %q", out)
		}
		for rest := out; len(rest) > 0; {
			_, n, err := resp.Parse(rest)
			if err != nil {
				t.Fatalf("the server's output is not whole RESP replies: %v at %q (all: %q)", err, rest, out)
			}
			rest = rest[n:]
		}
		p := dial(t, ts.addr)
		if got := p.must(t, "PING"); got != "+PONG" {
			t.Fatalf("after %q the server answers PING with %s", data, got)
		}
	})
}

// resetServer undoes what CONFIG SET may have changed.
func resetServer(s *Server) {
	pass := ""
	s.pass.Store(&pass)
	s.readLevel.Store(0)
	s.maxConns.Store(int64(s.cfg.MaxClients))
}

// isReset: the server closed the connection on us (a refused frame). A
// deadline that passed is not one: the server never closed it.
func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// FuzzGuard_PassesWellFormedCommandsWhole: any pipeline of commands within
// Redis's limits, cut anywhere into two reads, passes the protocol guard
// untouched and whole, with its arguments; and arbitrary bytes never make
// the guard panic.
func FuzzGuard_PassesWellFormedCommandsWhole(f *testing.F) {
	f.Add([]byte("SET\x00k\x00v"), uint16(3), []byte("*1\r\n$4\r\nPING\r\n"))
	f.Add([]byte("GET\x00"), uint16(0), []byte("*99999999999999999999\r\n"))
	f.Add([]byte(""), uint16(7), []byte("PING\r\n*1\r\n$-5\r\n"))
	f.Fuzz(func(t *testing.T, joined []byte, cut uint16, raw []byte) {
		args := bytes.Split(joined, []byte{0})
		if len(args) > 64 {
			args = args[:64]
		}
		stream := append(encodeCommand(args), encodeCommand(args)...)
		g := &guardConn{rejected: new(atomic.Int64)}
		k := int(cut) % (len(stream) + 1)
		for _, part := range [][]byte{stream[:k], stream[k:]} {
			g.scan(part)
			if g.failed != "" {
				t.Fatalf("the guard refused a well-formed pipeline %q (%s)", stream, g.failed)
			}
		}
		if g.state != gsStart {
			t.Fatalf("after whole commands the guard is in state %d", g.state)
		}
		var cmds []redcon.Command
		for len(g.out) > 0 {
			batch, err := g.next()
			if err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, batch...)
		}
		if len(cmds) != 2 {
			t.Fatalf("the guard queued %d commands for two in %q", len(cmds), stream)
		}
		var got []byte
		for _, c := range cmds {
			got = append(got, c.Raw...)
			if len(c.Args) != len(args) {
				t.Fatalf("the guard parsed %q of %q", c.Args, stream)
			}
			for i := range args {
				if !bytes.Equal(c.Args[i], args[i]) {
					t.Fatalf("the guard parsed %q of %q", c.Args, stream)
				}
			}
		}
		if !bytes.Equal(got, stream) {
			t.Fatalf("the guard passed %q for %q", got, stream)
		}

		g = &guardConn{rejected: new(atomic.Int64)}
		k = int(cut) % (len(raw) + 1)
		for _, part := range [][]byte{raw[:k], raw[k:]} {
			g.scan(part) // must not panic
		}
	})
}
