package command

// COMMAND DOCS of ACL and its subcommands (Redis 7.0's texts).
var _ = addDocs(map[string]redisDoc{
	"acl":         {Summary: "A container for Access List Control commands ", Complexity: "Depends on subcommand."},
	"acl|cat":     {Summary: "List the ACL categories or the commands inside a category", Complexity: "O(1) since the categories and commands are a fixed set.", Args: []Arg{{Name: "categoryname", Type: "string", Flags: ArgOptional}}},
	"acl|deluser": {Summary: "Remove the specified ACL users and the associated rules", Complexity: "O(1) amortized time considering the typical user.", Args: []Arg{{Name: "username", Type: "string", Flags: ArgMultiple}}},
	"acl|dryrun":  {Summary: "Returns whether the user can execute the given command without executing the command.", Complexity: "O(1).", Args: []Arg{{Name: "username", Type: "string"}, {Name: "command", Type: "string"}, {Name: "arg", Type: "string", Flags: ArgOptional | ArgMultiple}}},
	"acl|genpass": {Summary: "Generate a pseudorandom secure password to use for ACL users", Complexity: "O(1)", Args: []Arg{{Name: "bits", Type: "integer", Flags: ArgOptional}}},
	"acl|getuser": {Summary: "Get the rules for a specific ACL user", Complexity: "O(N). Where N is the number of password, command and pattern rules that the user has.", History: [][2]string{{"6.2.0", "Added Pub/Sub channel patterns."}, {"7.0.0", "Added selectors and changed the format of key and channel patterns from a list to their rule representation."}}, Args: []Arg{{Name: "username", Type: "string"}}},
	"acl|help":    {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"acl|list":    {Summary: "List the current ACL rules in ACL config file format", Complexity: "O(N). Where N is the number of configured users."},
	"acl|load":    {Summary: "Reload the ACLs from the configured ACL file", Complexity: "O(N). Where N is the number of configured users."},
	"acl|log":     {Summary: "List latest events denied because of ACLs in place", Complexity: "O(N) with N being the number of entries shown.", Args: []Arg{{Name: "operation", Type: "oneof", Flags: ArgOptional, Args: []Arg{{Name: "count", Type: "integer"}, {Name: "reset", Type: "pure-token", Token: "RESET"}}}}},
	"acl|save":    {Summary: "Save the current ACL rules in the configured ACL file", Complexity: "O(N). Where N is the number of configured users."},
	"acl|setuser": {Summary: "Modify or create the rules for a specific ACL user", Complexity: "O(N). Where N is the number of rules provided.", History: [][2]string{{"6.2.0", "Added Pub/Sub channel patterns."}, {"7.0.0", "Added selectors and key based permissions."}}, Args: []Arg{{Name: "username", Type: "string"}, {Name: "rule", Type: "string", Flags: ArgOptional | ArgMultiple}}},
	"acl|users":   {Summary: "List the username of all the configured ACL rules", Complexity: "O(N). Where N is the number of configured users."},
	"acl|whoami":  {Summary: "Return the name of the user associated to the current connection", Complexity: "O(1)"},
})
