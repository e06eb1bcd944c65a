package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/siwe"
	"github.com/agentbot/gateway/core/store"
)

// SIWE configures sign-in with Ethereum (EIP-4361); README.md ("Wallets and
// sign-in with Ethereum") describes the rules.
type SIWE struct {
	// ChainIDs are the chains a sign-in message may name; DefaultSIWEChains
	// when empty.
	ChainIDs []uint64
	// Chain checks the signatures of smart wallets (ERC-1271, and ERC-6492
	// for wallets not deployed yet) on its own chain; nil: EOAs only.
	Chain SignatureChecker
	// NonceTTL is how long a nonce may be used; 10 minutes when zero.
	NonceTTL time.Duration
}

// SignatureChecker checks any signature on one chain (chain.Client).
type SignatureChecker interface {
	ChainID(ctx context.Context) (uint64, error)
	ValidSignature(ctx context.Context, signer evm.Address, hash [32]byte, sig []byte) (bool, error)
}

// DefaultSIWEChains are Base and Base Sepolia.
var DefaultSIWEChains = []uint64{8453, 84532}

const (
	// walletEmailDomain makes the stand-in address of an account made by a
	// wallet sign-in (<lower-case address>@wallet.base.org, as Agentbot
	// names them). No mail is ever sent there and nobody may claim one.
	walletEmailDomain = "@wallet.base.org"
	// siweSkew is the clock difference tolerated for times in the future.
	siweSkew = time.Minute
	// maxSignature bounds a signature in bytes: an ERC-6492 wrapping carries
	// a factory call, a few hundred bytes in practice.
	maxSignature = 8 << 10
)

// isWalletEmail reports a stand-in address of an account made by a wallet or
// a Farcaster sign-in.
func isWalletEmail(email string) bool {
	e := strings.ToLower(email)
	return strings.HasSuffix(e, walletEmailDomain) || strings.HasSuffix(e, farcasterEmailDomain)
}

var errWalletEmail = api.Validation("Addresses @wallet.base.org and @farcaster.invalid are reserved for accounts that sign in with Ethereum or Farcaster")

func (s *Service) nonceTTL() time.Duration {
	if s.SIWE.NonceTTL > 0 {
		return s.SIWE.NonceTTL
	}
	return 10 * time.Minute
}

// nonce: GET or POST /api/auth/nonce → {nonce, expiresAt}: 22 random letters
// and digits (about 130 bits), usable once within 10 minutes, by whichever
// gateway node receives the sign-in. Only its digest is stored.
func (s *Service) nonce(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	n := newNonce()
	exp := s.now().Add(s.nonceTTL())
	if err := s.Store.CreateSIWENonce(r.Context(), auth.Digest(n), exp); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	api.OK(w, map[string]any{"nonce": n, "expiresAt": exp.Format(timeFormat)})
	return nil
}

func newNonce() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [22]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // 256 = 4·62 + 8: a negligible bias
	}
	return string(b[:])
}

type walletRequest struct {
	Message   string `json:"message" required:"true"`
	Signature string `json:"signature" required:"true"`
	// Link binds the wallet to the signed-in caller's account instead of
	// signing in as the wallet's own account.
	Link bool `json:"link"`
}

