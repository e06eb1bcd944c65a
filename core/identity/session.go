package identity

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
)

type loginRequest struct {
	Email    string `json:"email" required:"true"`
	Password string `json:"password" required:"true"`
}

var errBadCredentials = api.Unauthorized(api.CodeInvalidCredentials, "Invalid email or password")

// login: POST /api/auth/login (and /api/auth/callback/credentials) {email,
// password} → sets the session cookie; 200 {user, csrfToken, expiresAt}. More
// than the allowed failures per IP or per account in the window → 429.
func (s *Service) login(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req loginRequest
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	email, err := normEmail(req.Email)
	if err != nil {
		return err
	}
	if req.Password == "" {
		return api.Validation("Password is required")
	}
	ctx := r.Context()
	// Each attempt is counted before the password is checked, per IP and per
	// account, and forgiven only if it succeeds: concurrent guesses cannot
	// all pass a check made before any of them was counted.
	reserved, err := s.reserveAttempt(ctx, "login:ip:"+s.ClientIP(r), "login:acct:"+email)
	if err != nil {
		return err
	}
	cred, err := s.Store.CredentialByEmail(ctx, email)
	hash := ""
	if err == nil {
		hash = cred.PasswordHash
	} else if !errorsIs(err, errNotFound) {
		s.forgive(ctx, reserved)
		return err
	}
	if !s.Passwords.Check(hash, req.Password) {
		return errBadCredentials
	}
	s.forgive(ctx, reserved)
	return s.startSession(w, r, cred.UserID, nil)
}

// reserveAttempt counts one sign-in attempt under each key, or answers 429
// (taking back what it counted) when any key has used its attempts. When the
// counter store is unavailable the attempt is let through, logged.
func (s *Service) reserveAttempt(ctx context.Context, keys ...string) ([]string, error) {
	var reserved []string
	for _, k := range keys {
		ok, retry, err := s.Failures.Reserve(ctx, k)
		if err != nil {
			s.log().WarnContext(ctx, "sign-in throttle unavailable", "err", err)
			continue
		}
		if !ok {
			s.forgive(ctx, reserved)
			e := *api.ErrRateLimited
			e.Message = "Too many failed sign-in attempts; try again later"
			e.Header = http.Header{"Retry-After": {itoa(int64(retry.Seconds()) + 1)}}
			return nil, &e
		}
		reserved = append(reserved, k)
	}
	return reserved, nil
}

func (s *Service) forgive(ctx context.Context, keys []string) {
	for _, k := range keys {
		if err := s.Failures.Forgive(ctx, k); err != nil {
			s.log().WarnContext(ctx, "sign-in throttle unavailable", "err", err)
		}
	}
}

// logoutAll: POST /api/auth/logout-all signs the user out everywhere: every
// session ends (this one too) and every JWT issued so far is refused (a new
// credential generation). API keys are not touched; delete them one by one.
func (s *Service) logoutAll(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	if err := s.Store.SignOutEverywhere(r.Context(), p.UserID); err != nil {
		return storeErr(err, "User not found")
	}
	s.Auth.ForgetUser(p.UserID)
	s.Auth.ClearSessionCookie(w)
	api.OK(w, map[string]any{"success": true})
	return nil
}

// logout: POST /api/auth/logout ends the cookie session (idempotent).
func (s *Service) logout(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err == api.ErrAuthRequired {
		s.Auth.ClearSessionCookie(w)
		api.OK(w, map[string]any{"success": true})
		return nil
	}
	if err != nil {
		return err
	}
	if p.Method == auth.MethodSession {
		if err := s.Store.DeleteSession(r.Context(), p.UserID, p.SessionID); err != nil {
			return err
		}
	}
	s.Auth.ClearSessionCookie(w)
	api.OK(w, map[string]any{"success": true})
	return nil
}

// csrf: GET /api/auth/csrf → {csrfToken} for the cookie session.
func (s *Service) csrf(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	tok, ok := auth.SessionCSRF(r, s.Auth)
	if !ok {
		return api.ErrAuthRequired
	}
	api.OK(w, map[string]any{"csrfToken": tok})
	return nil
}

// token: POST /api/auth/token → {token, tokenType, expiresAt} for a caller
// signed in by session or API key. A JWT cannot mint its own successor, so a
// leaked token cannot be renewed forever.
func (s *Service) token(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	if p.Method == auth.MethodJWT {
		return api.Forbidden(api.CodeTokenRenewalForbidden, "Sign in with a session or an API key to get a token")
	}
	tok, exp, err := s.Auth.JWT.Issue(p)
	if err != nil {
		return err
	}
	api.OK(w, map[string]any{"token": tok, "tokenType": "Bearer", "expiresAt": exp.UTC().Format(timeFormat)})
	return nil
}
