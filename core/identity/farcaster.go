package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/quickauth"
	"github.com/agentbot/gateway/core/store"
)

// QuickAuth verifies Farcaster Quick Auth tokens (quickauth.Verifier).
type QuickAuth interface {
	Verify(ctx context.Context, token string) (*quickauth.Claims, error)
}

const (
	// farcasterEmailDomain makes the stand-in address of an account made by
	// a Farcaster sign-in (<fid>@farcaster.invalid): the .invalid top-level
	// domain can never receive mail, and nobody may claim such an address.
	farcasterEmailDomain = "@farcaster.invalid"
	// farcasterTokenTTL is the life of the bearer token a Farcaster sign-in
	// or refresh returns (as Agentbot's: a day).
	farcasterTokenTTL = 24 * time.Hour
)

type farcasterRequest struct {
	FIDToken string `json:"fidToken" required:"true"`
	Address  string `json:"address"`
	// Link binds the FID to the signed-in caller's account instead of
	// signing in as the FID's own account.
	Link bool `json:"link"`
}

func (s *Service) farcasterVerifyInfo(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	api.OK(w, map[string]any{
		"endpoint":    "/api/auth/farcaster/verify",
		"methods":     []string{"POST"},
		"description": "Sign in with a Farcaster Quick Auth token (RS256 JWT); with address, also check token gating",
		"required":    []string{"fidToken"},
		"optional":    []string{"address", "link"},
		"issuer":      s.farcasterIssuer(),
		"audience":    s.FarcasterDomain,
	})
	return nil
}

func (s *Service) farcasterRefreshInfo(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	api.OK(w, map[string]any{
		"endpoint":    "/api/auth/farcaster/refresh",
		"methods":     []string{"POST"},
		"description": "A new 24-hour bearer token for a Farcaster account that signed in, from a still valid Quick Auth token",
		"required":    []string{"refreshToken"},
		"expiresIn":   int(farcasterTokenTTL / time.Second),
	})
	return nil
}

func (s *Service) farcasterIssuer() string {
	if s.FarcasterOrigin == "" {
		return quickauth.DefaultOrigin
	}
	return s.FarcasterOrigin
}

// farcasterVerify: POST /api/auth/farcaster/verify {fidToken, address?,
// link?}. The Quick Auth token is verified (quickauth); with address, the
// token gate must let it through (403 otherwise, as Agentbot answers);
// then the caller is signed in to the FID's account (made on first sign-in)
// as a password sign-in does, and also receives a 24-hour bearer token for
// clients that cannot keep cookies (Mini Apps in a frame). With link, the FID
// is bound to the signed-in caller's account instead.
func (s *Service) farcasterVerify(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req farcasterRequest
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	if req.FIDToken == "" {
		return api.Unauthorized(api.CodeFarcasterTokenInvalid, "fidToken is required")
	}
	var addr evm.Address
	if req.Address != "" {
		a, err := evm.ParseAddress(req.Address)
		if err != nil {
			return api.Validation("address must be 0x followed by 40 hex digits (a correct EIP-55 checksum if mixed case)")
		}
		addr = a
	}
	ctx := r.Context()
	var p *auth.Principal
	if req.Link {
		// Checked first, and with CSRF for a cookie session, for the same
		// reason as a wallet link.
		var err error
		if p, err = auth.Require(r); err != nil {
			return err
		}
	}
	claims, err := s.verifyFIDToken(ctx, req.FIDToken)
	if err != nil {
		return err
	}
	if p != nil {
		if err := s.Store.LinkFID(ctx, p.UserID, claims.FID); errorsIs(err, store.ErrConflict) {
			return api.CodeFIDInUse.Err()
		} else if err != nil {
			return storeErr(err, "User not found")
		}
		api.OK(w, map[string]any{"success": true, "fid": claims.FID})
		return nil
	}
	extra := map[string]any{"success": true, "fid": claims.FID, "tokenGated": false, "accessLevel": "basic",
		"message": "Farcaster verification successful"}
	if req.Address != "" {
		g := s.gate()
		if res := g.Check(ctx, addr); !res.HasAccess {
			return gateError(g, addr, res)
		}
		extra["address"] = addr.Hex()
		// The address is the caller's word unless the auth server put it in
		// the token: gating is reported, and grants nothing by itself.
		extra["addressVerified"] = strings.EqualFold(claims.Address, addr.Hex())
		extra["tokenGated"], extra["accessLevel"] = true, "premium"
	}
	userID, created, err := s.farcasterAccount(ctx, claims.FID)
	if err != nil {
		return err
	}
	tok, exp, err := s.farcasterToken(ctx, userID)
	if err != nil {
		return err
	}
	extra["created"] = created
	extra["sessionToken"], extra["tokenType"] = tok, "Bearer"
	extra["sessionTokenExpiresAt"] = exp.UTC().Format(timeFormat)
	return s.startSession(w, r, userID, extra)
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken" required:"true"`
}

