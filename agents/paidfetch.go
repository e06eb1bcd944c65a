package agents

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/x402"
	"github.com/agentbot/gateway/plugins/wallet"
	"github.com/agentbot/gateway/sdk/skill/abi"
)

// toolPaidFetch is the built-in tool that calls an HTTP service and, when it
// answers 402, pays it once from the agent's own wallet (README.md, "Agents"
// and "Wallets and sign-in with Ethereum").
const toolPaidFetch = "paid_fetch"

var paidFetchTool = loop.Tool{Name: toolPaidFetch,
	Description: "Call an HTTP API on an allowed host. If it asks for payment (HTTP 402, MPP or x402), pay it once " +
		"from your own wallet, at most maxPriceUsd (a decimal string of US dollars), and return the answer and the receipt.",
	Parameters: json.RawMessage(`{"type":"object","properties":{` +
		`"url":{"type":"string"},"method":{"type":"string","enum":["GET","POST"]},"body":{"type":"string"},` +
		`"maxPriceUsd":{"type":"string","pattern":"^[0-9]{1,6}(\\.[0-9]{1,6})?$"}},` +
		`"required":["url","maxPriceUsd"],"additionalProperties":false}`)}

// Bounds of one paid_fetch call.
const (
	paidFetchBodyOut  = 16 << 10 // body text handed back to the model
	paidFetchMaxInput = 64 << 10 // request body
)

// stablecoin is a USD token whose base units the tool prices: 6 decimals,
// so one base unit is one micro-USD, with its EIP-712 domain (MPP does not
// send it; x402 does, and must agree).
type stablecoin struct{ name, version string }

// usdTokens are the tokens paid_fetch pays with, by chain id and lower-case
// contract address: USDC on Base and Base Sepolia.
var usdTokens = map[string]stablecoin{
	"8453:0x833589fcd6edb6e08f4c7c32d4f71b54bda02913":  {"USD Coin", "2"},
	"84532:0x036cbd53842c5426634e7929541ec2318f3dcf7e": {"USDC", "2"},
}

var usdDecimal = regexp.MustCompile(`^([0-9]{1,6})(?:\.([0-9]{1,6}))?$`)

// parseUSD converts a decimal string of dollars to micro-USD.
func parseUSD(s string) (int64, bool) {
	m := usdDecimal.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	whole, _ := strconv.ParseInt(m[1], 10, 64)
	frac := m[2] + strings.Repeat("0", 6-len(m[2]))
	f, _ := strconv.ParseInt(frac, 10, 64)
	return whole*1_000_000 + f, true
}

// paidFetchArgs are the model's arguments.
type paidFetchArgs struct {
	URL         string `json:"url"`
	Method      string `json:"method"`
	Body        string `json:"body"`
	MaxPriceUSD string `json:"maxPriceUsd"`
}

// offer is one 402's terms, in the form the tool signs.
type offer struct {
	protocol string // "mpp" or "x402"
	domain   evm.Domain
	auth     evm.TransferAuthorization
	price    int64 // micro-USD
	mpp      *mpp.Challenge
	x402     *x402.PaymentRequired
	req      *x402.Requirements
}

// paidFetch runs one paid_fetch call: cost is what it spent (the payment,
// once made, and the wallet's signing call).
func (tb *toolbox) paidFetch(ctx context.Context, call loop.ToolCall) (string, bool, int64, error) {
	cfg := tb.paid
	var in paidFetchArgs
	dec := json.NewDecoder(strings.NewReader(call.Arguments))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return "invalid arguments: " + err.Error(), true, 0, nil
	}
	limit, ok := parseUSD(in.MaxPriceUSD)
	if !ok {
		return `invalid arguments: maxPriceUsd must be a decimal string of dollars, e.g. "0.05"`, true, 0, nil
	}
	limit = min(limit, cfg.MaxPerCallMicroUSD)
	if in.Method == "" {
		in.Method = http.MethodGet
	}
	if in.Method != http.MethodGet && in.Method != http.MethodPost {
		return "invalid arguments: method must be GET or POST", true, 0, nil
	}
	if len(in.Body) > paidFetchMaxInput {
		return fmt.Sprintf("invalid arguments: body is larger than %d bytes", paidFetchMaxInput), true, 0, nil
	}
	f := tb.s.PaidFetch.Fetcher(cfg.Hosts)
	req := &abi.FetchRequest{Method: in.Method, URL: in.URL, Headers: map[string]string{"Accept-Payment": "evm/charge"}}
	if in.Body != "" {
		req.Body = []byte(in.Body)
		req.Headers["Content-Type"] = "application/json"
	}
	first, err := f.Fetch(ctx, req)
	if err != nil {
		return "fetch failed: " + err.Error(), true, 0, nil
	}
	if first.Status != http.StatusPaymentRequired {
		return fetchResult(first, nil), false, 0, nil
	}
	o, why := readOffer(first, time.Now())
	if o == nil {
		return "the server asked for a payment this tool cannot make: " + why, true, 0, nil
	}
	if o.price > limit {
		return fmt.Sprintf("not paid: the price is %d micro-USD, over the most this call may pay (%d micro-USD)", o.price, limit), true, 0, nil
	}
	sig, from, signCost, msg, err := tb.signTransfer(ctx, o)
	if err != nil || msg != "" {
		return "not paid: " + msg, true, signCost, err
	}
	o.auth.From = from
	name, value := o.credential(sig)
	req.Headers[name] = value
	second, err := f.Fetch(ctx, req)
	// From here the credential has left: count the price as spent whatever
	// happens, so the run's budget is never understated.
	cost := signCost + o.price
	if err != nil {
		return "paid, but the paid request failed: " + err.Error(), true, cost, nil
	}
	if second.Status == http.StatusPaymentRequired {
		return fmt.Sprintf("paid once, but the server asked for payment again (status 402); not paying twice: %s",
			clip(second.Body, 512)), true, cost, nil
	}
	return fetchResult(second, o), second.Status >= 400, cost, nil
}