// walletCallback: POST /api/auth/callback/wallet {message, signature, link?}.
// The message is parsed strictly and checked (domain, URI, chain, times),
// its nonce must be one we issued and unused, and the signature must be the
// address's: an EOA by recovery, a smart wallet through the chain. Then the
// nonce is used up and the caller is signed in to the wallet's account (made
// on first sign-in) exactly as a password sign-in does; with link, the wallet
// is bound to the signed-in caller's account instead.
func (s *Service) walletCallback(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req walletRequest
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	if req.Message == "" || req.Signature == "" {
		return api.Validation("message and signature are required")
	}
	m, err := siwe.Parse(req.Message)
	if err != nil {
		return api.BadRequest(api.CodeSIWEMessageInvalid, "Not a valid EIP-4361 sign-in message: "+strings.TrimPrefix(err.Error(), "siwe: "))
	}
	sig, err := decodeSignature(req.Signature)
	if err != nil {
		return err
	}
	origin, err := url.Parse(s.PublicURL)
	if err != nil {
		return err
	}
	chains := s.SIWE.ChainIDs
	if len(chains) == 0 {
		chains = DefaultSIWEChains
	}
	if err := m.Check(siwe.Expect{Origin: origin, ChainIDs: chains, Now: s.now(),
		MaxAge: s.nonceTTL() + siweSkew, Skew: siweSkew}); err != nil {
		return siweError(err)
	}
	ctx := r.Context()
	var p *auth.Principal
	if req.Link {
		// Checked first, and with CSRF for a cookie session: otherwise a page
		// could make a signed-in browser post someone else's wallet sign-in
		// and bind that wallet to the victim's account.
		if p, err = auth.Require(r); err != nil {
			return err
		}
	}
	digest := auth.Digest(m.Nonce)
	errNonce := api.Unauthorized(api.CodeSIWENonceInvalid, "Unknown, used or expired nonce; get a new one from GET /api/auth/nonce")
	// A nonce we never issued costs a lookup, not a call to the chain.
	if ok, err := s.Store.SIWENonceUsable(ctx, digest); err != nil {
		return err
	} else if !ok {
		return errNonce
	}
	if err := s.verifyWalletSignature(ctx, m, evm.TextHash([]byte(req.Message)), sig); err != nil {
		return err
	}
	if ok, err := s.Store.ConsumeSIWENonce(ctx, digest); err != nil {
		return err
	} else if !ok {
		return errNonce // used by a concurrent request, or expired meanwhile
	}
	address := strings.ToLower(m.Address.Hex())
	if p != nil {
		if err := s.Store.LinkWallet(ctx, p.UserID, address, int64(m.ChainID)); errorsIs(err, store.ErrConflict) {
			return api.Conflict(api.CodeWalletInUse, "This wallet is linked to another account")
		} else if err != nil {
			return storeErr(err, "User not found")
		}
		api.OK(w, map[string]any{"success": true, "address": m.Address.Hex(), "chainId": m.ChainID})
		return nil
	}
	userID, created, err := s.walletAccount(ctx, address, int64(m.ChainID))
	if err != nil {
		return err
	}
	return s.startSession(w, r, userID, map[string]any{"address": m.Address.Hex(), "chainId": m.ChainID, "created": created})
}

// decodeSignature reads "0x" and an even number of hex digits: 65 bytes for
// an EOA, more for a smart wallet.
func decodeSignature(s string) ([]byte, error) {
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok || len(digits) > 2*maxSignature {
		return nil, api.Validation("signature must be 0x followed by hex digits (at most 8 KiB)")
	}
	sig, err := hex.DecodeString(digits)
	if err != nil || len(sig) == 0 {
		return nil, api.Validation("signature must be 0x followed by hex digits (at most 8 KiB)")
	}
	return sig, nil
}

func siweError(err error) error {
	var ce *siwe.CheckError
	if !errors.As(err, &ce) {
		return err
	}
	code := map[siwe.Reason]api.Code{siwe.Domain: api.CodeSIWEDomainMismatch, siwe.Chain: api.CodeSIWEChainUnsupported,
		siwe.Expired: api.CodeSIWEExpired, siwe.NotYetValid: api.CodeSIWENotYetValid}[ce.Reason]
	msg := strings.TrimPrefix(ce.Error(), "siwe: ")
	return api.Unauthorized(code, strings.ToUpper(msg[:1])+msg[1:])
}

