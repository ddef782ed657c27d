//go:build !linux

package netloop

import "net"

// Handler is called on the loop's thread for a Conn's input (Linux only).
type Handler func(c *Conn) (again bool)

// ErrUnsupported is New's and Add's answer: the event loop is Linux's.
var ErrUnsupported = errorString("netloop: not a TCP connection on Linux")

type errorString string

func (e errorString) Error() string { return string(e) }

// Loop is unavailable here: New fails.
type Loop struct{}

// Conn is never made here.
type Conn struct {
	net.Conn
	Ctx any
}

// New fails: the event loop is Linux's.
func New(Handler, func()) (*Loop, error) { return nil, ErrUnsupported }

// Add fails.
func (l *Loop) Add(net.Conn, func(*Conn)) (*Conn, error) { return nil, ErrUnsupported }

// Close does nothing.
func (l *Loop) Close() error { return nil }

// Yield fails.
func (c *Conn) Yield() (bool, error) { return false, ErrUnsupported }

// HandOff does nothing.
func (c *Conn) HandOff(bool) {}

// ReadNow fails.
func (c *Conn) ReadNow([]byte) (int, error) { return 0, ErrUnsupported }

// Inputs reports 0.
func (c *Conn) Inputs() uint64 { return 0 }

// Kick does nothing.
func (c *Conn) Kick() {}

// WakeLoop does nothing.
func (c *Conn) WakeLoop() {}

// Unread does nothing.
func (c *Conn) Unread() {}

// LoopHeld reports false.
func (c *Conn) LoopHeld() bool { return false }

// HungUp reports false.
func (c *Conn) HungUp() bool { return false }
