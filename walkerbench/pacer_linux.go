package main

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pacer waits for an open-loop client's next request to be due. Go's own
// timers wake an idle program up to a millisecond late (the runtime's
// epoll_wait takes whole milliseconds), which an open-loop run would
// charge to the server. A timerfd read through the runtime's poller wakes
// about 20-40 µs late, and, unlike a nanosleep, holds no P (the Go
// scheduler's processor) while it waits, so the goroutines reading
// replies are not held up.
type pacer struct {
	f   *os.File
	fd  int
	buf [8]byte
}

func newPacer() *pacer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &pacer{fd: -1}
	}
	return &pacer{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}
}

// waitUntil returns at about t (now() time), or at once if t is less
// than earlySend away.
func (p *pacer) waitUntil(t int64) {
	for {
		d := time.Duration(t - now())
		if d <= earlySend {
			return
		}
		if p.f == nil {
			time.Sleep(d)
			continue
		}
		spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
		if unix.TimerfdSettime(p.fd, 0, &spec, nil) != nil {
			time.Sleep(d)
			continue
		}
		p.f.Read(p.buf[:])
	}
}

func (p *pacer) close() {
	if p.f != nil {
		p.f.Close()
	}
}