// farcasterRefresh: POST /api/auth/farcaster/refresh {refreshToken}. The
// refresh token is a Quick Auth token, bare or, as Agentbot's clients send
// it, base64 of JSON {fidToken}; it is verified in full like a sign-in, so a
// session is never extended past what Farcaster still vouches for. It
// returns a new 24-hour bearer token for the FID's account; it never creates
// one.
func (s *Service) farcasterRefresh(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req refreshRequest
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return api.Validation("refreshToken is required")
	}
	token := req.RefreshToken
	if strings.Count(token, ".") != 2 {
		var wrapped struct {
			FIDToken string `json:"fidToken"`
		}
		raw, err := decodeBase64(token)
		if err != nil || json.Unmarshal(raw, &wrapped) != nil || wrapped.FIDToken == "" {
			return api.Unauthorized(api.CodeFarcasterTokenInvalid, "refreshToken must be a Quick Auth token, or base64 of JSON {fidToken}")
		}
		token = wrapped.FIDToken
	}
	ctx := r.Context()
	claims, err := s.verifyFIDToken(ctx, token)
	if err != nil {
		return err
	}
	userID, err := s.Store.UserByFID(ctx, claims.FID)
	if errorsIs(err, store.ErrNotFound) {
		return api.Unauthorized(api.CodeFarcasterTokenInvalid, "This Farcaster account has not signed in yet; use POST /api/auth/farcaster/verify")
	} else if err != nil {
		return err
	}
	tok, exp, err := s.farcasterToken(ctx, userID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	api.OK(w, map[string]any{"success": true, "sessionToken": tok, "tokenType": "Bearer", "fid": claims.FID,
		"expiresIn": int(farcasterTokenTTL / time.Second), "expiresAt": exp.UTC().Format(timeFormat),
		"message": "Token refreshed successfully"})
	return nil
}

func decodeBase64(s string) ([]byte, error) {
	if len(s) > 2*quickauth.MaxToken {
		return nil, errors.New("too long")
	}
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// verifyFIDToken verifies a Quick Auth token, mapping each refusal to its
// 401 code.
func (s *Service) verifyFIDToken(ctx context.Context, token string) (*quickauth.Claims, error) {
	if s.Farcaster == nil {
		return nil, api.Unauthorized(api.CodeFarcasterTokenInvalid, "Farcaster sign-in is not configured on this server")
	}
	claims, err := s.Farcaster.Verify(ctx, token)
	var qe *quickauth.Error
	if errors.As(err, &qe) {
		code := map[quickauth.Reason]api.Code{
			quickauth.Algorithm: api.CodeFarcasterAlgorithmRefused, quickauth.Audience: api.CodeFarcasterAudienceMismatch,
			quickauth.Expired: api.CodeFarcasterTokenExpired, quickauth.Issuer: api.CodeFarcasterIssuerMismatch,
			quickauth.Signature: api.CodeFarcasterSignatureInvalid, quickauth.Subject: api.CodeFarcasterSubjectInvalid,
			quickauth.UnknownKey: api.CodeFarcasterKeyUnknown,
		}[qe.Reason]
		if code == "" {
			code = api.CodeFarcasterTokenInvalid
		}
		msg := strings.TrimPrefix(qe.Error(), "quickauth: ")
		return nil, api.Unauthorized(code, "Farcaster token refused: "+msg)
	}
	return claims, err
}

// farcasterAccount returns the account fid signs in to: the one it is bound
// to, else a new passwordless one.
func (s *Service) farcasterAccount(ctx context.Context, fid int64) (userID string, created bool, err error) {
	for range 2 { // a concurrent first sign-in may create the account between the look-up and the insert
		userID, err = s.Store.UserByFID(ctx, fid)
		if err == nil || !errorsIs(err, store.ErrNotFound) {
			return userID, false, err
		}
		u, err := s.Store.CreateFarcasterUser(ctx, store.NewUser{Email: fmt.Sprintf("%d%s", fid, farcasterEmailDomain),
			Name: fmt.Sprintf("Farcaster:%d", fid)}, fid)
		if err == nil {
			return u.ID, true, nil
		}
		if !errorsIs(err, store.ErrConflict) {
			return "", false, err
		}
	}
	// Left: an account already holds the stand-in address without the FID.
	return "", false, api.CodeFIDInUse.Err()
}

// farcasterToken issues the 24-hour bearer token (a gateway JWT) of userID.
func (s *Service) farcasterToken(ctx context.Context, userID string) (string, time.Time, error) {
	u, err := s.Store.User(ctx, userID)
	if err != nil {
		return "", time.Time{}, err
	}
	j := s.Auth.JWT
	j.TTL = farcasterTokenTTL
	return j.Issue(s.Auth.Owner(u))
}
