package identity

import (
	"net/http"
	"strings"

	"github.com/agentbot/gateway/core/api"
)

// BotFilter refuses obvious automation on sign-up and password reset: a filled
// honeypot field (invisible in the web form) or a request without any
// User-Agent. Ordinary HTTP clients (curl, SDKs) send a User-Agent and pass.
type BotFilter struct {
	Enabled bool
	// Honeypot is the JSON field that humans leave empty.
	Honeypot string
}

var errBot = api.Forbidden("BOT_DETECTED", "Access denied")

func (b BotFilter) check(r *http.Request, fields map[string]any) error {
	if !b.Enabled {
		return nil
	}
	if strings.TrimSpace(r.Header.Get("User-Agent")) == "" {
		return errBot
	}
	if b.Honeypot != "" {
		if v, ok := fields[b.Honeypot]; ok && v != nil && v != "" {
			return errBot
		}
	}
	return nil
}
