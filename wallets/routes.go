package wallets

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/plugins/wallet"
	"github.com/agentbot/gateway/sdk/provider"
)

// Routes are the seed's /api/wallet* endpoints, on the caller's own wallet.
func (s *Service) Routes() []route.Route {
	return []route.Route{
		{Method: http.MethodGet, Path: "/api/wallet", Handler: s.get, Access: route.User,
			Response: walletDoc{},
			Summary:  "Your wallet: address, USDC balance, network (hasWallet false before one is made)"},
		{Method: http.MethodPost, Path: "/api/wallet", Handler: s.action, Access: route.User,
			Request: actionRequest{Action: "create"}, Response: actionAnswer{},
			Errors:  []api.Code{api.CodeInvalidAction, api.CodeWalletExists, api.CodeWalletNotFound, api.CodeSeedExportDisabled, api.CodePluginError, api.CodePluginUnavailable, api.CodePluginTimeout},
			Summary: "{action}: create a wallet, get_seed (address only), export_seed (always 403)"},
		{Method: http.MethodGet, Path: "/api/wallet/address", Handler: s.address, Access: route.User,
			Response: addressAnswer{}, Errors: []api.Code{api.CodePluginError, api.CodePluginUnavailable, api.CodePluginTimeout},
			Summary: "Your wallet's address, made on first use"},
		{Method: http.MethodPost, Path: "/api/wallet/create", Handler: s.createRoute, Access: route.User,
			Request: emailRequest{}, Response: createAnswer{}, Errors: []api.Code{api.CodeValidationError, api.CodePluginError, api.CodePluginUnavailable, api.CodePluginTimeout},
			Summary: "{email}: make your wallet (or return it) → walletAddress, networks"},
		{Method: http.MethodGet, Path: "/api/wallet/cdp", Handler: s.cdpInfo, Access: route.User,
			Response: cdpInfoAnswer{},
			Summary:  "The wallet backend's status and supported chains"},
		{Method: http.MethodPost, Path: "/api/wallet/cdp", Handler: s.cdpCreate, Access: route.User,
			Request: cdpRequest{}, Response: cdpAnswer{}, Errors: []api.Code{api.CodeKeyImportDisabled, api.CodePluginError, api.CodePluginUnavailable, api.CodePluginTimeout},
			Summary: "Make your wallet (or return it); importing a privateKey is refused"},
	}
}

func (s *Service) caller(r *http.Request) (provider.Caller, error) {
	p, err := auth.Require(r)
	if err != nil {
		return provider.Caller{}, err
	}
	return provider.Caller{UserID: p.UserID, Email: p.Email, RequestID: api.RequestID(r.Context())}, nil
}

// own is the caller's wallet, or nil.
func (s *Service) own(ctx context.Context, uid string) (*store.WalletKey, error) {
	k, err := s.Store.WalletKey(ctx, uid, "")
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return k, err
}

func (s *Service) ensureHTTP(ctx context.Context, c provider.Caller) (*store.WalletKey, error) {
	k, pe, err := s.ensure(ctx, c, "")
	if err != nil {
		return nil, err
	}
	if pe != nil {
		return nil, plainError(pe)
	}
	return k, nil
}

func (s *Service) get(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	c, err := s.caller(r)
	if err != nil {
		return err
	}
	k, err := s.own(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	if k == nil {
		api.JSON(w, http.StatusOK, map[string]any{"address": nil, "balance": "0", "network": s.Network, "hasWallet": false,
			"message": `No wallet yet: POST /api/wallet {"action":"create"} makes one`})
		return nil
	}
	body := map[string]any{"address": checksum(k.Address), "balance": "0", "network": s.Network, "hasWallet": true,
		"createdAt": k.CreatedAt.UTC().Format(time.RFC3339)}
	// The balance is USDC in whole units ("1.5"); without a chain it is
	// reported unknown rather than guessed.
	resp, err := s.call(r.Context(), wallet.CapBalance, c, k, nil)
	if err == nil && resp.Error == nil {
		var b wallet.BalanceOutput
		if json.Unmarshal(resp.Output, &b) == nil {
			body["balance"] = units(b.USDC, b.USDCDecimals)
			body["balanceWei"] = b.ETH
		}
	} else {
		body["balanceUnavailable"] = true
	}
	api.JSON(w, http.StatusOK, body)
	return nil
}

// units writes base units as a decimal ("1500000", 6 → "1.5").
func units(base string, decimals int) string {
	n, ok := new(big.Int).SetString(base, 10)
	if !ok {
		return "0"
	}
	r := new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil))
	s := r.FloatString(decimals)
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

func (s *Service) action(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	c, err := s.caller(r)
	if err != nil {
		return err
	}
	var in struct {
		Action string `json:"action"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	switch in.Action {
	case "create":
		k, err := s.own(r.Context(), c.UserID)
		if err != nil {
			return err
		}
		if k != nil {
			return api.CodeWalletExists.Err()
		}
		if k, err = s.ensureHTTP(r.Context(), c); err != nil {
			return err
		}
		api.JSON(w, http.StatusOK, map[string]any{"address": checksum(k.Address), "network": s.Network, "message": "Wallet created successfully"})
	case "get_seed":
		k, err := s.own(r.Context(), c.UserID)
		if err != nil {
			return err
		}
		if k == nil {
			return api.CodeWalletNotFound.Err()
		}
		api.JSON(w, http.StatusOK, map[string]any{"address": checksum(k.Address), "network": s.Network,
			"createdAt": k.CreatedAt.UTC().Format(time.RFC3339),
			"warning":   "The wallet's key is sealed on the server and is never returned"})
	case "export_seed":
		return api.CodeSeedExportDisabled.Err()
	default:
		return api.BadRequest(api.CodeInvalidAction, "action must be create, get_seed or export_seed")
	}
	return nil
}

func (s *Service) address(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	c, err := s.caller(r)
	if err != nil {
		return err
	}
	k, err := s.ensureHTTP(r.Context(), c)
	if err != nil {
		return err
	}
	api.JSON(w, http.StatusOK, map[string]any{"authenticated": true, "address": checksum(k.Address)})
	return nil
}

func (s *Service) createRoute(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	c, err := s.caller(r)
	if err != nil {
		return err
	}
	var in struct {
		Email string `json:"email"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if in.Email == "" {
		return api.Validation("email is required")
	}
	k, err := s.ensureHTTP(r.Context(), c)
	if err != nil {
		return err
	}
	api.JSON(w, http.StatusOK, map[string]any{"success": true, "walletAddress": checksum(k.Address), "walletId": k.Address,
		"networks": []string{"base-sepolia", "base"}})
	return nil
}

func (s *Service) cdpInfo(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	backend := "local"
	if s.CDP {
		backend = "cdp"
	}
	api.JSON(w, http.StatusOK, map[string]any{"status": "ok", "type": "evm_wallet", "backend": backend,
		"supportedChains": []string{"base", "base-sepolia"}})
	return nil
}

func (s *Service) cdpCreate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	c, err := s.caller(r)
	if err != nil {
		return err
	}
	var in struct {
		PrivateKey string `json:"privateKey"`
	}
	if r.ContentLength != 0 { // the body is optional
		if err := api.Decode(r, &in); err != nil {
			return err
		}
	}
	if in.PrivateKey != "" {
		return api.CodeKeyImportDisabled.Err()
	}
	k, err := s.ensureHTTP(r.Context(), c)
	if err != nil {
		return err
	}
	api.JSON(w, http.StatusOK, map[string]any{"success": true, "address": checksum(k.Address), "network": s.Network})
	return nil
}
