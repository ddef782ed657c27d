package command

// COMMAND DOCS of MEMORY and its subcommands, DEBUG and ROLE, as Redis
// 7.0.15's COMMAND DOCS gives them.
var _ = addDocs(map[string]redisDoc{
	"memory":              {Summary: "A container for memory diagnostics commands", Complexity: "Depends on subcommand."},
	"memory|help":         {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"memory|doctor":       {Summary: "Outputs memory problems report", Complexity: "O(1)"},
	"memory|malloc-stats": {Summary: "Show allocator internal stats", Complexity: "Depends on how much memory is allocated, could be slow"},
	"memory|purge":        {Summary: "Ask the allocator to release memory", Complexity: "Depends on how much memory is allocated, could be slow"},
	"memory|stats":        {Summary: "Show memory usage details", Complexity: "O(1)"},
	"memory|usage": {Summary: "Estimate the memory usage of a key", Complexity: "O(N) where N is the number of samples.", Args: []Arg{
		{Name: "key", Type: "key"},
		{Name: "count", Type: "integer", Token: "SAMPLES", Flags: ArgOptional},
	}},
	"debug": {Summary: "A container for debugging commands", Complexity: "Depends on subcommand."},
	"role":  {Summary: "Return the role of the instance in the context of replication", Complexity: "O(1)"},
})
