package engine

import "github.com/walkerdb/walkerdb/engine/record"

// op is one operation of a write.
type op struct {
	kind     uint8
	key      []byte
	value    []byte
	expireAt int64
	seq      uint64 // 0: the batch's seq
}

// Batch collects puts and deletes that DB.Write commits atomically. A Batch
// keeps references to the keys and values it is given until Write returns:
// do not change them in between. Write only reads them, and keeps none
// once it returns (walkerd hands it its overlay's key strings, uncopied).
// Not safe for concurrent use.
type Batch struct {
	ops  []op
	seq  uint64
	held bool
}

// Put adds a put with no expiry.
func (b *Batch) Put(key, value []byte) { b.PutWithExpiry(key, value, 0) }

// PutWithExpiry adds a put that expires at expireAt (Unix milliseconds).
func (b *Batch) PutWithExpiry(key, value []byte, expireAt int64) {
	b.ops = append(b.ops, op{kind: record.KindPut, key: key, value: value, expireAt: expireAt})
}

// Delete adds a delete.
func (b *Batch) Delete(key []byte) {
	b.ops = append(b.ops, op{kind: record.KindDelete, key: key})
}

// PutSeq adds a put whose record carries its own sequence number seq
// instead of the batch's. walkerd applies several Raft log entries as one
// batch and stamps each key with the index of the entry that wrote it, so
// that a key's version (Meta.Seq) does not depend on how entries were
// grouped. The batch's own seq (SetSeq) should be at least every op's.
func (b *Batch) PutSeq(key, value []byte, expireAt int64, seq uint64) {
	b.ops = append(b.ops, op{kind: record.KindPut, key: key, value: value, expireAt: expireAt, seq: seq})
}

// SetSeq sets the sequence number stored with every record of the batch.
// An empty batch with a sequence number records just that number: DB.Seq
// returns it after a restart.
func (b *Batch) SetSeq(seq uint64) { b.seq = seq }

// Hold lets Write leave the batch's records in the active segment's write
// buffer rather than write them to the file at once. They reach the file
// with Flush, Sync, the next Write that is not held, or once held records
// pass heldMax bytes. Readers see them at once, from the buffer; a crash of
// the process loses those not yet flushed, so the caller flushes before it
// tells anyone about the write. walkerd's standalone mode holds the writes
// of one event-loop turn and flushes them with one pwrite at the turn's
// end, before the turn's replies go out, as redis-server writes its AOF
// buffer once per event-loop iteration (beforeSleep in server.c). In
// SyncAlways, Write's fsync writes the records first (syncTo), so a held
// batch returns durable as any other.
func (b *Batch) Hold() { b.held = true }

// Len is the number of operations.
func (b *Batch) Len() int { return len(b.ops) }

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	clear(b.ops)
	b.ops, b.seq, b.held = b.ops[:0], 0, false
}
