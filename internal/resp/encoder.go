package resp

// Encoder appends replies to B, one value at a time, in protocol Proto (2
// or 3). Its methods are walkerd's command.Writer, so a command's reply
// goes straight to a client's buffer; every method is one of the Append
// functions.
type Encoder struct {
	B     []byte
	Proto int
	// OnError, when set, hears every error reply written, whole ("ERR
	// ..."): the server's error statistics.
	OnError func(msg string)
	// Spill, when set, is offered every bulk of SpillMin bytes or more
	// before it is appended: it reports true when it sent B and the bulk
	// on itself (B is then empty), so a 512 MB value goes to the client
	// from where it lies rather than through a second copy in B.
	Spill func(v []byte) bool
}

// SpillMin is the smallest bulk offered to Encoder.Spill.
const SpillMin = 1 << 20

func (e *Encoder) Status(s string) { e.B = AppendSimple(e.B, s) }
func (e *Encoder) Error(msg string) {
	e.B = AppendError(e.B, msg)
	if e.OnError != nil {
		e.OnError(msg)
	}
}
func (e *Encoder) Int(n int64) { e.B = AppendInt(e.B, n) }
func (e *Encoder) Bulk(v []byte) {
	if len(v) >= SpillMin && e.Spill != nil && e.Spill(v) {
		return
	}
	e.B = AppendBulk(e.B, v)
}
func (e *Encoder) BulkString(s string) { e.B = AppendBulkString(e.B, s) }
func (e *Encoder) Null()               { e.B = AppendNull(e.B, e.Proto) }
func (e *Encoder) NullArray()          { e.B = AppendNullArray(e.B, e.Proto) }
func (e *Encoder) Array(n int)         { e.B = AppendArray(e.B, n) }
func (e *Encoder) Map(n int)           { e.B = AppendMap(e.B, n, e.Proto) }
func (e *Encoder) Set(n int)           { e.B = AppendSet(e.B, n, e.Proto) }
func (e *Encoder) Double(f float64)    { e.B = AppendDouble(e.B, f, e.Proto) }
func (e *Encoder) Bool(v bool)         { e.B = AppendBool(e.B, v, e.Proto) }

// PairArray begins an array of n pairs, as Redis 7 replies HRANDFIELD
// WITHVALUES and ZRANGE WITHSCORES: 2n flat values in RESP2, n two-element
// arrays in RESP3 (each begun by Pair).
func (e *Encoder) PairArray(n int) {
	if e.Proto == 3 {
		e.B = AppendArray(e.B, n)
	} else {
		e.B = AppendArray(e.B, 2*n)
	}
}

// Pair begins one pair of a PairArray: an array of 2 in RESP3, nothing in
// RESP2.
func (e *Encoder) Pair() {
	if e.Proto == 3 {
		e.B = AppendArray(e.B, 2)
	}
}

// KeyedArray begins a map of n pairs as Redis replies XREAD: n
// two-element arrays in RESP2 (each begun by Keyed), a map in RESP3.
func (e *Encoder) KeyedArray(n int) {
	if e.Proto == 3 {
		e.B = AppendMap(e.B, n, 3)
	} else {
		e.B = AppendArray(e.B, n)
	}
}

// Keyed begins one pair of a KeyedArray: an array of 2 in RESP2, nothing
// in RESP3.
func (e *Encoder) Keyed() {
	if e.Proto != 3 {
		e.B = AppendArray(e.B, 2)
	}
}

// HumanDouble writes a double already formatted as Redis's
// addReplyHumanLongDouble formats it (GEOPOS coordinates): a bulk string
// in RESP2, a RESP3 double with that text in RESP3.
func (e *Encoder) HumanDouble(text string) {
	if e.Proto == 3 {
		e.B = append(e.B, byte(KindDouble))
		e.B = append(e.B, text...)
		e.B = append(e.B, '\r', '\n')
		return
	}
	e.B = AppendBulkString(e.B, text)
}

// Verbatim writes a verbatim string of format ("txt") as Redis's
// addReplyVerbatim: "=" in RESP3, a bulk string of text in RESP2.
func (e *Encoder) Verbatim(format, text string) {
	e.B = AppendVerbatim(e.B, format, []byte(text), e.Proto)
}
