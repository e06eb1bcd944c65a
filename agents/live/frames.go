package live

import (
	"encoding/json"
	"time"

	"github.com/agentbot/gateway/core/api"
)

// inFrame is a client frame: {"type":"chat","message":"…","topic":"…"} or
// {"type":"ping"}.
type inFrame struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Topic   string `json:"topic"`
}

type connectedFrame struct {
	Type    string `json:"type"`
	AgentID string `json:"agentId"`
}

type errorFrame struct {
	Type  string   `json:"type"`
	Code  api.Code `json:"code"`
	Error string   `json:"error"`
}

// frame encodes a frame of ours; they are plain structs of strings, which
// always encode.
func frame(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// bucket is a token bucket: n frames at once, refilled at n per window.
// Only the socket's read loop uses it.
type bucket struct {
	tokens, max, perSecond float64
	last                   time.Time
}

func newBucket(n int, window time.Duration, now time.Time) *bucket {
	return &bucket{tokens: float64(n), max: float64(n), perSecond: float64(n) / window.Seconds(), last: now}
}

func (b *bucket) take(now time.Time) bool {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.max, b.tokens+d.Seconds()*b.perSecond)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