// verifyWalletSignature accepts sig when it is m.Address's signature of hash
// (the message's EIP-191 digest): by recovery for an EOA, otherwise through
// the chain (one call that covers ERC-1271 and ERC-6492), on the message's
// own chain only, as EIP-4361 asks.
func (s *Service) verifyWalletSignature(ctx context.Context, m *siwe.Message, hash [32]byte, sig []byte) error {
	if len(sig) == 65 {
		if signer, err := evm.RecoverSigner(hash, sig); err == nil && signer == m.Address {
			return nil
		}
	}
	errSig := api.Unauthorized(api.CodeSIWESignatureInvalid, "The signature is not "+m.Address.Hex()+"'s signature of the message")
	if s.SIWE.Chain == nil {
		errSig.Message += " (smart-wallet signatures are not checked: EVM_RPC_URL is not set)"
		return errSig
	}
	chainID, err := s.SIWE.Chain.ChainID(ctx)
	if err != nil {
		s.log().WarnContext(ctx, "sign-in with Ethereum: chain unavailable", "err", err)
		return api.CodeChainUnavailable.Err()
	}
	if chainID != m.ChainID {
		return api.Unauthorized(api.CodeSIWEChainUnsupported, fmt.Sprintf(
			"Smart-wallet signatures are checked on chain %d only; this message is for chain %d", chainID, m.ChainID))
	}
	ok, err := s.SIWE.Chain.ValidSignature(ctx, m.Address, hash, sig)
	if err != nil {
		s.log().WarnContext(ctx, "sign-in with Ethereum: chain unavailable", "err", err)
		return api.CodeChainUnavailable.Err()
	}
	if !ok {
		return errSig
	}
	return nil
}

// walletAccount returns the account address signs in to: the one it is
// bound to; else a passwordless account named after it by an earlier wallet
// sign-in (now bound); else a new one.
func (s *Service) walletAccount(ctx context.Context, address string, chainID int64) (userID string, created bool, err error) {
	for range 2 { // a concurrent first sign-in may create the account between the look-up and the insert
		userID, err = s.Store.UserByWallet(ctx, address)
		if err == nil || !errorsIs(err, store.ErrNotFound) {
			return userID, false, err
		}
		email := address + walletEmailDomain
		if id, err := s.Store.PasswordlessUserByEmail(ctx, email); err == nil {
			if err := s.Store.LinkWallet(ctx, id, address, chainID); err == nil {
				return id, false, nil
			} else if !errorsIs(err, store.ErrConflict) {
				return "", false, err
			}
			continue
		} else if !errorsIs(err, store.ErrNotFound) {
			return "", false, err
		}
		u, err := s.Store.CreateWalletUser(ctx, store.NewUser{Email: email, Name: "Wallet:" + address[:6] + "..." + address[38:]},
			address, chainID)
		if err == nil {
			return u.ID, true, nil
		}
		if !errorsIs(err, store.ErrConflict) {
			return "", false, err
		}
	}
	// Left: an account with a password holds the wallet's stand-in address.
	return "", false, api.Conflict(api.CodeWalletInUse,
		"Another account holds this wallet's address; sign in to it and link the wallet with link: true")
}

// startSession signs userID in with a new cookie session and answers as a
// password sign-in does: {user, csrfToken, expiresAt} and extra.
func (s *Service) startSession(w http.ResponseWriter, r *http.Request, userID string, extra map[string]any) error {
	ctx := r.Context()
	token := auth.NewToken()
	exp := s.now().Add(s.sessionTTL())
	if _, err := s.Store.CreateSession(ctx, userID, auth.Digest(token), exp); err != nil {
		return err
	}
	u, err := s.Store.User(ctx, userID)
	if err != nil {
		return err
	}
	s.Auth.SetSessionCookie(w, token, exp)
	body := map[string]any{
		"user":      map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "emailVerified": u.EmailVerified},
		"csrfToken": s.Auth.CSRFToken(token),
		"expiresAt": exp.Format(timeFormat),
	}
	for k, v := range extra {
		body[k] = v
	}
	api.OK(w, body)
	return nil
}
