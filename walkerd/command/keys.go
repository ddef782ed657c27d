package command

// movableKeys finds the keys of the commands whose key positions depend on
// their arguments (COMMAND INFO's movablekeys: first key 0), as Redis's
// getkeys procedures in db.c find them. Spec.Keys uses them, so COMMAND
// GETKEYS, Parse's key-length check and MULTI's key rules see every key.
var movableKeys = map[string]func(args [][]byte) [][]byte{
	"lmpop":       numkeysAt(1), // lmpopGetKeys
	"zmpop":       numkeysAt(1), // zmpopGetKeys
	"blmpop":      numkeysAt(2), // blmpopGetKeys
	"bzmpop":      numkeysAt(2), // bzmpopGetKeys
	"sintercard":  numkeysAt(1), // sintercardGetKeys
	"zintercard":  numkeysAt(1), // zunionInterDiffGetKeys
	"zunion":      numkeysAt(1),
	"zinter":      numkeysAt(1),
	"zdiff":       numkeysAt(1),
	"zunionstore": destAndNumkeys, // zunionInterDiffStoreGetKeys
	"zinterstore": destAndNumkeys,
	"zdiffstore":  destAndNumkeys,
	"sort":        sortKeys,        // sortGetKeys
	"xread":       xreadStreamKeys, // its key specs (cmd_stream.go xreadKeys)
	"xreadgroup":  xreadgroupStreamKeys,
}

// numkeysAt finds numkeys at args[i] and that many keys after it; none
// when numkeys is not a count the arguments hold.
func numkeysAt(i int) func(args [][]byte) [][]byte {
	return func(args [][]byte) [][]byte {
		if i >= len(args) {
			return nil
		}
		n, ok := ParseInt(args[i])
		if !ok || n <= 0 || n > int64(len(args)-i-1) {
			return nil
		}
		return args[i+1 : i+1+int(n)]
	}
}

// destAndNumkeys is ZUNIONSTORE's and its kin's: destination numkeys key...
func destAndNumkeys(args [][]byte) [][]byte {
	if len(args) < 2 {
		return nil
	}
	return append([][]byte{args[1]}, numkeysAt(2)(args)...)
}

// sortKeys is SORT key [... STORE destination]: the last STORE's
// destination counts, as sortGetKeys skips the arguments of LIMIT, GET
// and BY.
func sortKeys(args [][]byte) [][]byte {
	if len(args) < 2 {
		return nil
	}
	keys := [][]byte{args[1]}
	var store []byte
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "limit"):
			i += 2
		case equalFold(args[i], "get"), equalFold(args[i], "by"):
			i++
		case equalFold(args[i], "store") && i+1 < len(args):
			store = args[i+1]
			i++
		}
	}
	if store != nil {
		keys = append(keys, store)
	}
	return keys
}
