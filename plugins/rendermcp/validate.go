package rendermcp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/agentbot/gateway/sdk/provider"
)

// keyPrefix starts every Render API key.
const keyPrefix = "rnd_"

// minKeyLen is a plausibility floor kept for compatibility with existing
// clients; real keys are 40+ characters.
const minKeyLen = 20

type invalidConfig struct {
	Valid  bool     `json:"valid"`
	Errors []string `json:"errors"`
	Help   string   `json:"help"`
}

// validateConfig checks a Render API key's shape, without calling Render:
// POST {api_key, endpoint?} → 200 {valid, message, next_steps} or
// 400 {valid:false, errors, help}, reporting the first problem, as existing clients expect.
func validateConfig(req *provider.HTTPRequest) (*reply, error) {
	// endpoint is accepted and, as existing clients expect, not checked.
	var in struct {
		APIKey any `json:"api_key"`
	}
	// An empty body is an empty object, as Express's body parser had it.
	if body := bytes.TrimSpace(req.Body); len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, provider.Errorf(http.StatusBadRequest, "INVALID_JSON", "Malformed JSON body")
		}
	}
	key, isString := in.APIKey.(string)
	var bad *invalidConfig
	switch {
	case in.APIKey == nil, isString && key == "":
		bad = &invalidConfig{Errors: []string{"api_key is required"}, Help: "Get your API key from " + apiKeysURL}
	case !isString:
		bad = &invalidConfig{Errors: []string{"api_key must be a string"}, Help: "Send the key as a JSON string"}
	case !strings.HasPrefix(key, keyPrefix):
		bad = &invalidConfig{Errors: []string{"api_key must start with rnd_"}, Help: "Check that you copied the full token from the dashboard"}
	case len(key) < minKeyLen:
		bad = &invalidConfig{Errors: []string{"api_key appears too short"}, Help: "API keys are typically 40+ characters"}
	}
	if bad != nil {
		return &reply{status: http.StatusBadRequest, body: bad}, nil
	}
	return &reply{status: http.StatusOK, body: map[string]any{
		"valid":   true,
		"message": "Configuration looks valid",
		"next_steps": []string{
			"Add this key to your IDE MCP configuration",
			"Reload your IDE",
			`Test with: "List my Render services"`,
		},
	}}, nil
}
