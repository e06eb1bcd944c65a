// Package x402 holds the x402 v2 HTTP transport (as @x402/core 2.27 speaks
// it): the JSON types carried, base64-encoded, in the PAYMENT-REQUIRED,
// PAYMENT-SIGNATURE and PAYMENT-RESPONSE headers, the server's matching of an
// echoed requirement, and a client for a facilitator's /verify, /settle and
// /supported endpoints. Checking an "exact" EVM signature locally is
// core/evm's job.
package x402

import "encoding/json"

// Version is the x402 protocol version this package speaks.
const Version = 2

// HTTP header names of x402 v2. (X-PAYMENT and X-PAYMENT-RESPONSE are v1.)
const (
	HeaderPaymentRequired  = "PAYMENT-REQUIRED"  // server → client, on 402: PaymentRequired
	HeaderPaymentSignature = "PAYMENT-SIGNATURE" // client → server: PaymentPayload
	HeaderPaymentResponse  = "PAYMENT-RESPONSE"  // server → client: SettleResponse
)

// Resource describes what is being paid for.
type Resource struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
	MimeType    string `json:"mimeType,omitempty"`
}

// Requirements is one way to pay that a server accepts ("PaymentRequirements").
// For the "exact" scheme on EVM: Network is CAIP-2 ("eip155:84532"), Amount is
// in the asset's base units, Asset is the token contract, and Extra carries
// the token's EIP-712 domain as "name" and "version".
type Requirements struct {
	Scheme            string         `json:"scheme"`
	Network           string         `json:"network"`
	Amount            string         `json:"amount"`
	Asset             string         `json:"asset"`
	PayTo             string         `json:"payTo"`
	MaxTimeoutSeconds int64          `json:"maxTimeoutSeconds"`
	Extra             map[string]any `json:"extra,omitempty"`
}

// PaymentRequired is the PAYMENT-REQUIRED header of a 402 answer.
type PaymentRequired struct {
	X402Version int            `json:"x402Version"`
	Error       string         `json:"error,omitempty"`
	Resource    Resource       `json:"resource"`
	Accepts     []Requirements `json:"accepts"`
	Extensions  map[string]any `json:"extensions,omitempty"`
}

// Authorization is the EIP-3009 message of an "exact" EVM payload, as
// strings: addresses and the nonce in hex, integers in decimal.
type Authorization struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Value       string `json:"value"`
	ValidAfter  string `json:"validAfter"`
	ValidBefore string `json:"validBefore"`
	Nonce       string `json:"nonce"`
}

// ExactPayload is PaymentPayload.Payload for the "exact" scheme with EIP-3009.
type ExactPayload struct {
	Signature     string        `json:"signature"`
	Authorization Authorization `json:"authorization"`
}

// PaymentPayload is the client's PAYMENT-SIGNATURE header: the requirement it
// chose (echoed in Accepted) and the scheme's payload, kept raw until the
// scheme's owner decodes it.
type PaymentPayload struct {
	X402Version int             `json:"x402Version"`
	Resource    *Resource       `json:"resource,omitempty"`
	Accepted    Requirements    `json:"accepted"`
	Payload     json.RawMessage `json:"payload"`
	Extensions  map[string]any  `json:"extensions,omitempty"`
}

// SettleResponse is a facilitator's /settle answer and the server's
// PAYMENT-RESPONSE header.
type SettleResponse struct {
	Success      bool   `json:"success"`
	Transaction  string `json:"transaction"` // tx hash; "" when nothing was broadcast
	Network      string `json:"network"`
	Payer        string `json:"payer,omitempty"`
	ErrorReason  string `json:"errorReason,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	Amount       string `json:"amount,omitempty"`
}

// VerifyResponse is a facilitator's /verify answer.
type VerifyResponse struct {
	IsValid        bool   `json:"isValid"`
	InvalidReason  string `json:"invalidReason,omitempty"`
	InvalidMessage string `json:"invalidMessage,omitempty"`
	Payer          string `json:"payer,omitempty"`
}

// Supported is a facilitator's /supported answer: the kinds of payment it
// can verify and settle.
type Supported struct {
	Kinds      []SupportedKind     `json:"kinds"`
	Extensions []string            `json:"extensions,omitempty"`
	Signers    map[string][]string `json:"signers,omitempty"` // CAIP-2 pattern → addresses
}

// SupportedKind is one scheme and network a facilitator handles.
type SupportedKind struct {
	X402Version int            `json:"x402Version"`
	Scheme      string         `json:"scheme"`
	Network     string         `json:"network"`
	Extra       map[string]any `json:"extra,omitempty"`
}
