package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/store"
)

func (s *Service) settingsJSON(r *http.Request, p *auth.Principal, u *store.User) (map[string]any, error) {
	credits, err := s.Store.Credits(r.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	var plan any
	if u.Plan != "" {
		plan = u.Plan
	}
	role := u.Role
	if p.Admin {
		role = "admin"
	}
	var pending any
	if u.PendingEmail != "" {
		pending = u.PendingEmail
	}
	return map[string]any{
		"id": u.ID, "email": u.Email, "emailVerified": u.EmailVerified, "pendingEmail": pending,
		"name": u.Name, "role": role, "plan": plan,
		"subscriptionStatus": u.SubscriptionStatus, "credits": json.Number(money.FormatUSD(credits)),
		"twoFactorEnabled": u.TwoFactorEnabled, "notifications": u.Notifications,
		"createdAt": u.CreatedAt.UTC().Format(timeFormat),
	}, nil
}

// getSettings: GET /api/settings → the caller's profile.
func (s *Service) getSettings(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	u, err := s.Store.User(r.Context(), p.UserID)
	if err != nil {
		return storeErr(err, "User not found")
	}
	out, err := s.settingsJSON(r, p, u)
	if err != nil {
		return err
	}
	api.OK(w, out)
	return nil
}

type settingsRequest struct {
	Name          *string         `json:"name"`
	Email         *string         `json:"email"`
	Notifications json.RawMessage `json:"notifications"`
}

// postSettings: POST /api/settings {name?, email?}. A new email does not
// replace the current one: it becomes pendingEmail, a verification link goes
// to it (and a notice to the current address), and the change happens when
// the link is used. An address another account has is 409.
func (s *Service) postSettings(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	return s.updateSettings(w, r, true)
}

// patchSettings: PATCH /api/settings {name?, notifications?}.
func (s *Service) patchSettings(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	return s.updateSettings(w, r, false)
}

func (s *Service) updateSettings(w http.ResponseWriter, r *http.Request, allowEmail bool) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	var req settingsRequest
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	var (
		up       store.UserUpdate
		newEmail string
	)
	if req.Name != nil {
		name, err := checkName("Name", *req.Name, 100)
		if err != nil {
			return err
		}
		up.Name = &name
	}
	if req.Email != nil {
		if !allowEmail {
			return api.Validation("Change the email with POST /api/settings")
		}
		if newEmail, err = normEmail(*req.Email); err != nil {
			return err
		}
		if isWalletEmail(newEmail) {
			return errWalletEmail
		}
		c, err := s.Store.CredentialByEmail(r.Context(), newEmail)
		if err == nil && c.UserID != p.UserID {
			return api.Conflict(api.CodeEmailInUse, "Email already in use")
		} else if err != nil && !errorsIs(err, store.ErrNotFound) {
			return err
		}
		if err != nil { // another address than the current one: a link will be mailed
			if err := s.reserveMail(r, p.UserID, newEmail); err != nil {
				return err
			}
		}
	}
	if req.Notifications != nil && !bytes.Equal(req.Notifications, []byte("null")) {
		var obj map[string]any
		if json.Unmarshal(req.Notifications, &obj) != nil {
			return api.BadRequest(api.CodeInvalidFieldType, `Field "notifications" must be of type object`)
		}
		if len(req.Notifications) > 8<<10 {
			return api.Validation("notifications is too large (max 8 KiB)")
		}
		compact, _ := json.Marshal(obj)
		up.Notifications = compact
	}
	u, err := s.Store.UpdateUser(r.Context(), p.UserID, up)
	if err != nil {
		return storeErr(err, "User not found")
	}
	if newEmail != "" {
		old := u.Email
		if u, err = s.Store.SetPendingEmail(r.Context(), p.UserID, newEmail); err != nil {
			return storeErr(err, "User not found")
		}
		if next := u.PendingEmail; next != "" {
			s.background(r, "verification mail", func(ctx context.Context) error {
				return errors.Join(s.sendVerification(ctx, p.UserID, next, true), s.notifyChange(ctx, old, next))
			})
		}
	}
	out, err := s.settingsJSON(r, p, u)
	if err != nil {
		return err
	}
	api.OK(w, out)
	return nil
}
