package server

import "github.com/walkerdb/walkerdb/walkerd/command"

// PFSELFTEST: the HyperLogLog self-test (command.HLLSelfTest), on this
// node; it touches no data.
func cmdPfselftest(s *Server, c *client, args [][]byte) {
	if msg := command.HLLSelfTest(); msg != "" {
		c.errorReply(msg)
		return
	}
	c.ok()
}
