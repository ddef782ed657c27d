package server

// helpLines is the handler of a HELP subcommand that reads no data
// (XGROUP HELP, XINFO HELP): the lines as status replies, as Redis's
// addReplyHelp answers them.
func helpLines(lines func() []string) handler {
	return func(s *Server, c *client, args [][]byte) {
		l := lines()
		c.array(len(l))
		for _, x := range l {
			c.simple(x)
		}
	}
}
