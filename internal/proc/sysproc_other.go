//go:build !linux

package proc

import "syscall"

// sysProcAttr: only Linux can kill a child when its parent dies.
func sysProcAttr() *syscall.SysProcAttr { return nil }
