package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Exit codes. Scripts may rely on them; exitCodesHelp documents them in
// every command's --help.
const (
	exitOK          = 0 // done; for status: the cluster is healthy
	exitError       = 1 // a node refused the command, or another failure
	exitUsage       = 2 // bad flags or arguments
	exitUnreachable = 3 // a node could not be reached or did not answer in time
	exitAuth        = 4 // the password is missing or wrong (NOAUTH, WRONGPASS)
	exitNoLeader    = 5 // the cluster has no leader (or it moved away and none is known)
	exitUnhealthy   = 6 // the cluster is unhealthy: status's verdict, or a member members / info --all could not ask
)

const exitCodesHelp = `EXIT CODES:
   0  success (status: the cluster is healthy)
   1  a node refused the command, or another failure
   2  bad flags or arguments
   3  the node at --addr could not be reached, or did not answer within --timeout
   4  authentication failed: no password given (NOAUTH) or a wrong one (WRONGPASS)
   5  the cluster has no leader, or the leader is unknown (the one named
      does not answer: it may have just failed)
   6  the cluster is unhealthy. members, status and info --all: a member
      could not be asked (it is down, or its RESP address is not recorded
      yet); status also: no leader, members disagreeing on the leader, a
      member lagging behind`

// unreachableError: a node could not be dialled, or the connection failed
// before the reply came.
type unreachableError struct {
	addr     string
	err      error
	timeout  time.Duration
	replying bool // the connection was made; the reply did not come
}

func (e *unreachableError) Error() string {
	var cause string
	var ne net.Error
	var se *os.SyscallError
	switch {
	case errors.As(e.err, &ne) && ne.Timeout(), errors.Is(e.err, context.DeadlineExceeded):
		if e.replying {
			return fmt.Sprintf("%s did not answer within %v", e.addr, e.timeout)
		}
		cause = fmt.Sprintf("no answer within %v", e.timeout)
	case errors.Is(e.err, io.EOF), errors.Is(e.err, syscall.ECONNRESET):
		return fmt.Sprintf("%s closed the connection before it answered", e.addr)
	case errors.As(e.err, &se):
		cause = se.Err.Error()
	default:
		cause = innermost(e.err).Error()
	}
	return fmt.Sprintf("cannot reach %s: %s", e.addr, cause)
}

func (e *unreachableError) Unwrap() error { return e.err }

func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// replyError is an error reply from a node.
type replyError struct {
	addr string
	msg  string // as the node sent it, after '-'
}

func (e *replyError) Error() string {
	msg := strings.TrimPrefix(e.msg, "ERR ")
	return e.addr + ": " + msg
}

// authError is NOAUTH or WRONGPASS, made into a hint.
type authError struct {
	addr string
	msg  string
}

func (e *authError) Error() string {
	if strings.HasPrefix(e.msg, "WRONGPASS") {
		return e.addr + " rejected the password (WRONGPASS): check --password or WALKERCTL_PASSWORD"
	}
	return e.addr + " requires a password (NOAUTH): pass --password or set WALKERCTL_PASSWORD"
}

// noLeaderError: no leader is known, so a command that needs one cannot
// run.
type noLeaderError struct {
	detail  string
	unknown bool // a leader is named, but it does not answer as one
}

func (e *noLeaderError) Error() string {
	if e.unknown {
		return "leader unknown: " + e.detail
	}
	if e.detail == "" {
		return "no leader: the cluster has no leader right now (an election may be running, or a quorum of voters is down)"
	}
	return "no leader: " + e.detail
}

// unhealthyError is status's verdict, or a member that members or info
// --all could not ask.
type unhealthyError struct {
	problems int
	detail   string // if set, the message after "cluster unhealthy: "
}

func (e *unhealthyError) Error() string {
	if e.detail != "" {
		return "cluster unhealthy: " + e.detail
	}
	if e.problems == 1 {
		return "cluster unhealthy: 1 problem"
	}
	return fmt.Sprintf("cluster unhealthy: %d problems", e.problems)
}

// usageError: bad flags or arguments.
type usageError struct {
	msg     string
	command string // for the "see ... --help" hint
}

func (e *usageError) Error() string {
	if e.command == "" {
		return e.msg
	}
	return e.msg + " (see '" + e.command + " --help')"
}

// replyErr turns an error reply into the error its prefix names.
func replyErr(addr, msg string) error {
	code, rest, _ := strings.Cut(msg, " ")
	rest = strings.TrimSpace(rest)
	switch code {
	case "NOAUTH", "WRONGPASS":
		return &authError{addr: addr, msg: msg}
	case "CLUSTERDOWN":
		return &noLeaderError{detail: addr + " answered CLUSTERDOWN " + rest}
	}
	return &replyError{addr: addr, msg: msg}
}

// exitCode maps an error to the exit code the process ends with.
func exitCode(err error) int {
	var (
		ue *unreachableError
		ae *authError
		ne *noLeaderError
		he *unhealthyError
		se *usageError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se):
		return exitUsage
	case errors.As(err, &ae):
		return exitAuth
	case errors.As(err, &ne):
		return exitNoLeader
	case errors.As(err, &he):
		return exitUnhealthy
	case errors.As(err, &ue):
		return exitUnreachable
	}
	return exitError
}
