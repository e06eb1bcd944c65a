package identity

import (
	"context"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/mail"
	"github.com/agentbot/gateway/core/store"
)

// changePassword: POST /api/settings/password {currentPassword, newPassword}
// → {success: true}; every other session of the user is revoked, and every
// JWT issued before (a new credential generation).
func (s *Service) changePassword(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	var req struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	if req.CurrentPassword == "" {
		return api.Validation("currentPassword is required")
	}
	if err := checkPassword("newPassword", req.NewPassword); err != nil {
		return err
	}
	hash, err := s.Store.PasswordHash(r.Context(), p.UserID)
	if err != nil {
		return storeErr(err, "User not found")
	}
	if !s.Passwords.Check(hash, req.CurrentPassword) {
		return api.Unauthorized(api.CodeInvalidCredentials, "Current password is incorrect")
	}
	newHash, err := s.Passwords.Hash(req.NewPassword)
	if err != nil {
		return err
	}
	if err := s.Store.SetPassword(r.Context(), p.UserID, newHash, p.SessionID); err != nil {
		return storeErr(err, "User not found")
	}
	s.Auth.ForgetUser(p.UserID)
	api.OK(w, map[string]any{"success": true})
	return nil
}

const forgotMessage = "If an account exists, a reset link has been sent"

// forgotPassword: POST /api/auth/forgot-password {email} → always the same 200,
// so the answer never tells whether an account exists. The token is made and
// mailed in the background for the same reason (timing).
func (s *Service) forgotPassword(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := s.Bots.decode(r, &req); err != nil {
		return err
	}
	email, err := normEmail(req.Email)
	if err != nil {
		return err
	}
	s.background(r, "password reset mail", func(ctx context.Context) error { return s.sendReset(ctx, email) })
	api.OK(w, map[string]any{"message": forgotMessage})
	return nil
}

func (s *Service) sendReset(ctx context.Context, email string) error {
	cred, err := s.Store.CredentialByEmail(ctx, email)
	if errorsIs(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if isWalletEmail(cred.Email) {
		return nil // a stand-in address of a wallet account: nobody reads it
	}
	ttl := s.ResetTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	token := auth.NewToken()
	if err := s.Store.CreatePasswordReset(ctx, cred.UserID, auth.Digest(token), s.now().Add(ttl)); err != nil {
		return err
	}
	link := s.PublicURL + "/reset-password?token=" + token
	return s.Mail.Send(ctx, mail.Message{
		To:      cred.Email,
		Subject: "Reset your Agentbot password",
		Text: "Someone asked to reset the password of your Agentbot account.\n\n" +
			"To choose a new password, open this link within " + ttl.String() + ":\n\n" + link + "\n\n" +
			"Or POST {\"token\": \"" + token + "\", \"password\": \"…\"} to /api/auth/reset-password.\n\n" +
			"If you did not ask for this, ignore this message; your password is unchanged.\n",
	})
}

// resetPassword: POST /api/auth/reset-password {token, password} → 200; an
// unknown, used or expired token is 400 INVALID_TOKEN. All sessions are
// revoked, and every JWT.
func (s *Service) resetPassword(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return api.Validation("Token is required")
	}
	if err := checkPassword("Password", req.Password); err != nil {
		return err
	}
	errInvalid := api.BadRequest(api.CodeInvalidToken, "Invalid or expired reset token")
	// The token is checked before the password is hashed: a made-up token
	// costs a lookup, not a bcrypt.
	digest := auth.Digest(req.Token)
	if err := s.Store.CheckPasswordReset(r.Context(), digest); err != nil {
		if errorsIs(err, store.ErrTokenInvalid) {
			return errInvalid
		}
		return err
	}
	hash, err := s.Passwords.Hash(req.Password)
	if err != nil {
		return err
	}
	userID, err := s.Store.ResetPassword(r.Context(), digest, hash)
	if err != nil {
		if errorsIs(err, store.ErrTokenInvalid) {
			return errInvalid
		}
		return err
	}
	s.Auth.ForgetUser(userID)
	api.OK(w, map[string]any{"message": "Password reset successfully"})
	return nil
}
