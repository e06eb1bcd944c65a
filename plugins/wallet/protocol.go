package wallet

import "encoding/json"

// Gateway ids the plugin serves.
const (
	CapAddress  = "wallet-address"
	CapBalance  = "wallet-balance"
	CapTransfer = "wallet-transfer"
	CapSign     = "wallet-sign"
)

// Envelope is the input of every call. The host builds it: Owner and
// SealedKey come from its database, Request is the caller's input. A caller
// never supplies an envelope, so it cannot name another owner's key.
type Envelope struct {
	// Owner is who the wallet belongs to: "<userID>" or "<userID>/<agentID>".
	Owner string `json:"owner"`
	// SealedKey is the owner's key as the plugin sealed it; empty for
	// wallet-address when the owner has none yet (one is made).
	SealedKey []byte          `json:"sealedKey,omitempty"`
	Request   json.RawMessage `json:"request,omitempty"`
}

// AddressOutput answers wallet-address. SealedKey is set when the key was
// made by this call: the host stores it and removes it from the answer.
type AddressOutput struct {
	Address   string `json:"address"`
	Network   string `json:"network"`
	Created   bool   `json:"created"`
	SealedKey []byte `json:"sealedKey,omitempty"`
	// Backend is "local" or "cdp": what SealedKey holds.
	Backend string `json:"backend,omitempty"`
}

// BalanceOutput answers wallet-balance: amounts are decimal strings of base
// units (wei for ETH; USDC has 6 decimals).
type BalanceOutput struct {
	Address      string `json:"address"`
	Network      string `json:"network"`
	ChainID      uint64 `json:"chainId"`
	ETH          string `json:"eth"`
	USDC         string `json:"usdc"`
	USDCDecimals int    `json:"usdcDecimals"`
	USDCContract string `json:"usdcContract"`
}

// TransferRequest is wallet-transfer's request: Amount in USDC base units
// (a decimal string). The host adds nothing to it but checks it first.
type TransferRequest struct {
	To     string `json:"to"`
	Amount string `json:"amount"`
	// IdempotencyKey is the caller's key; the "cdp" backend passes a digest
	// of it, with the owner, as CDP's X-Idempotency-Key.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// TransferOutput answers wallet-transfer once the node accepted the
// transaction (it may not be mined yet).
type TransferOutput struct {
	TxHash  string `json:"txHash"`
	From    string `json:"from"`
	To      string `json:"to"`
	Amount  string `json:"amount"`
	Token   string `json:"token"`
	Nonce   uint64 `json:"nonce"`
	ChainID uint64 `json:"chainId"`
	Network string `json:"network"`
}

// SignRequest is wallet-sign's request: exactly one of Message (text,
// signed per EIP-191 personal_sign), Raw (0x hex bytes, likewise) and
// TypedData (EIP-712, as eth_signTypedData_v4 takes it).
type SignRequest struct {
	Message   *string         `json:"message,omitempty"`
	Raw       string          `json:"raw,omitempty"`
	TypedData json.RawMessage `json:"typedData,omitempty"`
}

// SignOutput answers wallet-sign: a 65-byte r‖s‖v signature (v 27 or 28)
// and the digest it signs.
type SignOutput struct {
	Address   string `json:"address"`
	Signature string `json:"signature"`
	Digest    string `json:"digest"`
}
