package command

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Pub/sub commands (Redis 7.0.15's pubsub.c). The server runs all of them
// itself (package server's pubsub.go): subscriptions are per connection
// and per node. PUBLISH and SPUBLISH are also data commands so that they
// travel in a log entry: run, on every node's state machine, writes no user
// key (only the internal count of messages, keyspace.PublishedKey) and
// records the message as a Touch (Publish set), which every node's
// server delivers to its own subscribers. The reply run gives (0) is only
// what a PUBLISH inside MULTI/EXEC answers; outside a transaction the
// server answers with its own count (Redis Cluster's: the clients of the
// node that received the PUBLISH).
func init() {
	const psl = FlagPubSub | FlagNoScript | FlagLoading | FlagStale
	notKey := []KeySpec{{Flags: []string{"not_key"}, Index: 1, LastKey: -1, KeyStep: 1}}
	notKey1 := []KeySpec{{Flags: []string{"not_key"}, Index: 1, KeyStep: 1}}
	ps := func(name string, arity int, flags Flags, since string) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Group: "pubsub", Since: since}
	}
	pub := func(name string, since string) *Spec {
		s := ps(name, 3, FlagPubSub|FlagLoading|FlagStale|FlagFast|FlagMayReplicate, since)
		s.parse, s.run = parsePublish, runPublish
		return s
	}
	ssub := ps("ssubscribe", -2, psl, "7.0.0")
	ssub.FirstKey, ssub.LastKey, ssub.Step, ssub.KeySpecs = 1, -1, 1, notKey
	sunsub := ps("sunsubscribe", -1, psl, "7.0.0")
	sunsub.FirstKey, sunsub.LastKey, sunsub.Step, sunsub.KeySpecs = 1, -1, 1, notKey
	spub := pub("spublish", "7.0.0")
	spub.FirstKey, spub.LastKey, spub.Step, spub.KeySpecs = 1, 1, 1, notKey1
	register(
		ps("subscribe", -2, psl, "2.0.0"),
		ps("unsubscribe", -1, psl, "2.0.0"),
		ps("psubscribe", -2, psl, "2.0.0"),
		ps("punsubscribe", -1, psl, "2.0.0"),
		ssub, sunsub,
		pub("publish", "2.0.0"), spub,
		&Spec{Name: "pubsub", Arity: -2, Group: "pubsub", Since: "2.8.0", Subs: []*Spec{
			ps("channels", -2, FlagPubSub|FlagLoading|FlagStale, "2.8.0"),
			ps("numsub", -2, FlagPubSub|FlagLoading|FlagStale, "2.8.0"),
			ps("numpat", 2, FlagPubSub|FlagLoading|FlagStale, "2.8.0"),
			ps("shardchannels", -2, FlagPubSub|FlagLoading|FlagStale, "7.0.0"),
			ps("shardnumsub", -2, FlagPubSub|FlagLoading|FlagStale, "7.0.0"),
			ps("help", 2, FlagLoading|FlagStale, "6.2.0"),
		}},
		&Spec{Name: "monitor", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale, Cats: CatDangerous,
			Group: "server", Since: "1.0.0"},
	)
}

// Publish kinds of a Touch.
const (
	PubChannel = 1 // PUBLISH
	PubShard   = 2 // SPUBLISH
)

func parsePublish(args [][]byte, now int64) (any, error) { return nil, nil }

// runPublish records the message for every node's server to deliver, and
// counts it in the internal PublishedKey (no user key changes): a node
// that installs a snapshot learns from the count how many messages it
// never delivered (Published).
func runPublish(c *ctx, args [][]byte, _ any) {
	kind := int8(PubChannel)
	if equalFold(args[0], "spublish") {
		kind = PubShard
	}
	if c.tx != nil {
		c.tx.touched = append(c.tx.touched, Touch{DB: c.dbi, Key: args[1], Event: "message", Message: args[2], Publish: kind})
		n := uint64(0)
		if v, _, ok := c.getRaw(keyspace.PublishedKey); ok && len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		c.putRaw(keyspace.PublishedKey, binary.BigEndian.AppendUint64(nil, n+1), 0)
	}
	c.r.Int(0)
}

// Published is how many PUBLISH and SPUBLISH messages the log entries
// applied to db carried (0 for a database that never had one).
func Published(db *engine.DB) (uint64, error) {
	var n uint64
	err := db.View(math.MinInt64, func(v *engine.View) error {
		val, _, err := v.Get(keyspace.PublishedKey)
		switch {
		case errors.Is(err, engine.ErrNotFound):
			return nil
		case err != nil:
			return err
		case len(val) != 8:
			return fmt.Errorf("%w: published count of %d bytes", keyspace.ErrBadKey, len(val))
		}
		n = binary.BigEndian.Uint64(val)
		return nil
	})
	return n, err
}

// PubsubHelp is PUBSUB HELP's text, as Redis 7.0.15 gives it.
var PubsubHelp = []string{
	"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> (default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a <pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level channel(s)",
	"HELP",
	"    Prints this help.",
}

var _ = addDocs(map[string]redisDoc{
	"subscribe":            {Summary: "Listen for messages published to the given channels", Complexity: "O(N) where N is the number of channels to subscribe to."},
	"unsubscribe":          {Summary: "Stop listening for messages posted to the given channels", Complexity: "O(N) where N is the number of clients already subscribed to a channel."},
	"psubscribe":           {Summary: "Listen for messages published to channels matching the given patterns", Complexity: "O(N) where N is the number of patterns the client is already subscribed to."},
	"punsubscribe":         {Summary: "Stop listening for messages posted to channels matching the given patterns", Complexity: "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client)."},
	"ssubscribe":           {Summary: "Listen for messages published to the given shard channels", Complexity: "O(N) where N is the number of shard channels to subscribe to."},
	"sunsubscribe":         {Summary: "Stop listening for messages posted to the given shard channels", Complexity: "O(N) where N is the number of clients already subscribed to a shard channel."},
	"publish":              {Summary: "Post a message to a channel", Complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."},
	"spublish":             {Summary: "Post a message to a shard channel", Complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel."},
	"pubsub":               {Summary: "A container for Pub/Sub commands", Complexity: "Depends on subcommand."},
	"pubsub|channels":      {Summary: "List active channels", Complexity: "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"},
	"pubsub|numsub":        {Summary: "Get the count of subscribers for channels", Complexity: "O(N) for the NUMSUB subcommand, where N is the number of requested channels"},
	"pubsub|numpat":        {Summary: "Get the count of unique patterns pattern subscriptions", Complexity: "O(1)"},
	"pubsub|shardchannels": {Summary: "List active shard channels", Complexity: "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels)."},
	"pubsub|shardnumsub":   {Summary: "Get the count of subscribers for shard channels", Complexity: "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"},
	"pubsub|help":          {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"monitor":              {Summary: "Listen for all requests received by the server in real time", Complexity: ""},
})
