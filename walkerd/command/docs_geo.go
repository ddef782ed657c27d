package command

// COMMAND DOCS of the geo commands: summaries, complexities and arguments
// as Redis 7.0.15's COMMAND DOCS gives them (walkerd's COMMAND DOCS has
// no history or deprecation fields).
var _ = addDocs(map[string]redisDoc{
	"geoadd": {Summary: "Add one or more geospatial items in the geospatial index represented using a sorted set", Complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "condition", Type: "oneof", Since: "6.2.0", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
		}},
		{Name: "change", Type: "pure-token", Token: "CH", Since: "6.2.0", Flags: ArgOptional},
		{Name: "longitude_latitude_member", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "longitude", Type: "double"},
			{Name: "latitude", Type: "double"},
			{Name: "member", Type: "string"},
		}},
	}},
	"geodist": {Summary: "Returns the distance between two members of a geospatial index", Complexity: "O(log(N))", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member1", Type: "string"},
		{Name: "member2", Type: "string"},
		{Name: "unit", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "m", Type: "pure-token", Token: "M"},
			{Name: "km", Type: "pure-token", Token: "KM"},
			{Name: "ft", Type: "pure-token", Token: "FT"},
			{Name: "mi", Type: "pure-token", Token: "MI"},
		}},
	}},
	"geohash": {Summary: "Returns members of a geospatial index as standard geohash strings", Complexity: "O(log(N)) for each member requested, where N is the number of elements in the sorted set.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string", Flags: ArgMultiple},
	}},
	"geopos": {Summary: "Returns longitude and latitude of members of a geospatial index", Complexity: "O(N) where N is the number of members requested.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string", Flags: ArgMultiple},
	}},
	"georadius": {Summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", Complexity: geoRadiusComplexity, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "longitude", Type: "double"},
		{Name: "latitude", Type: "double"},
		{Name: "radius", Type: "double"},
		{Name: "unit", Type: "oneof", Args: []Arg{
			{Name: "m", Type: "pure-token", Token: "M"},
			{Name: "km", Type: "pure-token", Token: "KM"},
			{Name: "ft", Type: "pure-token", Token: "FT"},
			{Name: "mi", Type: "pure-token", Token: "MI"},
		}},
		{Name: "withcoord", Type: "pure-token", Token: "WITHCOORD", Flags: ArgOptional},
		{Name: "withdist", Type: "pure-token", Token: "WITHDIST", Flags: ArgOptional},
		{Name: "withhash", Type: "pure-token", Token: "WITHHASH", Flags: ArgOptional},
		{Name: "count", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "count", Type: "integer", Token: "COUNT"},
			{Name: "any", Type: "pure-token", Token: "ANY", Since: "6.2.0", Flags: ArgOptional},
		}},
		{Name: "order", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "asc", Type: "pure-token", Token: "ASC"},
			{Name: "desc", Type: "pure-token", Token: "DESC"},
		}},
		{Name: "key", Type: "key", KeySpecIndex: 1, Token: "STORE", Flags: ArgOptional},
		{Name: "key", Type: "key", KeySpecIndex: 2, Token: "STOREDIST", Flags: ArgOptional},
	}},
	"georadiusbymember": {Summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", Complexity: geoRadiusComplexity, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string"},
		{Name: "radius", Type: "double"},
		{Name: "unit", Type: "oneof", Args: []Arg{
			{Name: "m", Type: "pure-token", Token: "M"},
			{Name: "km", Type: "pure-token", Token: "KM"},
			{Name: "ft", Type: "pure-token", Token: "FT"},
			{Name: "mi", Type: "pure-token", Token: "MI"},
		}},
		{Name: "withcoord", Type: "pure-token", Token: "WITHCOORD", Flags: ArgOptional},
		{Name: "withdist", Type: "pure-token", Token: "WITHDIST", Flags: ArgOptional},
		{Name: "withhash", Type: "pure-token", Token: "WITHHASH", Flags: ArgOptional},
		{Name: "count", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "count", Type: "integer", Token: "COUNT"},
			{Name: "any", Type: "pure-token", Token: "ANY", Flags: ArgOptional},
		}},
		{Name: "order", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "asc", Type: "pure-token", Token: "ASC"},
			{Name: "desc", Type: "pure-token", Token: "DESC"},
		}},
		{Name: "key", Type: "key", KeySpecIndex: 1, Token: "STORE", Flags: ArgOptional},
		{Name: "key", Type: "key", KeySpecIndex: 2, Token: "STOREDIST", Flags: ArgOptional},
	}},
	"georadius_ro": {Summary: "A read-only variant for GEORADIUS", Complexity: geoRadiusComplexity, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "longitude", Type: "double"},
		{Name: "latitude", Type: "double"},
		{Name: "radius", Type: "double"},
		{Name: "unit", Type: "oneof", Args: []Arg{
			{Name: "m", Type: "pure-token", Token: "M"},
			{Name: "km", Type: "pure-token", Token: "KM"},
			{Name: "ft", Type: "pure-token", Token: "FT"},
			{Name: "mi", Type: "pure-token", Token: "MI"},
		}},
		{Name: "withcoord", Type: "pure-token", Token: "WITHCOORD", Flags: ArgOptional},
		{Name: "withdist", Type: "pure-token", Token: "WITHDIST", Flags: ArgOptional},
		{Name: "withhash", Type: "pure-token", Token: "WITHHASH", Flags: ArgOptional},
		{Name: "count", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "count", Type: "integer", Token: "COUNT"},
			{Name: "any", Type: "pure-token", Token: "ANY", Since: "6.2.0", Flags: ArgOptional},
		}},
		{Name: "order", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "asc", Type: "pure-token", Token: "ASC"},
			{Name: "desc", Type: "pure-token", Token: "DESC"},
		}},
	}},
	"georadiusbymember_ro": {Summary: "A read-only variant for GEORADIUSBYMEMBER", Complexity: geoRadiusComplexity, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string"},
		{Name: "radius", Type: "double"},
		{Name: "unit", Type: "oneof", Args: []Arg{
			{Name: "m", Type: "pure-token", Token: "M"},
			{Name: "km", Type: "pure-token", Token: "KM"},
			{Name: "ft", Type: "pure-token", Token: "FT"},
			{Name: "mi", Type: "pure-token", Token: "MI"},
		}},
		{Name: "withcoord", Type: "pure-token", Token: "WITHCOORD", Flags: ArgOptional},
		{Name: "withdist", Type: "pure-token", Token: "WITHDIST", Flags: ArgOptional},
		{Name: "withhash", Type: "pure-token", Token: "WITHHASH", Flags: ArgOptional},
		{Name: "count", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "count", Type: "integer", Token: "COUNT"},
			{Name: "any", Type: "pure-token", Token: "ANY", Flags: ArgOptional},
		}},
		{Name: "order", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "asc", Type: "pure-token", Token: "ASC"},
			{Name: "desc", Type: "pure-token", Token: "DESC"},
		}},
	}},
	"geosearch": {Summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", Complexity: geoSearchComplexity, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "from", Type: "oneof", Args: []Arg{
			{Name: "member", Type: "string", Token: "FROMMEMBER"},
			{Name: "longitude_latitude", Type: "block", Token: "FROMLONLAT", Args: []Arg{
				{Name: "longitude", Type: "double"},
				{Name: "latitude", Type: "double"},
			}},
		}},
		{Name: "by", Type: "oneof", Args: []Arg{
			{Name: "circle", Type: "block", Args: []Arg{
				{Name: "radius", Type: "double", Token: "BYRADIUS"},
				{Name: "unit", Type: "oneof", Args: []Arg{
					{Name: "m", Type: "pure-token", Token: "M"},
					{Name: "km", Type: "pure-token", Token: "KM"},
					{Name: "ft", Type: "pure-token", Token: "FT"},
					{Name: "mi", Type: "pure-token", Token: "MI"},
				}},
			}},
			{Name: "box", Type: "block", Args: []Arg{
				{Name: "width", Type: "double", Token: "BYBOX"},
				{Name: "height", Type: "double"},
				{Name: "unit", Type: "oneof", Args: []Arg{
					{Name: "m", Type: "pure-token", Token: "M"},
					{Name: "km", Type: "pure-token", Token: "KM"},
					{Name: "ft", Type: "pure-token", Token: "FT"},
					{Name: "mi", Type: "pure-token", Token: "MI"},
				}},
			}},
		}},
		{Name: "order", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "asc", Type: "pure-token", Token: "ASC"},
			{Name: "desc", Type: "pure-token", Token: "DESC"},
		}},
		{Name: "count", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "count", Type: "integer", Token: "COUNT"},
			{Name: "any", Type: "pure-token", Token: "ANY", Flags: ArgOptional},
		}},
		{Name: "withcoord", Type: "pure-token", Token: "WITHCOORD", Flags: ArgOptional},
		{Name: "withdist", Type: "pure-token", Token: "WITHDIST", Flags: ArgOptional},
		{Name: "withhash", Type: "pure-token", Token: "WITHHASH", Flags: ArgOptional},
	}},
	"geosearchstore": {Summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", Complexity: geoSearchComplexity, Args: []Arg{
		{Name: "destination", Type: "key", KeySpecIndex: 0},
		{Name: "source", Type: "key", KeySpecIndex: 1},
		{Name: "from", Type: "oneof", Args: []Arg{
			{Name: "member", Type: "string", Token: "FROMMEMBER"},
			{Name: "longitude_latitude", Type: "block", Token: "FROMLONLAT", Args: []Arg{
				{Name: "longitude", Type: "double"},
				{Name: "latitude", Type: "double"},
			}},
		}},
		{Name: "by", Type: "oneof", Args: []Arg{
			{Name: "circle", Type: "block", Args: []Arg{
				{Name: "radius", Type: "double", Token: "BYRADIUS"},
				{Name: "unit", Type: "oneof", Args: []Arg{
					{Name: "m", Type: "pure-token", Token: "M"},
					{Name: "km", Type: "pure-token", Token: "KM"},
					{Name: "ft", Type: "pure-token", Token: "FT"},
					{Name: "mi", Type: "pure-token", Token: "MI"},
				}},
			}},
			{Name: "box", Type: "block", Args: []Arg{
				{Name: "width", Type: "double", Token: "BYBOX"},
				{Name: "height", Type: "double"},
				{Name: "unit", Type: "oneof", Args: []Arg{
					{Name: "m", Type: "pure-token", Token: "M"},
					{Name: "km", Type: "pure-token", Token: "KM"},
					{Name: "ft", Type: "pure-token", Token: "FT"},
					{Name: "mi", Type: "pure-token", Token: "MI"},
				}},
			}},
		}},
		{Name: "order", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "asc", Type: "pure-token", Token: "ASC"},
			{Name: "desc", Type: "pure-token", Token: "DESC"},
		}},
		{Name: "count", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "count", Type: "integer", Token: "COUNT"},
			{Name: "any", Type: "pure-token", Token: "ANY", Flags: ArgOptional},
		}},
		{Name: "storedist", Type: "pure-token", Token: "STOREDIST", Flags: ArgOptional},
	}},
})

const (
	geoRadiusComplexity = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."
	geoSearchComplexity = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"
)
