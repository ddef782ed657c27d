package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadRaw_ReturnsEachReplyWhole(t *testing.T) {
	big := strings.Repeat("x", 100_000) // far past any 1 KB buffer
	replies := []string{
		"+OK\r\n",
		"-ERR wrong number of arguments for 'get' command\r\n",
		":-42\r\n",
		"$-1\r\n",
		"$0\r\n\r\n",
		"$6\r\nab\r\ncd\r\n",
		"$100000\r\n" + big + "\r\n",
		"*-1\r\n",
		"*0\r\n",
		"*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n+x\r\n",
	}
	r := bufio.NewReaderSize(strings.NewReader(strings.Join(replies, "")), 16)
	for _, want := range replies {
		got, err := ReadRaw(r)
		if err != nil {
			t.Fatalf("reading %.20q: %v", want, err)
		}
		if string(got) != want {
			t.Fatalf("got %.40q, want %.40q", got, want)
		}
	}
	if _, err := ReadRaw(r); err != io.EOF {
		t.Fatalf("after the last reply: %v, want EOF", err)
	}
}

func TestReadRaw_RefusesMalformedReplies(t *testing.T) {
	for _, in := range []string{
		"?x\r\n", "$abc\r\n", "$5\r\nabcdefg\r\n", "*-2\r\n", "$-2\r\n", "+OK\n",
		"$999999999999\r\n", strings.Repeat("*1\r\n", 100) + ":1\r\n",
	} {
		_, err := ReadRaw(bufio.NewReader(strings.NewReader(in)))
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%.30q: %v, want ErrProtocol", in, err)
		}
	}
}

func TestAppendCommand_EncodesBinaryArguments(t *testing.T) {
	got := AppendCommand(nil, [][]byte{[]byte("SET"), []byte("k\r\n"), {}})
	want := "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n"
	if string(got) != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if !IsError([]byte("-ERR x\r\n")) || IsError([]byte("+OK\r\n")) {
		t.Fatal("IsError")
	}
	_ = bytes.MinRead
}

func FuzzReadRaw(f *testing.F) {
	f.Add([]byte("*2\r\n$1\r\na\r\n:1\r\n"))
	f.Add([]byte("$3\r\nabc\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		raw, err := ReadRaw(bufio.NewReader(bytes.NewReader(in)))
		if err == nil && !bytes.HasPrefix(in, raw) {
			t.Fatalf("raw reply %q is not a prefix of the input", raw)
		}
	})
}
