package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/walkerd/server"
)

// protectedFlags are Redis's --protected-mode as a walkerd flag: the
// option the DENIED reply of a refused client names (server/protected.go).
// A config file's protected-mode line sets it too.
func protectedFlags() []cli.Flag {
	return []cli.Flag{&cli.StringFlag{
		Name:    "protected-mode",
		Value:   "yes",
		Usage:   "yes: with no password for the default user, refuse clients not on the loopback interface (127.0.0.0/8, ::1, Unix sockets), as Redis's protected mode; no: accept them",
		EnvVars: []string{"WALKERD_PROTECTED_MODE"},
	}}
}

// applyProtectedMode sets the server's protected-mode from the flag (or
// the config file line that set it).
func applyProtectedMode(c *cli.Context, srv *server.Server) error {
	if err := srv.SetConfig("protected-mode", c.String("protected-mode")); err != nil {
		return fmt.Errorf("--protected-mode %q: %v", c.String("protected-mode"), err)
	}
	return nil
}
