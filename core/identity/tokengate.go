package identity

import (
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/quickauth"
	"github.com/agentbot/gateway/core/tokengate"
)

type gateRequest struct {
	FID           json.RawMessage `json:"fid"`
	Address       string          `json:"address"`
	WalletAddress string          `json:"walletAddress"`
}

// tokenGatePost: POST /api/auth/token-gating/verify {address | walletAddress,
// fid?}. Never a 5xx for the chain: without an answer there is no access.
func (s *Service) tokenGatePost(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req gateRequest
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	raw := req.Address
	if raw == "" {
		raw = req.WalletAddress
	}
	addr, err := parseGateAddress(raw)
	if err != nil {
		return err
	}
	body := s.gateAnswer(r, addr)
	if len(req.FID) > 0 && string(req.FID) != "null" {
		fid, ok := quickauth.ParseFID(req.FID)
		if !ok {
			return api.Validation("fid must be a positive integer")
		}
		body["fid"] = fid
	}
	api.OK(w, body)
	return nil
}

// tokenGateGet: GET /api/auth/token-gating/verify?address=.
func (s *Service) tokenGateGet(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	addr, err := parseGateAddress(r.URL.Query().Get("address"))
	if err != nil {
		return err
	}
	api.OK(w, s.gateAnswer(r, addr))
	return nil
}

func parseGateAddress(s string) (evm.Address, error) {
	if s == "" {
		return evm.Address{}, api.Validation("address is required")
	}
	a, err := evm.ParseAddress(s)
	if err != nil {
		return evm.Address{}, api.Validation("address must be 0x followed by 40 hex digits (a correct EIP-55 checksum if mixed case)")
	}
	return a, nil
}

// gate is the configured gate, or one without a chain (no access for anyone).
func (s *Service) gate() *tokengate.Gate {
	if s.Gate == nil {
		return &tokengate.Gate{Symbol: "RAVE"}
	}
	return s.Gate
}

func (s *Service) gateAnswer(r *http.Request, addr evm.Address) map[string]any {
	g := s.gate()
	res := g.Check(r.Context(), addr)
	body := gateFields(g, addr, res)
	body["timestamp"] = s.now().Format(timeFormat)
	switch {
	case res.HasAccess:
		body["message"] = "Access granted"
	case res.Checked:
		body["message"] = "Insufficient " + g.Symbol + " balance"
	default:
		body["message"] = "The balance could not be read; no access"
	}
	return body
}

// gateFields describe a gate's answer for addr.
func gateFields(g *tokengate.Gate, addr evm.Address, res tokengate.Result) map[string]any {
	body := map[string]any{"address": addr.Hex(), "hasAccess": res.HasAccess, "tokenGated": true,
		"checked": res.Checked, "token": g.Symbol, "contractAddress": g.Contract.Hex(), "minTokens": g.Min}
	if res.MinBalance != nil {
		body["minBalance"] = res.MinBalance.String()
	}
	if res.Balance != nil {
		body["balance"] = res.Balance.String()
	}
	return body
}

// gateError is the 403 of a Farcaster sign-in refused by the gate, with
// Agentbot's fields (required, minBalance).
func gateError(g *tokengate.Gate, addr evm.Address, res tokengate.Result) error {
	e := api.CodeTokenGateFailed.Err()
	e.Message = "Token gating failed: " + addr.Hex() + " does not hold " + g.Min + " " + g.Symbol
	if !res.Checked {
		e.Message = "Token gating failed: the balance of " + addr.Hex() + " could not be read"
	}
	for k, v := range gateFields(g, addr, res) {
		e = e.With(k, v)
	}
	return e.With("required", g.Symbol)
}
