package agents

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/eas"
	"github.com/agentbot/gateway/core/ens"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/store"
)

// Verification configures agent verification (/api/agents/:id/verify);
// README.md ("Agent verification") describes the types and their checks.
type Verification struct {
	// Chain reads EAS and Coinbase Verifications and checks smart-wallet
	// signatures (EVM_RPC_URL); nil: those checks answer 503.
	Chain VerifyChain
	// ENSChain reads ENS (ENS_RPC_URL, else Chain).
	ENSChain VerifyChain
	// EAS is the EAS contract on Chain; Schemas and Attesters the eas
	// type's allow-lists (empty: any).
	EAS       evm.Address
	Schemas   [][32]byte
	Attesters []evm.Address
	// CoinbaseIndexer, CoinbaseAttester and CoinbaseSchema: the coinbase
	// type's attestation index, attester and schema.
	CoinbaseIndexer  evm.Address
	CoinbaseAttester evm.Address
	CoinbaseSchema   [32]byte
	// ENSRegistry is ENS's registry on ENSChain.
	ENSRegistry evm.Address
	// ChallengeTTL is how long a challenge may be used; 10 minutes when zero.
	ChallengeTTL time.Duration
}

// VerifyChain is what verification asks of a chain (chain.Client).
type VerifyChain interface {
	CallContract(ctx context.Context, m chain.Msg, block string) ([]byte, error)
	Code(ctx context.Context, addr evm.Address, block string) ([]byte, error)
	ValidSignature(ctx context.Context, signer evm.Address, hash [32]byte, sig []byte) (bool, error)
}

// The verification types.
const (
	verifyEAS      = "eas"
	verifyCoinbase = "coinbase"
	verifyENS      = "ens"
	verifyWebAuthn = "webauthn"
)

// maxVerifySignature bounds a signature in bytes: a passkey wallet's
// signature carries WebAuthn data, and an ERC-6492 wrapping a factory call.
const maxVerifySignature = 8 << 10