// readOffer picks the first offer the tool can pay: MPP evm/charge, then x402
// exact on EVM, in a known USD token of 6 decimals.
func readOffer(r *abi.FetchResponse, now time.Time) (*offer, string) {
	why := "no MPP evm/charge or x402 exact offer"
	if h := header(r, "WWW-Authenticate"); h != "" {
		chs, err := mpp.ParseChallenges([]string{h})
		if err != nil {
			why = "unreadable WWW-Authenticate: " + err.Error()
		}
		for i := range chs {
			if o, w := mppOffer(&chs[i], now); o != nil {
				return o, ""
			} else if w != "" {
				why = w
			}
		}
	}
	if h := header(r, x402.HeaderPaymentRequired); h != "" {
		var pr x402.PaymentRequired
		if err := x402.DecodeHeader(h, &pr); err != nil {
			return nil, "unreadable " + x402.HeaderPaymentRequired
		}
		for i := range pr.Accepts {
			if o, w := x402Offer(&pr, &pr.Accepts[i], now); o != nil {
				return o, ""
			} else if w != "" {
				why = w
			}
		}
	}
	return nil, why
}

func mppOffer(ch *mpp.Challenge, now time.Time) (*offer, string) {
	if ch.Method != "evm" || ch.Intent != "charge" {
		return nil, ""
	}
	var terms struct {
		Amount        string `json:"amount"`
		Currency      string `json:"currency"`
		Recipient     string `json:"recipient"`
		MethodDetails struct {
			ChainID         uint64   `json:"chainId"`
			CredentialTypes []string `json:"credentialTypes"`
			Decimals        *int     `json:"decimals"`
			Splits          any      `json:"splits"`
		} `json:"methodDetails"`
	}
	if err := ch.DecodeRequest(&terms); err != nil {
		return nil, "unreadable MPP request"
	}
	md := terms.MethodDetails
	if md.Splits != nil || (len(md.CredentialTypes) > 0 && !contains(md.CredentialTypes, "authorization")) {
		return nil, "MPP offer without a plain authorization credential"
	}
	if md.Decimals != nil && *md.Decimals != 6 {
		return nil, "MPP offer in a token of other than 6 decimals"
	}
	exp, ok := ch.ExpiresAt()
	if !ok || !exp.After(now) {
		return nil, "MPP offer expired or without expiry"
	}
	d, amount, to, why := terms2(md.ChainID, terms.Currency, terms.Amount, terms.Recipient)
	if why != "" {
		return nil, why
	}
	return &offer{protocol: "mpp", domain: d, mpp: ch, price: amount.Int64(),
		auth: evm.TransferAuthorization{To: to, Value: amount, ValidAfter: big.NewInt(0), ValidBefore: big.NewInt(exp.Unix()),
			Nonce: evm.Keccak256([]byte(ch.ID + ch.Realm))}}, ""
}

