// Command respfloor is the floor under walkerd's speed figures: the least
// a Go server can spend on a command, served the way walkerd serves it
// (a goroutine per connection) or the way Redis does (event loops over
// epoll). It stores nothing. A SET is answered +OK, a GET a fixed
// 100-byte value (redis-benchmark's -d 100), PING +PONG, CONFIG an empty
// array, anything else +OK; replies go out in one write once the commands
// read so far have run, as walkerd's and Redis's do.
//
// tools/bench/compare.sh runs both as the targets go-floor and
// epoll-floor beside redis-server and walkerd:
//   - walkerd's distance to go-floor is walkerd's own cost;
//   - go-floor's distance to redis-server is what Go's netpoller and
//     scheduler cost on the machine at hand, which no change inside
//     walkerd's handlers removes;
//   - epoll-floor's distance to go-floor is what serving connections from
//     event loops would win back.
//
// Usage:
//
//	respfloor -addr 127.0.0.1:7400                      # goroutine per connection
//	respfloor -addr 127.0.0.1:7400 -epoll -loops 1      # event loops (Linux)
package main

import (
	"bytes"
	"errors"
	"flag"
	"log"
	"net"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7400", "host:port to listen on (loopback)")
	epoll := flag.Bool("epoll", false, "serve from event loops over epoll, not a goroutine per connection")
	loops := flag.Int("loops", 1, "with -epoll: how many event loops, each on a thread of its own")
	flag.Parse()
	if *epoll {
		if _, err := serveEpoll(*addr, *loops); err != nil {
			log.Fatal(err)
		}
		select {}
	}
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

// conn answers c's commands until it goes or sends a frame that is not a
// RESP array of bulk strings.
func conn(c net.Conn) {
	defer c.Close()
	var s session
	for {
		n, err := c.Read(s.room())
		if err != nil {
			return
		}
		err = s.run(n)
		if len(s.out) > 0 {
			if _, err := c.Write(s.out); err != nil {
				return
			}
			s.out = s.out[:0]
		}
		if err != nil {
			return
		}
	}
}

// session is one connection's buffers, whichever way it is served: what
// was read and not yet parsed, in[start:end], and the replies not yet
// written, out.
type session struct {
	in         []byte
	start, end int
	out        []byte
}

// readSize is the least room room offers a read: 16 KiB, as walkerd's
// connections read.
const readSize = 16 << 10

// room is where the next read goes: the free end of in, which it first
// makes at least readSize long, moving the part of a command it holds to
// the front or growing in when that command is longer.
func (s *session) room() []byte {
	if s.start == s.end {
		s.start, s.end = 0, 0
	}
	if len(s.in)-s.end < readSize {
		if s.start > 0 {
			s.end = copy(s.in, s.in[s.start:s.end])
			s.start = 0
		}
		if len(s.in)-s.end < readSize {
			s.in = append(s.in[:s.end], make([]byte, readSize)...)
			s.in = s.in[:cap(s.in)]
		}
	}
	return s.in[s.end:]
}

// run takes n more bytes read into room and answers every whole command
// they complete, appending the replies to out. A bad frame appends Redis's
// protocol error and returns it: the connection closes after the write.
func (s *session) run(n int) error {
	s.end += n
	for {
		used, name, err := parse(s.in[s.start:s.end])
		if err != nil {
			s.out = append(s.out, "-ERR Protocol error: "+err.Error()+"\r\n"...)
			return err
		}
		if used == 0 {
			return nil
		}
		s.start += used
		s.out = answer(s.out, name)
	}
}

var (
	value = bytes.Repeat([]byte("x"), 100)
	bulk  = append(append([]byte("$100\r\n"), value...), '\r', '\n')
)

// answer appends the reply to the command named name.
func answer(out, name []byte) []byte {
	switch {
	case bytes.EqualFold(name, []byte("get")):
		return append(out, bulk...)
	case bytes.EqualFold(name, []byte("ping")):
		return append(out, "+PONG\r\n"...)
	case bytes.EqualFold(name, []byte("config")):
		return append(out, "*0\r\n"...)
	}
	return append(out, "+OK\r\n"...)
}

// parse reads one command from the front of b, "*N\r\n" and N
// "$len\r\n<bytes>\r\n", and returns how many bytes it took and its first
// argument (in b's memory, so a command allocates nothing). used is 0 when
// b does not yet hold the whole command.
func parse(b []byte) (used int, name []byte, err error) {
	n, p, err := header(b, 0, '*')
	if err != nil || p == 0 {
		return 0, nil, err
	}
	for i := 0; i < n; i++ {
		size, q, err := header(b, p, '$')
		if err != nil || q == 0 {
			return 0, nil, err
		}
		if len(b)-q < size+2 {
			return 0, nil, nil
		}
		if b[q+size] != '\r' || b[q+size+1] != '\n' {
			return 0, nil, errors.New("expected CRLF after a bulk string")
		}
		if i == 0 {
			name = b[q : q+size]
		}
		p = q + size + 2
	}
	return p, name, nil
}

// header reads the "<kind><number>\r\n" line at b[p:] and returns the
// number and where the line ends; next is 0 when the line is not all
// there yet.
func header(b []byte, p int, kind byte) (n, next int, err error) {
	if p == len(b) {
		return 0, 0, nil
	}
	if b[p] != kind {
		return 0, 0, errors.New("expected '" + string(kind) + "'")
	}
	i := bytes.IndexByte(b[p:], '\n')
	if i < 0 {
		if len(b)-p > 32 {
			return 0, 0, errors.New("invalid length")
		}
		return 0, 0, nil
	}
	line := b[p : p+i+1]
	if len(line) < 4 || line[len(line)-2] != '\r' {
		return 0, 0, errors.New("invalid length")
	}
	n, err = strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil || n < 0 {
		return 0, 0, errors.New("invalid length")
	}
	return n, p + i + 1, nil
}
