package identity

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/store"
)

type registerRequest struct {
	Email        string `json:"email" required:"true"`
	Password     string `json:"password" required:"true"`
	Name         string `json:"name"`
	ReferralCode string `json:"referralCode"`
}

// register: POST /api/register {email, password, name?, referralCode?} → 200
// {id, email, name, emailVerified: false}; a verification link is mailed to
// the address.
func (s *Service) register(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req registerRequest
	if err := s.Bots.decode(r, &req); err != nil {
		return err
	}
	email, err := normEmail(req.Email)
	if err != nil {
		return err
	}
	if isWalletEmail(email) {
		return errWalletEmail
	}
	if err := checkPassword("Password", req.Password); err != nil {
		return err
	}
	name := email
	if req.Name != "" {
		if name, err = checkName("Name", req.Name, 100); err != nil {
			return err
		}
	}
	referrer := ""
	if req.ReferralCode != "" {
		if !referralRE.MatchString(req.ReferralCode) {
			return api.Validation("Invalid referral code")
		}
		var err error
		if referrer, err = s.Store.ReferrerByCode(r.Context(), req.ReferralCode); errorsIs(err, store.ErrNotFound) {
			return api.BadRequest(api.CodeInvalidReferralCode, "Unknown referral code")
		} else if err != nil {
			return err
		}
	}
	hash, err := s.Passwords.Hash(req.Password)
	if err != nil {
		return err
	}
	u, err := s.Store.CreateUser(r.Context(), store.NewUser{Email: email, Name: name, PasswordHash: hash})
	if errorsIs(err, store.ErrConflict) {
		return api.Conflict(api.CodeUserExists, "User already exists")
	}
	if err != nil {
		return err
	}
	if referrer != "" {
		// Recorded now, paid (to both sides) when the address is verified.
		if err := s.Store.SetReferrer(r.Context(), u.ID, referrer); err != nil {
			s.log().ErrorContext(r.Context(), "referral", "user_id", u.ID, "err", err)
		}
	}
	s.background(r, "verification mail", func(ctx context.Context) error {
		return s.sendVerification(ctx, u.ID, u.Email, false)
	})
	api.OK(w, map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "emailVerified": false})
	return nil
}