func (s *Service) verifyRoutes() []route.Route {
	const get, post, del = http.MethodGet, http.MethodPost, http.MethodDelete
	return []route.Route{
		{Method: post, Path: "/api/agents/:id/verify/challenge", Handler: s.verifyChallenge, Access: route.User,
			Response: challengeAnswer{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "→ `{challenge, message, expiresAt}`: the wallet signs `message` (EIP-191) for the ens, coinbase and webauthn types (and eas with a wallet); single use, this agent only, 10 min"},
		{Method: get, Path: "/api/agents/:id/verify", Handler: s.getVerification, Access: route.User,
			Response: verificationAnswer{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "`{verified, verificationType, attestationUid, verifierAddress, verifiedAt, metadata}` (nulls when unverified)"},
		{Method: post, Path: "/api/agents/:id/verify", Handler: s.postVerification, Access: route.User, MaxBody: 32 << 10,
			Request: verifyRequest{}, Response: verificationAnswer{},
			Errors: []api.Code{api.CodeAgentNotFound, api.CodeValidationError, api.CodeVerifyTypeInvalid, api.CodeVerifyChallengeInvalid, api.CodeChainUnavailable,
				api.CodeVerifyAttestationExpired, api.CodeVerifyAttestationNotFound, api.CodeVerifyAttestationRevoked, api.CodeVerifyAttesterNotAllowed,
				api.CodeVerifyENSMismatch, api.CodeVerifyENSNoName, api.CodeVerifyENSUnsupportedName, api.CodeVerifyNotSmartWallet,
				api.CodeVerifyRecipientMismatch, api.CodeVerifySchemaNotAllowed, api.CodeVerifySignatureInvalid, api.CodeVerifyWalletUnproven},
			Summary: "`{verificationType: eas|coinbase|ens|webauthn, attestationUid?, walletAddress?, signature?, challenge?}` checked on chain → `{success, verified, …}`; failed checks 422 `VERIFY_*`, chain down 503"},
		{Method: del, Path: "/api/agents/:id/verify", Handler: s.deleteVerification, Access: route.User,
			Response: removedAnswer{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "removes the agent's verification → `{success, removed}`"},
	}
}

func (s *Service) challengeTTL() time.Duration {
	if s.Verify.ChallengeTTL > 0 {
		return s.Verify.ChallengeTTL
	}
	return 10 * time.Minute
}

// challengeMessage is the text a wallet signs (EIP-191) to prove itself for
// an agent: it names this server and the agent, so that a signature made for
// one cannot be replayed at another, and carries the single-use challenge.
func (s *Service) challengeMessage(agentID, challenge string) string {
	host := s.PublicURL
	if u, err := url.Parse(s.PublicURL); err == nil && u.Host != "" {
		host = u.Host
	}
	return host + " asks you to prove this wallet for agent " + agentID + ".\n\nChallenge: " + challenge
}

// verifyChallenge: POST /api/agents/:id/verify/challenge → {challenge,
// message, expiresAt}. The wallet signs message (personal_sign) and the
// client posts the signature with the challenge; it works once, for this
// agent, within ChallengeTTL. Only its digest is stored.
func (s *Service) verifyChallenge(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p := principal(r)
	a, err := s.agent(r.Context(), p.UserID, ps.ByName("id"))
	if err != nil {
		return err
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	c := hex.EncodeToString(b[:])
	exp := s.now().Add(s.challengeTTL())
	if err := s.Store.CreateVerifyChallenge(r.Context(), p.UserID, a.ID, auth.Digest(c), exp); err != nil {
		return agentErr(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	api.OK(w, map[string]any{"challenge": c, "message": s.challengeMessage(a.ID, c), "expiresAt": exp.Format(time.RFC3339)})
	return nil
}

// getVerification: GET /api/agents/:id/verify → the seed's shape, verified
// false and nulls when the agent has none.
func (s *Service) getVerification(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p := principal(r)
	a, err := s.agent(r.Context(), p.UserID, ps.ByName("id"))
	if err != nil {
		return err
	}
	v, err := s.Store.AgentVerification(r.Context(), p.UserID, a.ID)
	if errors.Is(err, store.ErrNotFound) {
		api.OK(w, map[string]any{"verified": false, "verificationType": nil, "attestationUid": nil,
			"verifierAddress": nil, "verifiedAt": nil, "metadata": nil})
		return nil
	} else if err != nil {
		return err
	}
	api.OK(w, map[string]any{"verified": true, "verificationType": v.Type, "attestationUid": v.AttestationUID,
		"verifierAddress": nullable(v.VerifierAddress), "verifiedAt": v.VerifiedAt.UTC().Format(time.RFC3339),
		"metadata": v.Metadata})
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// deleteVerification: DELETE /api/agents/:id/verify → {success, removed}.
func (s *Service) deleteVerification(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p := principal(r)
	a, err := s.agent(r.Context(), p.UserID, ps.ByName("id"))
	if err != nil {
		return err
	}
	removed, err := s.Store.DeleteAgentVerification(r.Context(), p.UserID, a.ID)
	if err != nil {
		return err
	}
	api.OK(w, map[string]any{"success": true, "removed": removed})
	return nil
}

type verifyRequest struct {
	VerificationType string `json:"verificationType"`
	Type             string `json:"type"` // accepted for verificationType
	AttestationUID   string `json:"attestationUid"`
	WalletAddress    string `json:"walletAddress"`
	Signature        string `json:"signature"`
	Challenge        string `json:"challenge"`
}

// verification is what a successful check found.
type verification struct {
	uid, verifier string
	meta          map[string]any
}

// postVerification: POST /api/agents/:id/verify {verificationType, …}. Each
// type's checks are in its function below; a success replaces the agent's
// evidence. Input problems are 400s, failed checks 422s with a reason code,
// and a chain that cannot be asked a 503 (never a 500).
func (s *Service) postVerification(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p := principal(r)
	ctx := r.Context()
	a, err := s.agent(ctx, p.UserID, ps.ByName("id"))
	if err != nil {
		return err
	}
	var req verifyRequest
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	typ := req.VerificationType
	if typ == "" {
		typ = req.Type
	}
	var v *verification
	switch typ {
	case verifyEAS:
		v, err = s.verifyEAS(ctx, p.UserID, a.ID, req)
	case verifyCoinbase:
		v, err = s.verifyCoinbase(ctx, p.UserID, a.ID, req)
	case verifyENS:
		v, err = s.verifyENS(ctx, p.UserID, a.ID, req)
	case verifyWebAuthn:
		v, err = s.verifyWebAuthn(ctx, p.UserID, a.ID, req)
	default:
		return api.CodeVerifyTypeInvalid.Err()
	}
	if err != nil {
		return err
	}
	now := s.now()
	v.meta["verifiedAt"] = now.Format(time.RFC3339)
	meta, err := json.Marshal(v.meta)
	if err != nil {
		return err
	}
	if err := s.Store.SetAgentVerification(ctx, p.UserID, store.AgentVerification{AgentID: a.ID, Type: typ,
		AttestationUID: v.uid, VerifierAddress: v.verifier, Metadata: meta, VerifiedAt: now}); err != nil {
		return agentErr(err)
	}
	api.OK(w, map[string]any{"success": true, "verified": true, "verificationType": typ, "attestationUid": v.uid,
		"verifierAddress": nullable(v.verifier), "verifiedAt": now.Format(time.RFC3339), "metadata": json.RawMessage(meta)})
	return nil
}

// unavailable is the answer when a chain cannot be asked: logged, 503.
func (s *Service) unavailable(ctx context.Context, what string, err error) error {
	s.log().WarnContext(ctx, "agent verification: chain unavailable", "check", what, "err", err)
	return api.CodeChainUnavailable.Err()
}

func noChain(what string) error {
	e := api.CodeChainUnavailable.Err()
	e.Message = "No chain is configured for " + what + " (EVM_RPC_URL)"
	return e
}

// verifyEAS: {attestationUid, walletAddress?, signature?, challenge?}. The
// attestation must pass eas.Check against the allow-lists; with a
// walletAddress it must be about that wallet, and the wallet must be the
// caller's: linked to the account by sign-in with Ethereum, or proved by a
// signed challenge.
func (s *Service) verifyEAS(ctx context.Context, userID, agentID string, req verifyRequest) (*verification, error) {
	uid, err := evm.ParseBytes32(strings.ToLower(req.AttestationUID))
	if err != nil {
		return nil, api.Validation("attestationUid must be 0x followed by 64 hex digits")
	}
	var wallet *evm.Address
	if req.WalletAddress != "" {
		addr, err := s.proveWallet(ctx, userID, agentID, req, true)
		if err != nil {
			return nil, err
		}
		wallet = &addr
	}
	att, err := s.attestation(ctx, uid, eas.Policy{Schemas: s.Verify.Schemas, Attesters: s.Verify.Attesters,
		Recipient: wallet, Now: s.now()})
	if err != nil {
		return nil, err
	}
	meta := attestationMeta(att)
	if wallet != nil {
		meta["walletAddress"] = wallet.Hex()
	}
	return &verification{uid: hexUID(uid), verifier: strings.ToLower(att.Attester.Hex()), meta: meta}, nil
}

// verifyCoinbase: {walletAddress, signature, challenge}. The wallet proves
// itself over a challenge, Coinbase's indexer names its attestation of the
// configured schema (Verified Account), and that attestation must pass the
// EAS checks with Coinbase as the attester and the wallet as the recipient.
func (s *Service) verifyCoinbase(ctx context.Context, userID, agentID string, req verifyRequest) (*verification, error) {
	if req.WalletAddress == "" || req.Signature == "" || req.Challenge == "" {
		return nil, api.Validation("coinbase needs walletAddress, signature and challenge (POST /api/agents/:id/verify/challenge)")
	}
	wallet, err := s.proveWallet(ctx, userID, agentID, req, false)
	if err != nil {
		return nil, err
	}
	if s.Verify.Chain == nil {
		return nil, noChain("Coinbase Verifications")
	}
	uid, err := eas.IndexedUID(ctx, s.Verify.Chain, s.Verify.CoinbaseIndexer, wallet, s.Verify.CoinbaseSchema)
	if err != nil {
		return nil, s.unavailable(ctx, "coinbase indexer", err)
	}
	if uid == ([32]byte{}) {
		return nil, api.Errorf(422, api.CodeVerifyAttestationNotFound,
			"Coinbase has no Verified Account attestation for %s", wallet.Hex())
	}
	att, err := s.attestation(ctx, uid, eas.Policy{Schemas: [][32]byte{s.Verify.CoinbaseSchema},
		Attesters: []evm.Address{s.Verify.CoinbaseAttester}, Recipient: &wallet, Now: s.now()})
	if err != nil {
		return nil, err
	}
	meta := attestationMeta(att)
	meta["walletAddress"] = wallet.Hex()
	meta["provider"] = "coinbase"
	return &verification{uid: hexUID(uid), verifier: strings.ToLower(wallet.Hex()), meta: meta}, nil
}

// verifyENS: {walletAddress, signature, challenge}. The wallet proves itself
// over a challenge, and its primary ENS name (reverse record, then the
// forward check) becomes the evidence.
func (s *Service) verifyENS(ctx context.Context, userID, agentID string, req verifyRequest) (*verification, error) {
	if req.WalletAddress == "" || req.Signature == "" || req.Challenge == "" {
		return nil, api.Validation("ens needs walletAddress, signature and challenge (POST /api/agents/:id/verify/challenge)")
	}
	if s.Verify.ENSChain == nil {
		return nil, noChain("ENS (ENS_RPC_URL)")
	}
	wallet, err := s.proveWalletOn(ctx, s.Verify.ENSChain, userID, agentID, req, false)
	if err != nil {
		return nil, err
	}
	name, err := ens.Resolver{Client: s.Verify.ENSChain, Registry: s.Verify.ENSRegistry}.PrimaryName(ctx, wallet)
	switch {
	case errors.Is(err, ens.ErrNoName):
		return nil, api.Errorf(422, api.CodeVerifyENSNoName, "%s has no ENS reverse record (primary name)", wallet.Hex())
	case errors.Is(err, ens.ErrUnsupportedName):
		return nil, api.Errorf(422, api.CodeVerifyENSUnsupportedName, "%s", strings.TrimPrefix(err.Error(), "ens: "))
	case errors.Is(err, ens.ErrForwardMismatch):
		return nil, api.Errorf(422, api.CodeVerifyENSMismatch, "%s's ENS name does not resolve back to it (%s)",
			wallet.Hex(), strings.TrimPrefix(err.Error(), "ens: the name does not resolve back to the address: "))
	case err != nil:
		return nil, s.unavailable(ctx, "ens", err)
	}
	return &verification{uid: "ens-" + strings.ToLower(wallet.Hex()), verifier: strings.ToLower(wallet.Hex()),
		meta: map[string]any{"provider": "ens", "name": name, "walletAddress": wallet.Hex()}}, nil
}

// verifyWebAuthn: {walletAddress, signature, challenge}. A passkey signs
// through a smart wallet (Coinbase Smart Wallet, Base Account), so the
// signature is checked by the chain's ERC-6492 validator (ERC-1271, or the
// wallet's own deployment for one not deployed yet), and the wallet must be a
// contract or a 6492-wrapped one: a plain EOA signature is not a passkey's.
func (s *Service) verifyWebAuthn(ctx context.Context, userID, agentID string, req verifyRequest) (*verification, error) {
	if req.WalletAddress == "" || req.Signature == "" || req.Challenge == "" {
		return nil, api.Validation("webauthn needs walletAddress, signature and challenge (POST /api/agents/:id/verify/challenge)")
	}
	if s.Verify.Chain == nil {
		return nil, noChain("smart-wallet signatures")
	}
	wallet, sig, err := s.checkChallengeSignature(ctx, s.Verify.Chain, userID, agentID, req, true)
	if err != nil {
		return nil, err
	}
	deployed := true
	if !evm.IsERC6492(sig) {
		code, err := s.Verify.Chain.Code(ctx, wallet, chain.Latest)
		if err != nil {
			return nil, s.unavailable(ctx, "webauthn code", err)
		}
		if len(code) == 0 {
			return nil, api.CodeVerifyNotSmartWallet.Err()
		}
	} else {
		deployed = false
	}
	if err := s.consumeChallenge(ctx, userID, agentID, req.Challenge); err != nil {
		return nil, err
	}
	return &verification{uid: "webauthn-" + strings.ToLower(wallet.Hex()), verifier: strings.ToLower(wallet.Hex()),
		meta: map[string]any{"provider": "webauthn", "walletAddress": wallet.Hex(), "deployed": deployed}}, nil
}

// proveWallet returns walletAddress once it is shown to be the caller's: by
// a signed challenge (on Chain), or, when linked is allowed and no signature
// is given, by being linked to the caller's account.
func (s *Service) proveWallet(ctx context.Context, userID, agentID string, req verifyRequest, linked bool) (evm.Address, error) {
	return s.proveWalletOn(ctx, s.Verify.Chain, userID, agentID, req, linked)
}

func (s *Service) proveWalletOn(ctx context.Context, c VerifyChain, userID, agentID string, req verifyRequest, linked bool) (evm.Address, error) {
	addr, err := evm.ParseAddress(req.WalletAddress)
	if err != nil {
		return addr, api.Validation("walletAddress must be 0x followed by 40 hex digits (EIP-55 if mixed case)")
	}
	if req.Signature == "" && linked {
		wallets, err := s.Store.Wallets(ctx, userID)
		if err != nil {
			return addr, err
		}
		lower := strings.ToLower(addr.Hex())
		if !slices.ContainsFunc(wallets, func(w store.Wallet) bool { return w.Address == lower }) {
			return addr, api.CodeVerifyWalletUnproven.Err()
		}
		return addr, nil
	}
	if _, _, err := s.checkChallengeSignature(ctx, c, userID, agentID, req, false); err != nil {
		return addr, err
	}
	return addr, s.consumeChallenge(ctx, userID, agentID, req.Challenge)
}

// checkChallengeSignature checks that req.Signature is req.WalletAddress's
// signature of the challenge message: by recovery for an EOA (unless
// chainOnly), else through c. The challenge must be usable; it is not used
// up here.
func (s *Service) checkChallengeSignature(ctx context.Context, c VerifyChain, userID, agentID string, req verifyRequest, chainOnly bool) (evm.Address, []byte, error) {
	addr, err := evm.ParseAddress(req.WalletAddress)
	if err != nil {
		return addr, nil, api.Validation("walletAddress must be 0x followed by 40 hex digits (EIP-55 if mixed case)")
	}
	if req.Challenge == "" {
		return addr, nil, api.Validation("challenge is required with a signature (POST /api/agents/:id/verify/challenge)")
	}
	digits, ok := strings.CutPrefix(req.Signature, "0x")
	sig, err := hex.DecodeString(digits)
	if !ok || err != nil || len(sig) == 0 || len(sig) > maxVerifySignature {
		return addr, nil, api.Validation("signature must be 0x followed by hex digits (at most 8 KiB)")
	}
	// A challenge we never issued costs a lookup, not a call to the chain.
	if ok, err := s.Store.VerifyChallengeUsable(ctx, userID, agentID, auth.Digest(req.Challenge)); err != nil {
		return addr, nil, err
	} else if !ok {
		return addr, nil, api.CodeVerifyChallengeInvalid.Err()
	}
	hash := evm.TextHash([]byte(s.challengeMessage(agentID, req.Challenge)))
	if !chainOnly && len(sig) == 65 {
		if signer, err := evm.RecoverSigner(hash, sig); err == nil && signer == addr {
			return addr, sig, nil
		}
	}
	if c == nil {
		return addr, nil, noChain("smart-wallet signatures")
	}
	valid, err := c.ValidSignature(ctx, addr, hash, sig)
	if err != nil {
		return addr, nil, s.unavailable(ctx, "signature", err)
	}
	if !valid {
		return addr, nil, api.Errorf(422, api.CodeVerifySignatureInvalid,
			"The signature is not %s's signature of the challenge message", addr.Hex())
	}
	return addr, sig, nil
}

// consumeChallenge uses the challenge up: exactly one request wins it.
func (s *Service) consumeChallenge(ctx context.Context, userID, agentID, challenge string) error {
	ok, err := s.Store.ConsumeVerifyChallenge(ctx, userID, agentID, auth.Digest(challenge))
	if err != nil {
		return err
	}
	if !ok {
		return api.CodeVerifyChallengeInvalid.Err() // used by a concurrent request, or expired meanwhile
	}
	return nil
}

// attestation reads uid from EAS and applies p; a failed check is a 422
// with its reason's code.
func (s *Service) attestation(ctx context.Context, uid [32]byte, p eas.Policy) (*eas.Attestation, error) {
	if s.Verify.Chain == nil {
		return nil, noChain("EAS")
	}
	att, err := eas.Get(ctx, s.Verify.Chain, s.Verify.EAS, uid)
	if err != nil {
		return nil, s.unavailable(ctx, "eas", err)
	}
	var ce *eas.CheckError
	if err := att.Check(p); errors.As(err, &ce) {
		code := map[eas.Reason]api.Code{eas.NotFound: api.CodeVerifyAttestationNotFound,
			eas.Revoked: api.CodeVerifyAttestationRevoked, eas.Expired: api.CodeVerifyAttestationExpired,
			eas.WrongRecipient: api.CodeVerifyRecipientMismatch, eas.SchemaNotAllowed: api.CodeVerifySchemaNotAllowed,
			eas.AttesterNotAllowed: api.CodeVerifyAttesterNotAllowed}[ce.Reason]
		msg := ce.Error()
		return nil, api.Errorf(422, code, "The %s", strings.TrimPrefix(msg, "eas: "))
	} else if err != nil {
		return nil, err
	}
	return att, nil
}

func attestationMeta(a *eas.Attestation) map[string]any {
	m := map[string]any{"schema": hexUID(a.Schema), "attester": a.Attester.Hex(), "recipient": a.Recipient.Hex(),
		"attestedAt": time.Unix(int64(a.Time), 0).UTC().Format(time.RFC3339), "revocable": a.Revocable}
	if a.ExpirationTime != 0 {
		m["expiresAt"] = time.Unix(int64(min(a.ExpirationTime, 1<<40)), 0).UTC().Format(time.RFC3339)
	}
	if a.RefUID != ([32]byte{}) {
		m["refUid"] = hexUID(a.RefUID)
	}
	return m
}

func hexUID(b [32]byte) string { return fmt.Sprintf("0x%x", b) }
