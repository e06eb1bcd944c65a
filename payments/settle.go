package payments

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/x402"
)

// Settlement is a verified authorization to settle.
type Settlement struct {
	Domain        evm.Domain
	Authorization evm.TransferAuthorization
	Signature     []byte
	// Requirements and Payload are the x402 form of the payment (built for MPP
	// credentials too), for settlement through a facilitator.
	Requirements x402.Requirements
	Payload      x402.PaymentPayload
}

// Settler moves the money of a verified authorization.
type Settler interface {
	// Settle returns the settlement's reference (a transaction hash).
	Settle(ctx context.Context, s *Settlement) (string, error)
}

var (
	_ Settler = LocalSettler{}
	_ Settler = FacilitatorSettler{}
)

// LocalSettler records payments without moving money: for development and
// tests, where no chain is reachable. Its reference is a deterministic hash
// of the authorization.
type LocalSettler struct{}

// Settle implements Settler.
func (LocalSettler) Settle(_ context.Context, s *Settlement) (string, error) {
	d := evm.TransferDigest(s.Domain, s.Authorization)
	h := evm.Keccak256([]byte("agentbot-local-settlement"), d[:])
	return "0x" + hex.EncodeToString(h[:]), nil
}

// FacilitatorSettler settles through an x402 facilitator's /settle.
type FacilitatorSettler struct{ Facilitator *x402.Facilitator }

// Settle implements Settler.
func (f FacilitatorSettler) Settle(ctx context.Context, s *Settlement) (string, error) {
	resp, err := f.Facilitator.Settle(ctx, s.Payload, s.Requirements)
	if err != nil {
		return "", err
	}
	if !resp.Success {
		reason := resp.ErrorReason
		if reason == "" {
			reason = "settlement failed"
		}
		return "", fmt.Errorf("facilitator: %s %s", reason, resp.ErrorMessage)
	}
	return resp.Transaction, nil
}

// settle moves the money of a verified machine payment, records it and
// returns its receipt; on failure the claim is released.
func (m *Machine) settle(ctx context.Context, c *Charged) (receipt string, err error) {
	mp := c.machine
	ref, err := m.Settler.Settle(ctx, mp.s)
	if err != nil {
		if rerr := m.Claims.Release(ctx, mp.claimKey); rerr != nil {
			m.log().Error("release payment claim", "key", mp.claimKey, "err", rerr)
		}
		return "", err
	}
	c.settled = true
	ts := m.now().Format(time.RFC3339Nano)
	if c.Method == MethodMPP {
		receipt = mpp.Receipt{Method: "evm", Reference: ref, Status: "success", Timestamp: ts}.Encode()
	} else {
		receipt, _ = x402.EncodeHeader(x402.SettleResponse{Success: true, Transaction: ref, Network: m.network(),
			Payer: mp.s.Authorization.From.Hex(), Amount: mp.s.Authorization.Value.String()})
	}
	r := mp.req
	rec := &store.MachinePayment{UserID: r.userID(), Protocol: string(c.Method), Method: "evm",
		Payer: mp.s.Authorization.From.Hex(), Network: m.network(), Asset: m.Domain.VerifyingContract.Hex(),
		Amount: mp.s.Authorization.Value.String(), AmountMicroUSD: r.PriceMicroUSD, Target: r.Target,
		ChallengeID: mp.challenge, ClaimKey: mp.claimKey, Reference: ref, Receipt: receipt}
	if err := m.Store.RecordPayment(ctx, rec); err != nil {
		// The money moved: the answer goes out; the record is logged for reconciliation.
		m.log().Error("record machine payment", "payer", rec.Payer, "reference", ref, "claim", rec.ClaimKey, "err", err)
	}
	return receipt, nil
}
