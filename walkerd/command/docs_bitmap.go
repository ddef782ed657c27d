package command

// COMMAND DOCS of the bitmap commands and LCS, as Redis 7.0.15's COMMAND
// DOCS gives them.
var _ = addDocs(map[string]redisDoc{
	"setbit":      {Summary: "Sets or clears the bit at offset in the string value stored at key", Complexity: "O(1)"},
	"getbit":      {Summary: "Returns the bit value at offset in the string value stored at key", Complexity: "O(1)"},
	"bitcount":    {Summary: "Count set bits in a string", Complexity: "O(N)"},
	"bitpos":      {Summary: "Find first bit set or clear in a string", Complexity: "O(N)"},
	"bitop":       {Summary: "Perform bitwise operations between strings", Complexity: "O(N)"},
	"bitfield":    {Summary: "Perform arbitrary bitfield integer operations on strings", Complexity: "O(1) for each subcommand specified"},
	"bitfield_ro": {Summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", Complexity: "O(1) for each subcommand specified"},
	"lcs":         {Summary: "Find longest common substring", Complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively"},
})
