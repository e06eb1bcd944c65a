package store

import (
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// newID returns prefix + 24 random hex characters.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

var sortableSeq atomic.Uint32

// newSortableID returns prefix + 24 hex characters that sort by creation on
// this node: 48 bits of Unix milliseconds, a 16-bit counter that orders IDs
// made in the same millisecond, then 32 random bits.
func newSortableID(prefix string, now time.Time) string {
	var b [12]byte
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	n := sortableSeq.Add(1)
	b[6], b[7] = byte(n>>8), byte(n)
	_, _ = rand.Read(b[8:])
	return prefix + hex.EncodeToString(b[:])
}
