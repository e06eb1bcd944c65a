package wallets

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/plugins/wallet"
	"github.com/agentbot/gateway/sdk/provider"
)

// transferInput is what a caller sends to wallet-transfer.
type transferInput struct {
	To string `json:"to"`
	// Amount is in USDC base units (6 decimals): "1500000" is 1.5 USDC.
	Amount json.Number `json:"amount"`
	// IdempotencyKey makes a retried transfer happen once.
	IdempotencyKey string `json:"idempotencyKey"`
}

// maxKey bounds an idempotency key.
const maxKey = 128

// transfer runs wallet-transfer: validate, reserve under the cap and the
// idempotency key (one database transaction), then let the plugin sign and
// send, and record the outcome. A repeated key gets the first answer and
// sends nothing. When the plugin's answer is lost (a transport failure) the
// reservation stays pending: the money may have moved, so the key is not
// released and the amount keeps counting against the cap.
func (s *Service) transfer(ctx context.Context, req *provider.InvokeRequest, k *store.WalletKey) (*provider.InvokeResponse, error) {
	fail := func(e *provider.Error) (*provider.InvokeResponse, error) {
		return &provider.InvokeResponse{Error: e}, nil
	}
	var in transferInput
	if err := json.Unmarshal(req.Input, &in); err != nil {
		return fail(callErr(400, api.CodeValidationError, "want {to, amount, idempotencyKey}: amount in USDC base units"))
	}
	to, err := evm.ParseAddress(in.To)
	if err != nil {
		return fail(callErr(400, api.CodeValidationError, "to is not an Ethereum address (0x and 40 hex digits, EIP-55 checksum if mixed case)"))
	}
	amount, err := strconv.ParseInt(in.Amount.String(), 10, 64)
	if err != nil || amount <= 0 {
		return fail(callErr(400, api.CodeValidationError, "amount is a positive whole number of USDC base units (6 decimals: 1000000 is 1 USDC)"))
	}
	key := in.IdempotencyKey
	if key == "" || len(key) > maxKey || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return fail(callErr(400, api.CodeInvalidIdempotencyKey, "idempotencyKey is required: 1 to 128 printable ASCII characters"))
	}
	toHex := strings.ToLower(to.Hex())
	t, fresh, err := s.Store.ReserveTransfer(ctx, req.Caller.UserID, k.AgentID, key, toHex, amount, s.DailyCap)
	var capErr *store.SpendCapError
	switch {
	case errors.As(err, &capErr):
		e := callErr(403, api.CodeSpendCapExceeded, "This transfer would exceed the wallet's daily spend cap; nothing was sent")
		e.Fields = map[string]any{"dailyCap": strconv.FormatInt(capErr.Cap, 10), "spentToday": strconv.FormatInt(capErr.Spent, 10),
			"amount": strconv.FormatInt(capErr.Amount, 10)}
		return fail(e)
	case errors.Is(err, store.ErrTransferMismatch):
		return fail(callErr(422, api.CodeIdempotencyKeyReused, "This idempotencyKey was used for another recipient or amount"))
	case err != nil:
		return nil, err
	}
	if !fresh {
		return replay(t)
	}
	request, _ := json.Marshal(wallet.TransferRequest{To: to.Hex(), Amount: strconv.FormatInt(amount, 10), IdempotencyKey: key})
	resp, err := s.call(ctx, wallet.CapTransfer, req.Caller, k, request)
	if err != nil {
		return nil, err // pending on purpose: the transaction may have been sent
	}
	if resp.Error != nil {
		b, _ := json.Marshal(resp.Error)
		if ferr := s.Store.FinishTransfer(ctx, req.Caller.UserID, t.ID, store.TransferFailed, "", string(b)); ferr != nil {
			return nil, ferr
		}
		return resp, nil
	}
	var out wallet.TransferOutput
	if err := json.Unmarshal(resp.Output, &out); err != nil || out.TxHash == "" {
		return nil, errors.New("wallets: the plugin's transfer answer has no transaction hash")
	}
	if err := s.Store.FinishTransfer(ctx, req.Caller.UserID, t.ID, store.TransferSent, out.TxHash, string(resp.Output)); err != nil {
		return nil, err
	}
	return resp, nil
}

// replay answers a repeated idempotency key from the first call's record.
func replay(t *store.WalletTransfer) (*provider.InvokeResponse, error) {
	switch t.Status {
	case store.TransferSent:
		return &provider.InvokeResponse{Output: json.RawMessage(t.Output)}, nil
	case store.TransferFailed:
		var e provider.Error
		if err := json.Unmarshal([]byte(t.Output), &e); err != nil || e.Status == 0 {
			e = provider.Error{Status: 502, Code: string(api.CodePluginError), Message: "The transfer failed"}
		}
		return &provider.InvokeResponse{Error: &e}, nil
	}
	return &provider.InvokeResponse{Error: fromAPI(api.CodeTransferInProgress.Err())}, nil
}
