package identity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/mail"
	"github.com/agentbot/gateway/core/store"
)

func (s *Service) verifyTTL() time.Duration {
	if s.VerifyTTL > 0 {
		return s.VerifyTTL
	}
	return 24 * time.Hour
}

// sendVerification mails a fresh single-use token proving ownership of email
// to that address. Only the token's digest is stored.
func (s *Service) sendVerification(ctx context.Context, userID, email string, change bool) error {
	token := auth.NewToken()
	ttl := s.verifyTTL()
	if err := s.Store.CreateEmailVerification(ctx, userID, email, auth.Digest(token), s.now().Add(ttl)); err != nil {
		return err
	}
	what := "confirm the address of your new Agentbot account"
	if change {
		what = "confirm that this address should become your Agentbot account's address"
	}
	return s.Mail.Send(ctx, mail.Message{
		To:      email,
		Subject: "Verify your email address for Agentbot",
		Text: "Open this link within " + ttl.String() + " to " + what + ":\n\n" +
			s.PublicURL + "/verify-email?token=" + token + "\n\n" +
			"Or POST {\"token\": \"" + token + "\"} to /api/auth/verify-email.\n\n" +
			"If you did not ask for this, ignore this message.\n",
	})
}

// notifyChange tells the current address that a change to another one was
// asked for, so that a hijacked session cannot move the account quietly.
func (s *Service) notifyChange(ctx context.Context, current, next string) error {
	return s.Mail.Send(ctx, mail.Message{
		To:      current,
		Subject: "Your Agentbot account's email address is changing",
		Text: "Someone signed in to your Agentbot account asked to change its address to " + next + ".\n\n" +
			"The change happens only when that address is verified. If it was not you, change your password\n" +
			"and sign out everywhere (POST /api/auth/logout-all).\n",
	})
}

// verifyEmail: POST /api/auth/verify-email {token} → 200 {success, email,
// emailVerified}. The token alone is the credential (it came by mail). It
// verifies the account's address, or completes a change to a pending one
// (JWTs issued before are then refused). Unknown, used or expired → 400
// INVALID_TOKEN; a pending address another account took meanwhile → 409
// EMAIL_IN_USE. The first verified address of a referred account decides its
// referral.
func (s *Service) verifyEmail(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return api.Validation("Token is required")
	}
	v, err := s.Store.VerifyEmail(r.Context(), auth.Digest(req.Token))
	switch {
	case errorsIs(err, store.ErrTokenInvalid):
		return api.BadRequest(api.CodeInvalidToken, "Invalid or expired verification token")
	case errorsIs(err, store.ErrConflict):
		return api.Conflict(api.CodeEmailInUse, "Email already in use")
	case err != nil:
		return err
	}
	s.Auth.ForgetUser(v.UserID)
	if o, err := s.Store.SettleReferral(r.Context(), v.UserID, s.addressKey(v.Email), s.Referral); err != nil {
		s.log().ErrorContext(r.Context(), "referral", "user_id", v.UserID, "err", err)
	} else if o != store.ReferralNone {
		s.log().InfoContext(r.Context(), "referral decided", "user_id", v.UserID, "outcome", string(o))
	}
	api.OK(w, map[string]any{"success": true, "email": v.Email, "emailVerified": true})
	return nil
}

// resendVerification: POST /api/auth/verify-email/resend → 200 {success,
// email}: a new link to the pending address if there is one, else to the
// unverified address. Nothing to verify → 409 ALREADY_VERIFIED.
func (s *Service) resendVerification(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	u, err := s.Store.User(r.Context(), p.UserID)
	if err != nil {
		return storeErr(err, "User not found")
	}
	to, change := u.PendingEmail, true
	if to == "" {
		if u.EmailVerified {
			return api.Conflict(api.CodeAlreadyVerified, "Your email address is already verified")
		}
		to, change = u.Email, false
	}
	if isWalletEmail(to) {
		return api.Validation("This account signs in with a wallet or Farcaster and has no email address; set one with POST /api/settings {email}")
	}
	if canon, err := normEmail(to); err != nil || canon != to {
		// An address stored before addresses were canonical cannot be
		// verified as it is; the user sets it again.
		return api.Conflict(api.CodeEmailNotCanonical, "Set your email address again with POST /api/settings to verify it")
	}
	if err := s.reserveMail(r, u.ID, to); err != nil {
		return err
	}
	s.background(r, "verification mail", func(ctx context.Context) error {
		return s.sendVerification(ctx, u.ID, to, change)
	})
	api.OK(w, map[string]any{"success": true, "email": to})
	return nil
}

// reserveMail counts one requested verification mail for the account and for
// the recipient, or answers 429.
func (s *Service) reserveMail(r *http.Request, userID, to string) error {
	if s.Mails == nil {
		return nil
	}
	for _, k := range []string{"verify-mail:user:" + userID, "verify-mail:to:" + to} {
		ok, retry, err := s.Mails.Reserve(r.Context(), k)
		if err != nil {
			s.log().WarnContext(r.Context(), "verification mail throttle unavailable", "err", err)
			continue
		}
		if !ok {
			e := *api.ErrRateLimited
			e.Message = "Too many verification mails; try again later"
			e.Header = http.Header{"Retry-After": {itoa(int64(retry.Seconds()) + 1)}}
			return &e
		}
	}
	return nil
}

// addressKey is the keyed digest under which an address's referral bonus is
// recorded. Sub-addresses (the "+tag" part) are dropped first: they all reach
// one mailbox, so they earn one bonus.
func (s *Service) addressKey(email string) []byte {
	local, domain, _ := strings.Cut(email, "@")
	local, _, _ = strings.Cut(local, "+")
	m := hmac.New(sha256.New, s.AddressKey)
	m.Write([]byte("referral address\x00" + local + "@" + domain))
	return m.Sum(nil)
}
