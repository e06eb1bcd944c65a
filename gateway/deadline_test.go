package gateway_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/agentbot/gateway/sdk/provider"
)

// A stream may last longer than the server's read and write timeouts, which
// bound ordinary requests: each chunk moves its deadlines.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	e := newEnvVars(t, map[string]string{"AGENTBOT_READ_TIMEOUT": "1s", "AGENTBOT_WRITE_TIMEOUT": "2s",
		"AGENTBOT_PLUGIN_TIMEOUT": "1s"})
	c, _ := e.user(t, "long@example.com", "solo")
	const chunks = 12 // 12 × 250ms = 3 s, past both timeouts
	e.d.set("generate-text", behavior{stream: func(ctx context.Context, send func(*provider.Chunk) error) error {
		for i := range chunks {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
			if err := send(data(fmt.Sprintf(`{"delta":"%d"}`, i))); err != nil {
				return err
			}
		}
		return nil
	}})
	s := e.open(t, c, "POST", "/api/v1/gateway", map[string]any{"plugin": "generate-text", "stream": true, "prompt": "hi"})
	if s.Resp.StatusCode != 200 {
		t.Fatalf("got %d %s", s.Resp.StatusCode, s.Body)
	}
	for i := range chunks {
		if ev := s.nextEvent(t); ev.Data != fmt.Sprintf(`{"delta":"%d"}`, i) {
			t.Fatalf("event %d = %+v; want chunk %d", i, ev, i)
		}
	}
	if ev := s.nextEvent(t); ev.Event != "usage" {
		t.Fatalf("after the chunks: %+v; want the usage event (the stream was cut)", ev)
	}
}
