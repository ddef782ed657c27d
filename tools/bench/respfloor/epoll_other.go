//go:build !linux

package main

import (
	"errors"
	"sync/atomic"
)

var stalls atomic.Int64

// serveEpoll is Linux's only: epoll is.
func serveEpoll(addr string, loops int) (string, error) {
	return "", errors.New("respfloor: -epoll needs Linux")
}
