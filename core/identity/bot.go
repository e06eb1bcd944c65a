package identity

import (
	"encoding/json"
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

var errBot = api.Forbidden(api.CodeBotDetected, "Access denied")

// decode reads a JSON object body into dst after the bot filter has passed it.
func (b BotFilter) decode(r *http.Request, dst any) error {
	raw, err := api.ReadJSON(r)
	if err != nil {
		return err
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return api.BadRequest(api.CodeInvalidJSON, "Request body must be a JSON object")
	}
	if err := b.check(r, fields); err != nil {
		return err
	}
	return api.Unmarshal(raw, dst)
}

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
