package command

// COMMAND DOCS of the operator's commands: the slow log and the latency
// monitor (Redis 7.0's texts).
var _ = addDocs(map[string]redisDoc{
	"slowlog":      {Summary: "A container for slow log commands", Complexity: "Depends on subcommand."},
	"slowlog|help": {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"slowlog|len":  {Summary: "Get the slow log's length", Complexity: "O(1)"},
	"slowlog|reset": {Summary: "Clear all entries from the slow log",
		Complexity: "O(N) where N is the number of entries in the slowlog"},
	"slowlog|get": {Summary: "Get the slow log's entries", Complexity: "O(N) where N is the number of entries returned", Args: []Arg{
		{Name: "count", Type: "integer", Flags: ArgOptional},
	}},
	"latency":        {Summary: "A container for latency diagnostics commands", Complexity: "Depends on subcommand."},
	"latency|help":   {Summary: "Show helpful text about the different subcommands.", Complexity: "O(1)"},
	"latency|doctor": {Summary: "Return a human readable latency analysis report.", Complexity: "O(1)"},
	"latency|graph": {Summary: "Return a latency graph for the event.", Complexity: "O(1)", Args: []Arg{
		{Name: "event", Type: "string"},
	}},
	"latency|latest": {Summary: "Return the latest latency samples for all events.", Complexity: "O(1)"},
	"latency|history": {Summary: "Return timestamp-latency samples for the event.", Complexity: "O(1)", Args: []Arg{
		{Name: "event", Type: "string"},
	}},
	"latency|reset": {Summary: "Reset latency data for one or more events.", Complexity: "O(1)", Args: []Arg{
		{Name: "event", Type: "string", Flags: ArgOptional | ArgMultiple},
	}},
	"latency|histogram": {Summary: "Return the cumulative distribution of latencies of a subset of commands or all.",
		Complexity: "O(N) where N is the number of commands with latency information being retrieved.", Args: []Arg{
			{Name: "command", Type: "string", Flags: ArgOptional | ArgMultiple},
		}},
})