func x402Offer(pr *x402.PaymentRequired, r *x402.Requirements, now time.Time) (*offer, string) {
	chain, ok := strings.CutPrefix(r.Network, "eip155:")
	if r.Scheme != "exact" || !ok {
		return nil, ""
	}
	if m, _ := r.Extra["assetTransferMethod"].(string); m != "" && m != "eip3009" {
		return nil, "x402 offer without EIP-3009"
	}
	id, err := strconv.ParseUint(chain, 10, 64)
	if err != nil {
		return nil, "x402 offer on an unreadable network"
	}
	d, amount, to, why := terms2(id, r.Asset, r.Amount, r.PayTo)
	if why != "" {
		return nil, why
	}
	if n, _ := r.Extra["name"].(string); n != d.Name {
		return nil, "x402 offer whose token domain is not the token's"
	}
	if v, _ := r.Extra["version"].(string); v != d.Version {
		return nil, "x402 offer whose token domain is not the token's"
	}
	timeout := min(max(r.MaxTimeoutSeconds, 10), 3600)
	var nonce [32]byte
	_, _ = rand.Read(nonce[:])
	return &offer{protocol: "x402", domain: d, x402: pr, req: r, price: amount.Int64(),
		auth: evm.TransferAuthorization{To: to, Value: amount, ValidAfter: big.NewInt(0),
			ValidBefore: big.NewInt(now.Unix() + timeout), Nonce: nonce}}, ""
}

// terms2 checks an offer's token, amount and recipient.
func terms2(chainID uint64, asset, amount, payTo string) (evm.Domain, *big.Int, evm.Address, string) {
	token, err := evm.ParseAddress(asset)
	if err != nil {
		return evm.Domain{}, nil, evm.Address{}, "unreadable token address"
	}
	sc, ok := usdTokens[fmt.Sprintf("%d:%s", chainID, strings.ToLower(token.Hex()))]
	if !ok {
		return evm.Domain{}, nil, evm.Address{}, fmt.Sprintf("token %s on chain %d is not a known USD token", token.Hex(), chainID)
	}
	v, ok := new(big.Int).SetString(amount, 10)
	if !ok || v.Sign() <= 0 || !v.IsInt64() {
		return evm.Domain{}, nil, evm.Address{}, "unreadable amount"
	}
	to, err := evm.ParseAddress(payTo)
	if err != nil {
		return evm.Domain{}, nil, evm.Address{}, "unreadable recipient"
	}
	return evm.Domain{Name: sc.name, Version: sc.version, ChainID: int64(chainID), VerifyingContract: token}, v, to, ""
}

