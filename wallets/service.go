// Package wallets is the host side of the wallet plugin (plugins/wallet):
// it keeps each user's and agent's sealed key in the database, hands it to
// the plugin with every call, enforces the daily spend cap and the
// idempotency of transfers before anything is signed, and serves the seed's
// /api/wallet* routes on top of the plugin's gateway ids.
package wallets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/plugins/wallet"
	"github.com/agentbot/gateway/sdk/provider"
)

// Invoker calls the wallet plugin (the plugin host).
type Invoker interface {
	Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error)
}

// Service is the wallet service. Its fields are set once, before use.
type Service struct {
	Store  *store.Store
	Plugin Invoker
	// DailyCap is the USDC (base units) one wallet may send per UTC day.
	DailyCap int64
	// Network names the chain in the seed's answers.
	Network string
	// CDP: the plugin's backend is Coinbase Developer Platform.
	CDP bool
	Log *slog.Logger
}

// IDs are the gateway ids the service answers for the plugin.
var IDs = []string{wallet.CapAddress, wallet.CapBalance, wallet.CapTransfer, wallet.CapSign}

// Serves reports whether id is one of IDs.
func Serves(id string) bool {
	for _, x := range IDs {
		if x == id {
			return true
		}
	}
	return false
}

// callErr is a failure the caller sees, in the plugin protocol's terms.
func callErr(status int, code api.Code, msg string) *provider.Error {
	return &provider.Error{Status: status, Code: string(code), Message: msg}
}

func fromAPI(e *api.Error) *provider.Error {
	return &provider.Error{Status: e.Status, Code: string(e.Code), Message: e.Message, Fields: e.Fields}
}

// common are the input members every wallet id takes.
type common struct {
	// AgentID selects one of the caller's agents' wallets instead of the
	// caller's own.
	AgentID string `json:"agentId"`
}

// Invoke answers a gateway call of one of IDs for req.Caller: the wallet is
// made on first use. User-facing failures are in the response.
func (s *Service) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	uid := req.Caller.UserID
	if uid == "" {
		return &provider.InvokeResponse{Error: fromAPI(api.CodeAuthRequired.Err())}, nil
	}
	var c common
	if len(req.Input) > 0 {
		if err := json.Unmarshal(req.Input, &c); err != nil {
			return &provider.InvokeResponse{Error: callErr(400, api.CodeValidationError, "agentId must be a string")}, nil
		}
	}
	if c.AgentID != "" {
		if _, err := s.Store.Agent(ctx, uid, c.AgentID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return &provider.InvokeResponse{Error: fromAPI(api.CodeAgentNotFound.Err())}, nil
			}
			return nil, err
		}
	}
	k, pe, err := s.ensure(ctx, req.Caller, c.AgentID)
	if err != nil || pe != nil {
		return &provider.InvokeResponse{Error: pe}, err
	}
	switch req.Capability {
	case wallet.CapAddress:
		out, _ := json.Marshal(map[string]any{"address": checksum(k.Address), "network": s.Network, "agentId": c.AgentID})
		return &provider.InvokeResponse{Output: out}, nil
	case wallet.CapTransfer:
		return s.transfer(ctx, req, k)
	}
	return s.call(ctx, req.Capability, req.Caller, k, req.Input)
}

// call sends one call with the wallet's envelope to the plugin.
func (s *Service) call(ctx context.Context, capability string, caller provider.Caller, k *store.WalletKey, request json.RawMessage) (*provider.InvokeResponse, error) {
	env := wallet.Envelope{Owner: k.Owner, SealedKey: k.SealedKey, Request: request}
	in, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	return s.Plugin.Invoke(ctx, &provider.InvokeRequest{Capability: capability, Input: in, Caller: caller})
}

// ensure returns the owner's wallet, asking the plugin for a new key and
// storing it when there is none yet. Of two concurrent first calls, the one
// stored first wins and both use it.
func (s *Service) ensure(ctx context.Context, caller provider.Caller, agentID string) (*store.WalletKey, *provider.Error, error) {
	k, err := s.Store.WalletKey(ctx, caller.UserID, agentID)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return k, nil, err
	}
	k, pe, err := s.create(ctx, caller, agentID)
	return k, pe, err
}

// create makes a wallet (or returns the one a concurrent call stored).
func (s *Service) create(ctx context.Context, caller provider.Caller, agentID string) (*store.WalletKey, *provider.Error, error) {
	owner := store.WalletOwner(caller.UserID, agentID)
	resp, err := s.call(ctx, wallet.CapAddress, caller, &store.WalletKey{Owner: owner}, nil)
	if err != nil || resp.Error != nil {
		return nil, respErr(resp), err
	}
	var out wallet.AddressOutput
	if err := json.Unmarshal(resp.Output, &out); err != nil || !out.Created || len(out.SealedKey) == 0 {
		return nil, nil, fmt.Errorf("wallets: the plugin made no key (%v)", err)
	}
	backend := out.Backend
	if backend == "" {
		backend = "local"
	}
	k, err := s.Store.PutWalletKey(ctx, caller.UserID, agentID, strings.ToLower(out.Address), backend, out.SealedKey)
	return k, nil, err
}

func respErr(resp *provider.InvokeResponse) *provider.Error {
	if resp == nil {
		return nil
	}
	return resp.Error
}

// plainError is an error rendered for an HTTP route from a plugin failure.
func plainError(pe *provider.Error) *api.Error {
	return &api.Error{Status: pe.Status, Code: api.Code(pe.Code), Message: pe.Message, Fields: pe.Fields}
}

// checksum is the EIP-55 form of a stored (lower-case) address.
func checksum(lower string) string {
	a, err := evm.ParseAddress(lower)
	if err != nil {
		return lower
	}
	return a.Hex()
}
