package store

import (
	"context"
	"errors"
	"time"
)

// WalletKey is a wallet the gateway holds for a user or one of their agents:
// its address and its key as the wallet plugin sealed it.
type WalletKey struct {
	Owner     string // the user id, or "<user id>/<agent id>"
	UserID    string
	AgentID   string // "" for the user's own wallet
	Address   string // lower-case 0x hex
	Backend   string
	SealedKey []byte
	CreatedAt time.Time
}

// WalletOwner is the owner string of a user's (agentID "") or an agent's
// wallet.
func WalletOwner(userID, agentID string) string {
	if agentID == "" {
		return userID
	}
	return userID + "/" + agentID
}

const walletKeyColumns = `owner, user_id, agent_id, address, backend, sealed_key, created_at`

func scanWalletKey(r row) (*WalletKey, error) {
	var k WalletKey
	if err := r.Scan(&k.Owner, &k.UserID, &k.AgentID, &k.Address, &k.Backend, &k.SealedKey, &k.CreatedAt); err != nil {
		return nil, err
	}
	return &k, nil
}

// WalletKey returns the wallet of the user (agentID "") or of their agent;
// ErrNotFound when there is none.
func (s *Store) WalletKey(ctx context.Context, userID, agentID string) (*WalletKey, error) {
	var k *WalletKey
	err := s.readOne(ctx, userID, func(q querier) error {
		var err error
		k, err = scanWalletKey(q.QueryRow(ctx, `SELECT `+walletKeyColumns+` FROM wallet_keys WHERE owner = $1`,
			WalletOwner(userID, agentID)))
		return err
	})
	return k, err
}

// PutWalletKey stores a new wallet unless the owner has one already, and
// returns the owner's wallet: the new one, or the one a concurrent call
// stored first (whose key the caller must use instead of its own).
func (s *Store) PutWalletKey(ctx context.Context, userID, agentID, address, backend string, sealed []byte) (*WalletKey, error) {
	owner := WalletOwner(userID, agentID)
	var k *WalletKey
	err := s.write(ctx, userID, func(q querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO wallet_keys (`+walletKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (owner) DO NOTHING`, owner, userID, agentID, address, backend, sealed, s.now()); err != nil {
			return err
		}
		var err error
		k, err = scanWalletKey(q.QueryRow(ctx, `SELECT `+walletKeyColumns+` FROM wallet_keys WHERE owner = $1`, owner))
		return err
	})
	return k, err
}

// Transfer statuses.
const (
	TransferPending = "pending"
	TransferSent    = "sent"
	TransferFailed  = "failed"
)

// WalletTransfer is a USDC transfer from a held wallet, one per idempotency
// key. Amount is in USDC base units.
type WalletTransfer struct {
	ID             string
	Owner          string
	IdempotencyKey string
	To             string
	Amount         int64
	Status         string
	TxHash         string
	// Output is the plugin's answer, replayed for a repeated key.
	Output    string
	CreatedAt time.Time
}

// SpendCapError is ReserveTransfer's refusal: the transfer would take the
// owner's spending this UTC day past the cap.
type SpendCapError struct {
	Cap, Spent, Amount int64
}

func (e *SpendCapError) Error() string { return "store: daily wallet spend cap reached" }

// ErrTransferMismatch: an idempotency key came back with another recipient
// or amount.
var ErrTransferMismatch = errors.New("store: idempotency key reused for another transfer")

const transferColumns = `id, owner, idempotency_key, to_address, amount, status, tx_hash, output, created_at`

func scanTransfer(r row) (*WalletTransfer, error) {
	var t WalletTransfer
	if err := r.Scan(&t.ID, &t.Owner, &t.IdempotencyKey, &t.To, &t.Amount, &t.Status, &t.TxHash, &t.Output, &t.CreatedAt); err != nil {
		return nil, err
	}
	return &t, nil
}

// ReserveTransfer records a pending transfer of amount to the address to
// from the owner's wallet, in one transaction that first locks the wallet's
// row (so concurrent reservations of one owner queue up on every node), then
// takes the idempotency key and checks the daily cap. With a key seen
// before it returns that transfer and fresh false (ErrTransferMismatch if
// the recipient or amount differ). Otherwise, if the pending and sent
// transfers of this UTC day plus amount exceed dailyCap, it returns a
// *SpendCapError and records nothing. ErrNotFound without a wallet.
func (s *Store) ReserveTransfer(ctx context.Context, userID, agentID, key, to string, amount, dailyCap int64) (t *WalletTransfer, fresh bool, err error) {
	owner := WalletOwner(userID, agentID)
	now := s.now()
	day := now.UTC().Truncate(24 * time.Hour)
	err = s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE wallet_keys SET created_at = created_at WHERE owner = $1`, owner)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		t, err = scanTransfer(q.QueryRow(ctx, `SELECT `+transferColumns+` FROM wallet_transfers
			WHERE owner = $1 AND idempotency_key = $2`, owner, key))
		if err == nil {
			if t.To != to || t.Amount != amount {
				return ErrTransferMismatch
			}
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		var spent int64
		if err := q.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM wallet_transfers
			WHERE owner = $1 AND created_at >= $2 AND status <> 'failed'`, owner, day).Scan(&spent); err != nil {
			return err
		}
		if amount > dailyCap-spent {
			return &SpendCapError{Cap: dailyCap, Spent: spent, Amount: amount}
		}
		fresh = true
		t, err = scanTransfer(q.QueryRow(ctx, `INSERT INTO wallet_transfers (id, owner, user_id, idempotency_key, to_address,
			amount, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) RETURNING `+transferColumns,
			newID("wtx_"), owner, userID, key, to, amount, now))
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return t, fresh, nil
}

// FinishTransfer settles a pending transfer as sent (with its transaction
// hash and the answer to replay) or failed (nothing was sent, so the amount
// stops counting against the cap).
func (s *Store) FinishTransfer(ctx context.Context, userID, id, status, txHash, output string) error {
	if status != TransferSent && status != TransferFailed {
		return errors.New("store: a transfer finishes sent or failed")
	}
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE wallet_transfers SET status = $1, tx_hash = $2, output = $3, updated_at = $4
			WHERE id = $5 AND status = 'pending'`, status, txHash, output, s.now(), id)
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
}
