package identity

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/store"
)

func keyJSON(k *store.APIKey) map[string]any {
	var last any
	if k.LastUsed != nil {
		last = k.LastUsed.UTC().Format(timeFormat)
	}
	return map[string]any{"id": k.ID, "name": k.Name, "keyPreview": auth.KeyPreview(k.Prefix),
		"createdAt": k.CreatedAt.UTC().Format(timeFormat), "lastUsed": last}
}

// listKeys: GET /api/keys → {keys: [...]}, newest first.
func (s *Service) listKeys(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	keys, err := s.Store.APIKeys(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(keys))
	for i := range keys {
		out[i] = keyJSON(&keys[i])
	}
	api.OK(w, map[string]any{"keys": out})
	return nil
}

const maxKeysPerUser = 100

// createKey: POST /api/keys {name} → 201 {id, name, key, createdAt}; the key is
// shown only here.
func (s *Service) createKey(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	name, err := checkName("Name", req.Name, 64)
	if err != nil {
		if req.Name != "" && len([]rune(req.Name)) > 64 {
			return api.Validation("Name too long (max 64 chars)")
		}
		return api.Validation("Name required")
	}
	existing, err := s.Store.APIKeys(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	if len(existing) >= maxKeysPerUser {
		return api.Errorf(http.StatusTooManyRequests, api.CodeKeyLimitReached, "At most %d API keys per account", maxKeysPerUser).
			With("current", len(existing)).With("limit", maxKeysPerUser)
	}
	key := auth.NewAPIKey()
	k, err := s.Store.CreateAPIKey(r.Context(), p.UserID, name, auth.Digest(key), auth.KeyPrefix(key))
	if err != nil {
		return err
	}
	api.JSON(w, http.StatusCreated, map[string]any{"id": k.ID, "name": k.Name, "key": key,
		"createdAt": k.CreatedAt.UTC().Format(timeFormat)})
	return nil
}

// getKey: GET /api/keys/:id → the key's metadata; another user's key is 404.
func (s *Service) getKey(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	k, err := s.Store.APIKey(r.Context(), p.UserID, ps.ByName("id"))
	if err != nil {
		return storeErr(err, "Key not found")
	}
	api.OK(w, keyJSON(k))
	return nil
}

// deleteKey: DELETE /api/keys/:id → {success: true}; another user's key is 404.
func (s *Service) deleteKey(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteAPIKey(r.Context(), p.UserID, ps.ByName("id")); err != nil {
		return storeErr(err, "Key not found")
	}
	s.Auth.ForgetKey(ps.ByName("id"))
	api.OK(w, map[string]any{"success": true})
	return nil
}