// signTransfer has the agent's wallet sign o's EIP-3009 authorization (from
// is the wallet's address, which the wallet returns). msg, when not empty, is
// the model's reason for a refusal.
func (tb *toolbox) signTransfer(ctx context.Context, o *offer) (sig string, from evm.Address, cost int64, msg string, err error) {
	a := o.auth
	td := map[string]any{
		"types": map[string]any{
			"EIP712Domain": []map[string]string{{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
				{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}},
			"TransferWithAuthorization": []map[string]string{{"name": "from", "type": "address"}, {"name": "to", "type": "address"},
				{"name": "value", "type": "uint256"}, {"name": "validAfter", "type": "uint256"},
				{"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"}},
		},
		"primaryType": "TransferWithAuthorization",
		"domain": map[string]any{"name": o.domain.Name, "version": o.domain.Version, "chainId": o.domain.ChainID,
			"verifyingContract": o.domain.VerifyingContract.Hex()},
	}
	// The wallet's address is not known before it answers; the signed
	// message must name it, so ask for the address first.
	addrRes, err := tb.s.Gateway.InvokeAs(ctx, tb.who, wallet.CapAddress, mustJSON(map[string]any{"agentId": tb.agentID}), nil)
	if err != nil {
		return "", evm.Address{}, 0, "", err
	}
	cost = addrRes.ChargedMicros
	if addrRes.Failed != nil {
		return "", evm.Address{}, cost, "the agent's wallet is unavailable: " + failureMessage(addrRes.Failed), nil
	}
	var addr struct {
		Address string `json:"address"`
	}
	if json.Unmarshal(addrRes.Output, &addr) != nil {
		return "", evm.Address{}, cost, "", errors.New("paid_fetch: unreadable wallet-address answer")
	}
	if from, err = evm.ParseAddress(addr.Address); err != nil {
		return "", evm.Address{}, cost, "", fmt.Errorf("paid_fetch: wallet address %q: %w", addr.Address, err)
	}
	td["message"] = map[string]any{"from": from.Hex(), "to": a.To.Hex(), "value": a.Value.String(),
		"validAfter": a.ValidAfter.String(), "validBefore": a.ValidBefore.String(), "nonce": "0x" + hex.EncodeToString(a.Nonce[:])}
	res, err := tb.s.Gateway.InvokeAs(ctx, tb.who, wallet.CapSign, mustJSON(map[string]any{"agentId": tb.agentID, "typedData": td}), nil)
	if err != nil {
		return "", evm.Address{}, cost, "", err
	}
	cost += res.ChargedMicros
	if res.Failed != nil {
		return "", evm.Address{}, cost, "the agent's wallet did not sign: " + failureMessage(res.Failed), nil
	}
	var out wallet.SignOutput
	if json.Unmarshal(res.Output, &out) != nil || out.Signature == "" {
		return "", evm.Address{}, cost, "", errors.New("paid_fetch: unreadable wallet-sign answer")
	}
	a.From = from
	if want := evm.TransferDigest(o.domain, a); out.Digest != "" && !strings.EqualFold(out.Digest, "0x"+hex.EncodeToString(want[:])) {
		return "", evm.Address{}, cost, "", errors.New("paid_fetch: the wallet signed another digest than the authorization's")
	}
	return out.Signature, from, cost, "", nil
}

// credential is the request header that carries the signed payment.
func (o *offer) credential(sig string) (name, value string) {
	a := o.auth
	nonce := "0x" + hex.EncodeToString(a.Nonce[:])
	if o.protocol == "mpp" {
		ch := o.mpp
		echo := map[string]any{"id": ch.ID, "realm": ch.Realm, "method": ch.Method, "intent": ch.Intent, "request": ch.Request}
		for k, v := range map[string]string{"expires": ch.Expires, "digest": ch.Digest, "opaque": ch.Opaque,
			"description": ch.Description, "header": ch.CredentialHeader} {
			if v != "" {
				echo[k] = v
			}
		}
		cred := map[string]any{"challenge": echo,
			"source": fmt.Sprintf("did:pkh:eip155:%d:%s", o.domain.ChainID, a.From.Hex()),
			"payload": map[string]any{"type": "authorization", "from": a.From.Hex(), "to": a.To.Hex(), "value": a.Value.String(),
				"validAfter": a.ValidAfter.String(), "validBefore": a.ValidBefore.String(), "nonce": nonce, "signature": sig}}
		name = "Authorization"
		if ch.CredentialHeader != "" {
			name = ch.CredentialHeader
		}
		return name, "Payment " + base64.RawURLEncoding.EncodeToString(mustJSON(cred))
	}
	payload := mustJSON(x402.ExactPayload{Signature: sig, Authorization: x402.Authorization{From: a.From.Hex(), To: a.To.Hex(),
		Value: a.Value.String(), ValidAfter: a.ValidAfter.String(), ValidBefore: a.ValidBefore.String(), Nonce: nonce}})
	h, _ := x402.EncodeHeader(x402.PaymentPayload{X402Version: x402.Version, Resource: &o.x402.Resource, Accepted: *o.req,
		Payload: payload, Extensions: o.x402.Extensions})
	return x402.HeaderPaymentSignature, h
}

// fetchResult is the tool's answer: status, a few headers, the body (cut to
// paidFetchBodyOut) and, when it paid, what and the server's receipt.
func fetchResult(r *abi.FetchResponse, o *offer) string {
	out := map[string]any{"status": r.Status}
	hs := map[string]string{}
	for _, k := range []string{"Content-Type", "Location", "Payment-Receipt", x402.HeaderPaymentResponse} {
		if v := header(r, k); v != "" {
			hs[strings.ToLower(k)] = v
		}
	}
	out["headers"] = hs
	out["body"] = clip(r.Body, paidFetchBodyOut)
	if len(r.Body) > paidFetchBodyOut {
		out["truncated"] = true
	}
	if o != nil {
		paid := map[string]any{"protocol": o.protocol, "amountMicroUsd": o.price, "from": o.auth.From.Hex(), "to": o.auth.To.Hex(),
			"token": o.domain.VerifyingContract.Hex(), "chainId": o.domain.ChainID}
		if v := header(r, "Payment-Receipt"); v != "" {
			if rc, err := mpp.DecodeReceipt(v); err == nil {
				paid["receipt"] = rc
			}
		}
		if v := header(r, x402.HeaderPaymentResponse); v != "" {
			var sr x402.SettleResponse
			if x402.DecodeHeader(v, &sr) == nil {
				paid["receipt"] = sr
			}
		}
		out["paid"] = paid
	}
	return string(mustJSON(out))
}

// header reads a response header whatever the case of its name.
func header(r *abi.FetchResponse, name string) string {
	if v, ok := r.Headers[http.CanonicalHeaderKey(name)]; ok {
		return v
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// clip is b as text, cut to at most n bytes on a rune boundary.
func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
