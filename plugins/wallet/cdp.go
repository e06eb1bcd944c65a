package wallet

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// cdpClient is a small client of Coinbase Developer Platform's Server
// Wallets v2 REST API: every request carries a Bearer JWT (EdDSA or ES256,
// two minutes, naming the one "METHOD host/path" it is for in "uris"), and
// writes under /evm/accounts also an X-Wallet-Auth JWT (ES256, the Wallet
// Secret) with the SHA-256 of the body's sorted-key JSON ("reqHash").
type cdpClient struct {
	base   *url.URL // e.g. https://api.cdp.coinbase.com/platform
	keyID  string
	apiKey crypto.Signer // ed25519.PrivateKey or *ecdsa.PrivateKey
	wallet *ecdsa.PrivateKey
	http   *http.Client
	now    func() time.Time
}

// CDPAPIURL is CDP's production base URL.
const CDPAPIURL = "https://api.cdp.coinbase.com/platform"

func newCDPClient(base, keyID, keySecret, walletSecret string, timeout time.Duration) (*cdpClient, error) {
	if base == "" {
		base = CDPAPIURL
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("config: cdpApiUrl must be an absolute http(s) URL")
	}
	if keyID == "" {
		return nil, errors.New("config: cdpApiKeyId is required for the cdp backend")
	}
	apiKey, err := parseCDPKey(keySecret)
	if err != nil {
		return nil, fmt.Errorf("config: cdpApiKeySecret: %v", err)
	}
	der, err := base64.StdEncoding.DecodeString(walletSecret)
	if err != nil {
		return nil, errors.New("config: cdpWalletSecret is base64 DER (PKCS#8) of a P-256 key")
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	wk, ok := k.(*ecdsa.PrivateKey)
	if err != nil || !ok {
		return nil, errors.New("config: cdpWalletSecret is base64 DER (PKCS#8) of a P-256 key")
	}
	return &cdpClient{base: u, keyID: keyID, apiKey: apiKey, wallet: wk, http: &http.Client{Timeout: timeout}, now: time.Now}, nil
}

// parseCDPKey tells the two API key formats apart by shape: base64 of 64
// bytes is Ed25519 (seed ‖ public key); a PEM "EC PRIVATE KEY" is P-256.
func parseCDPKey(s string) (crypto.Signer, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == ed25519.PrivateKeySize {
		return ed25519.PrivateKey(b), nil
	}
	blk, _ := pem.Decode([]byte(strings.ReplaceAll(s, `\n`, "\n")))
	if blk == nil {
		return nil, errors.New("want base64 Ed25519 (64 bytes) or a PEM EC private key")
	}
	if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		if ek, ok := k.(*ecdsa.PrivateKey); ok {
			return ek, nil
		}
	}
	return nil, errors.New("not a P-256 private key")
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// signJWT signs header.claims with key (EdDSA or ES256 by its type).
func signJWT(key crypto.Signer, header, claims map[string]any) (string, error) {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(c)
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(in))
	case *ecdsa.PrivateKey:
		d := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			return "", err
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	default:
		return "", errors.New("unsupported key")
	}
	return in + "." + b64(sig), nil
}

func algOf(key crypto.Signer) string {
	if _, ok := key.(ed25519.PrivateKey); ok {
		return "EdDSA"
	}
	return "ES256"
}

// sortedJSON is body re-encoded compactly with object keys sorted at every
// level and without Go's HTML escaping, as CDP hashes it.
func sortedJSON(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

var walletAuthPath = regexp.MustCompile(`/(evm|solana)/accounts`)

// cdpError is CDP's error body.
type cdpError struct {
	Status  int
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *cdpError) Error() string { return fmt.Sprintf("cdp %d %s: %s", e.Status, e.Type, e.Message) }

// do sends one request; path starts with /v2/. idem, when set, is the
// X-Idempotency-Key.
func (c *cdpClient) do(ctx context.Context, method, path string, body any, idem string, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	u := *c.base
	u.Path = c.base.Path + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(raw))
	if err != nil {
		return err
	}
	now := c.now().Unix()
	uri := method + " " + u.Host + u.Path
	bearer, err := signJWT(c.apiKey, map[string]any{"alg": algOf(c.apiKey), "kid": c.keyID, "typ": "JWT", "nonce": randHex(16)},
		map[string]any{"sub": c.keyID, "iss": "cdp", "iat": now, "nbf": now, "exp": now + 120, "uris": []string{uri}})
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	if method != http.MethodGet && walletAuthPath.MatchString(path) {
		claims := map[string]any{"uris": []string{uri}, "iat": now, "nbf": now, "jti": randHex(16)}
		if len(raw) > 0 {
			sorted, err := sortedJSON(raw)
			if err != nil {
				return err
			}
			h := sha256.Sum256(sorted)
			claims["reqHash"] = hex.EncodeToString(h[:])
		}
		wa, err := signJWT(c.wallet, map[string]any{"alg": "ES256", "typ": "JWT"}, claims)
		if err != nil {
			return err
		}
		req.Header.Set("X-Wallet-Auth", wa)
	}
	if idem != "" {
		req.Header.Set("X-Idempotency-Key", idem)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		e := &cdpError{Status: resp.StatusCode}
		_ = json.Unmarshal(b, e)
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

type cdpAccount struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

// account creates the owner's account, named after the owner so that a
// repeated creation finds the first (409 already_exists → by-name).
func (c *cdpClient) account(ctx context.Context, owner string) (*cdpAccount, error) {
	h := sha256.Sum256([]byte(owner))
	name := "ab-" + hex.EncodeToString(h[:16])
	var a cdpAccount
	err := c.do(ctx, http.MethodPost, "/v2/evm/accounts", map[string]any{"name": name}, "", &a)
	var ce *cdpError
	if errors.As(err, &ce) && ce.Status == http.StatusConflict {
		err = c.do(ctx, http.MethodGet, "/v2/evm/accounts/by-name/"+name, nil, "", &a)
	}
	return &a, err
}

func (c *cdpClient) signMessage(ctx context.Context, addr, msg string) (string, error) {
	var out struct {
		Signature string `json:"signature"`
	}
	err := c.do(ctx, http.MethodPost, "/v2/evm/accounts/"+addr+"/sign/message", map[string]any{"message": msg}, "", &out)
	return out.Signature, err
}

func (c *cdpClient) signTypedData(ctx context.Context, addr string, td json.RawMessage) (string, error) {
	var out struct {
		Signature string `json:"signature"`
	}
	err := c.do(ctx, http.MethodPost, "/v2/evm/accounts/"+addr+"/sign/typed-data", td, "", &out)
	return out.Signature, err
}

// send has CDP sign and send an unsigned EIP-1559 transaction; CDP fills in
// the nonce and gas.
func (c *cdpClient) send(ctx context.Context, addr, network string, unsigned []byte, idem string) (string, error) {
	var out struct {
		TransactionHash string `json:"transactionHash"`
	}
	err := c.do(ctx, http.MethodPost, "/v2/evm/accounts/"+addr+"/send/transaction",
		map[string]any{"network": network, "transaction": "0x" + hex.EncodeToString(unsigned)}, idem, &out)
	return out.TransactionHash, err
}
