package rendermcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// DefaultURL is Render's hosted MCP server.
const DefaultURL = "https://mcp.render.com/mcp"

const defaultTimeout = 30 * time.Second

// settings are the decoded configuration.
type settings struct {
	endpoint *url.URL
	// timeout bounds one call, on top of the gateway's own deadline.
	timeout time.Duration
}

func defaultSettings() *settings {
	u, _ := url.Parse(DefaultURL)
	return &settings{endpoint: u, timeout: defaultTimeout}
}

// parseSettings decodes {"url": "...", "timeout": "30s"}; both are optional.
// Unknown fields are refused so that a misspelt key is not silently ignored.
func parseSettings(raw json.RawMessage) (*settings, error) {
	s := defaultSettings()
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return s, nil
	}
	var c struct {
		URL     string `json:"url"`
		Timeout string `json:"timeout"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil {
			return nil, fmt.Errorf("config: url: %v", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("config: url %q: want an absolute http or https URL", c.URL)
		}
		if u.User != nil {
			return nil, errors.New("config: url must not carry credentials")
		}
		s.endpoint = u
	}
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil {
			return nil, fmt.Errorf("config: timeout: %v", err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("config: timeout %q must be positive", c.Timeout)
		}
		s.timeout = d
	}
	return s, nil
}
