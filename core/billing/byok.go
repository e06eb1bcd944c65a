package billing

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/secrets"
)

// BYOKProviders are the upstreams a user may bring their own key for: the AI
// provider's upstream names.
var BYOKProviders = []string{"openai", "anthropic", "openrouter", "groq", "gemini"}

// byokAliases are other names clients use for a provider ("google" in the
// original service's documentation).
var byokAliases = map[string]string{"google": "gemini"}

// Key length bounds: real provider keys are 20–200 characters.
const (
	minKeyLen = 8
	maxKeyLen = 512
)

// BYOKProvider normalises a provider name, or fails with 400 INVALID_PROVIDER.
func BYOKProvider(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if a, ok := byokAliases[name]; ok {
		name = a
	}
	if !slices.Contains(BYOKProviders, name) {
		return "", api.BadRequest(api.CodeInvalidProvider, "Field \"provider\" must be one of "+strings.Join(BYOKProviders, ", "))
	}
	return name, nil
}

// CheckBYOKKey checks an API key's shape without echoing it: 8–512 printable
// ASCII characters, no spaces.
func CheckBYOKKey(key string) error {
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return api.BadRequest(api.CodeInvalidAPIKeyFormat, fmt.Sprintf("Field \"apiKey\" must be %d to %d characters", minKeyLen, maxKeyLen))
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x21 || c > 0x7e {
			return api.BadRequest(api.CodeInvalidAPIKeyFormat, "Field \"apiKey\" must be printable ASCII without spaces")
		}
	}
	return nil
}

// enableBYOK: {action: "enable-byok", provider, apiKey}. The key is sealed
// with the master key, bound to (user, provider) as the gateway expects, and
// never echoed.
func (s *Service) enableBYOK(w http.ResponseWriter, r *http.Request, userID string, raw json.RawMessage) error {
	var in struct {
		Provider string `json:"provider"`
		APIKey   string `json:"apiKey"`
	}
	if err := api.Unmarshal(raw, &in); err != nil {
		return err
	}
	if in.Provider == "" || in.APIKey == "" {
		return api.Validation("Fields \"provider\" and \"apiKey\" are required")
	}
	prov, err := BYOKProvider(in.Provider)
	if err != nil {
		return err
	}
	if err := CheckBYOKKey(in.APIKey); err != nil {
		return err
	}
	sealed := s.Secrets.Seal([]byte(in.APIKey), secrets.BYOKLabel(userID, prov))
	if err := s.Store.SetBYOKKey(r.Context(), userID, prov, sealed); err != nil {
		return storeErr(err)
	}
	s.forget(userID)
	api.OK(w, map[string]any{"success": true, "provider": prov,
		"message": fmt.Sprintf("BYOK enabled with %s. You'll pay %s directly for AI usage.", prov, prov)})
	return nil
}

// disableBYOK: {action: "disable-byok", provider?}; without a provider every
// key goes.
func (s *Service) disableBYOK(w http.ResponseWriter, r *http.Request, userID string, raw json.RawMessage) error {
	var in struct {
		Provider string `json:"provider"`
	}
	if err := api.Unmarshal(raw, &in); err != nil {
		return err
	}
	prov := ""
	if in.Provider != "" {
		var err error
		if prov, err = BYOKProvider(in.Provider); err != nil {
			return err
		}
	}
	if err := s.Store.DeleteBYOKKey(r.Context(), userID, prov); err != nil {
		return storeErr(err)
	}
	s.forget(userID)
	out := map[string]any{"success": true, "message": "BYOK disabled. Using platform credits."}
	if prov != "" {
		out["provider"] = prov
	}
	api.OK(w, out)
	return nil
}
