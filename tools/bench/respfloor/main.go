// Command respfloor is the floor under walkerd's speed figures: the least
// a Go server that serves each connection from a goroutine of its own, as
// walkerd does, can spend on a command. It stores nothing. A SET is
// answered +OK, a GET a fixed 100-byte value (redis-benchmark's -d 100),
// PING +PONG, CONFIG an empty array, anything else +OK; replies go out in
// one write when the client has sent nothing more, as walkerd's and
// Redis's do.
//
// tools/bench/compare.sh runs it as the target go-floor beside
// redis-server and walkerd: walkerd's distance to it is walkerd's own
// cost, and its distance to redis-server is what the runtime's netpoller
// and scheduler cost on the machine at hand, which no change inside
// walkerd's handlers removes.
//
//	respfloor -addr 127.0.0.1:7400
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7400", "host:port to listen on (loopback)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(serve(ln))
}

// serve accepts connections on ln until it fails, each served by a
// goroutine of its own.
func serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go conn(c)
	}
}

var (
	value = bytes.Repeat([]byte("x"), 100)
	bulk  = append(append([]byte("$100\r\n"), value...), '\r', '\n')
)

// conn answers c's commands until it goes or sends a frame that is not a
// RESP array of bulk strings.
func conn(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 16<<10)
	var out, name []byte
	for {
		var err error
		if name, err = command(r, name); err != nil {
			if !errors.Is(err, io.EOF) {
				c.Write([]byte("-ERR Protocol error: " + err.Error() + "\r\n"))
			}
			return
		}
		switch {
		case bytes.EqualFold(name, []byte("get")):
			out = append(out, bulk...)
		case bytes.EqualFold(name, []byte("ping")):
			out = append(out, "+PONG\r\n"...)
		case bytes.EqualFold(name, []byte("config")):
			out = append(out, "*0\r\n"...)
		default:
			out = append(out, "+OK\r\n"...)
		}
		if r.Buffered() == 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
	}
}

// command reads one command, "*N\r\n" and N "$len\r\n<bytes>\r\n", and
// returns its first argument in name's memory (grown if it is too small),
// so that a command allocates nothing.
func command(r *bufio.Reader, name []byte) ([]byte, error) {
	n, err := header(r, '*')
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		size, err := header(r, '$')
		if err != nil {
			return nil, err
		}
		if i == 0 {
			name = slices.Grow(name[:0], size)[:size]
			if _, err := io.ReadFull(r, name); err != nil {
				return nil, err
			}
		} else if _, err := r.Discard(size); err != nil {
			return nil, err
		}
		if _, err := r.Discard(2); err != nil {
			return nil, err
		}
	}
	return name, nil
}

// header reads a "<kind><number>\r\n" line and returns the number.
func header(r *bufio.Reader, kind byte) (int, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 4 || line[0] != kind || line[len(line)-2] != '\r' {
		return 0, errors.New("expected '" + string(kind) + "'")
	}
	n, err := strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil || n < 0 {
		return 0, errors.New("invalid length")
	}
	return n, nil
}
