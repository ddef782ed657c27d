package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Backups are checkpoint streams (see Checkpoint.WriteTo) kept as files or
// sent over a connection: walkerd's SAVE, BGSAVE and WALKER.BACKUP write
// them, Restore turns one back into a data directory, and CheckStream
// checks one without writing anything.

// StreamSize returns the length in bytes of the stream WriteTo writes: the
// header, each file's name, size, bytes and CRC, and the end mark. The
// checkpoint's files are immutable links, so the length does not change
// until Close; a server can announce it before the first byte (a RESP bulk
// reply's length).
func (c *Checkpoint) StreamSize() (int64, error) {
	n := int64(streamHeaderLen)
	for _, name := range c.files {
		st, err := os.Stat(filepath.Join(c.dir, name))
		if err != nil {
			return 0, fmt.Errorf("engine: checkpoint: %w", err)
		}
		n += 2 + int64(len(name)) + 8 + st.Size() + 4
	}
	return n + 2, nil
}

// StreamFile is one file of a checkpoint stream.
type StreamFile struct {
	Name string // a segment ("000000001.data") or a hint file
	Size int64  // bytes
}

// StreamInfo describes a checkpoint stream that CheckStream read whole.
type StreamInfo struct {
	Seq    uint64 // the DB's sequence number (walkerd: the Raft index) when it was taken
	Format Format // the data's format and key-layout versions
	Files  []StreamFile
	Bytes  int64 // the stream's length
}

// CheckStream reads a checkpoint stream from r to its end and checks it as
// Restore does, writing nothing: the header (refused as Restore refuses
// it, wrapping ErrFormat for a stream this build cannot restore or of
// another key layout than layout when both are non-zero), every file's
// name, size and CRC32-C, the end mark, and that nothing follows it.
// Damage wraps ErrCorruption; a stream cut short wraps
// io.ErrUnexpectedEOF. onFile, when not nil, is called as each file's
// bytes have been checked. CheckStream reads r with its own buffer: wrap r
// to count or copy what it reads (walkerctl backup writes the file it
// receives through an io.TeeReader while this checks it).
func CheckStream(r io.Reader, layout uint32, onFile func(StreamFile)) (StreamInfo, error) {
	cr := &countReader{r: r}
	br := bufio.NewReaderSize(cr, 1<<20)
	var info StreamInfo
	seq, f, err := readStreamHeader(br, layout)
	if err != nil {
		return info, eofIsUnexpected(err)
	}
	info.Seq, info.Format = seq, f
	for {
		var b [8]byte
		if _, err := io.ReadFull(br, b[:2]); err != nil {
			return info, fmt.Errorf("engine: checkpoint stream: %w", eofIsUnexpected(err))
		}
		n := binary.LittleEndian.Uint16(b[:])
		if n == 0 {
			break
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(br, name); err != nil {
			return info, fmt.Errorf("engine: checkpoint stream: %w", eofIsUnexpected(err))
		}
		if !validStreamName(string(name)) {
			return info, fmt.Errorf("engine: checkpoint stream: file name %q: %w", name, ErrCorruption)
		}
		if _, err := io.ReadFull(br, b[:8]); err != nil {
			return info, fmt.Errorf("engine: checkpoint stream %s: %w", name, eofIsUnexpected(err))
		}
		size := int64(binary.LittleEndian.Uint64(b[:]))
		if size < 0 || size > MaxSegmentSize {
			return info, fmt.Errorf("engine: checkpoint stream %s: size %d: %w", name, size, ErrCorruption)
		}
		crc := &crcWriter{}
		if _, err := io.CopyN(crc, br, size); err != nil {
			return info, fmt.Errorf("engine: checkpoint stream %s: %w", name, eofIsUnexpected(err))
		}
		if _, err := io.ReadFull(br, b[:4]); err != nil {
			return info, fmt.Errorf("engine: checkpoint stream %s: %w", name, eofIsUnexpected(err))
		}
		if binary.LittleEndian.Uint32(b[:]) != crc.sum {
			return info, fmt.Errorf("engine: checkpoint stream %s: checksum mismatch: %w", name, ErrCorruption)
		}
		sf := StreamFile{Name: string(name), Size: size}
		info.Files = append(info.Files, sf)
		if onFile != nil {
			onFile(sf)
		}
	}
	info.Bytes = cr.n - int64(br.Buffered())
	if _, err := br.ReadByte(); err == nil {
		return info, fmt.Errorf("engine: checkpoint stream: bytes after its end at offset %d: %w", info.Bytes, ErrCorruption)
	} else if err != io.EOF {
		return info, err
	}
	return info, nil
}

func eofIsUnexpected(err error) error {
	if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w (the stream is cut short)", io.ErrUnexpectedEOF)
	}
	return err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
