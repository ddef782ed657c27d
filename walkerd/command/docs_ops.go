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

// COMMAND DOCS of the Redis Cluster protocol's commands (Redis 7.0's
// texts; MYSHARDID is Redis 7.2's).
var _ = addDocs(map[string]redisDoc{
	"cluster": {Summary: "A container for cluster commands", Complexity: "Depends on subcommand."},
	"cluster|slots": {Summary: "Get array of Cluster slot to node mappings",
		Complexity: "O(N) where N is the total number of Cluster nodes",
		History:    [][2]string{{"4.0.0", "Added node IDs."}, {"7.0.0", "Added additional networking metadata field."}}},
	"cluster|shards": {Summary: "Get array of cluster slots to node mappings",
		Complexity: "O(N) where N is the total number of cluster nodes"},
	"cluster|nodes":     {Summary: "Get Cluster config for the node", Complexity: "O(N) where N is the total number of Cluster nodes"},
	"cluster|info":      {Summary: "Provides info about Redis Cluster node state", Complexity: "O(1)"},
	"cluster|myid":      {Summary: "Return the node id", Complexity: "O(1)"},
	"cluster|myshardid": {Summary: "Returns the shard ID of the node.", Complexity: "O(1)"},
	"cluster|keyslot": {Summary: "Returns the hash slot of the specified key",
		Complexity: "O(N) where N is the number of bytes in the key", Args: []Arg{{Name: "key", Type: "string"}}},
	"cluster|countkeysinslot": {Summary: "Return the number of local keys in the specified hash slot",
		Complexity: "O(1)", Args: []Arg{{Name: "slot", Type: "integer"}}},
	"cluster|getkeysinslot": {Summary: "Return local key names in the specified hash slot",
		Complexity: "O(log(N)) where N is the number of requested keys",
		Args:       []Arg{{Name: "slot", Type: "integer"}, {Name: "count", Type: "integer"}}},
	"cluster|help": {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"readonly":     {Summary: "Enables read queries for a connection to a cluster replica node", Complexity: "O(1)"},
	"readwrite":    {Summary: "Disables read queries for a connection to a cluster replica node", Complexity: "O(1)"},
	"asking":       {Summary: "Sent by cluster clients after an -ASK redirect", Complexity: "O(1)"},
})
