package wallet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/agentbot/gateway/core/evm"
)

// Config is the plugin's configuration, as the host writes it.
type Config struct {
	// Backend is "local" (the default: keys made and sealed here) or "cdp"
	// (accounts Coinbase Developer Platform holds; what is sealed is then
	// the account's address).
	Backend string `json:"backend,omitempty"`
	// SealKey is 32 bytes in hex: the AES-256-GCM key sealed keys are
	// encrypted with. Required for "local".
	SealKey string `json:"sealKey,omitempty"`
	// RPCURL is the chain's JSON-RPC endpoint; empty: balances and transfers
	// answer 503 CHAIN_UNAVAILABLE.
	RPCURL string `json:"rpcUrl,omitempty"`
	// RPCTimeout bounds one JSON-RPC request ("10s" by default).
	RPCTimeout string `json:"rpcTimeout,omitempty"`
	// ChainID is the chain transactions are signed for; 0: ask the node.
	ChainID uint64 `json:"chainId,omitempty"`
	// USDC is the token contract transfers and balances use (USDC on Base
	// by default).
	USDC string `json:"usdc,omitempty"`
	// Network names the chain in answers ("base" by default); for "cdp" it
	// is CDP's network name ("base", "base-sepolia").
	Network string `json:"network,omitempty"`
	// CDP's base URL (CDPAPIURL by default), API key id and secret (base64
	// Ed25519 or PEM P-256) and Wallet Secret (base64 PKCS#8 P-256): "cdp" only.
	CDPAPIURL       string `json:"cdpApiUrl,omitempty"`
	CDPAPIKeyID     string `json:"cdpApiKeyId,omitempty"`
	CDPAPIKeySecret string `json:"cdpApiKeySecret,omitempty"`
	CDPWalletSecret string `json:"cdpWalletSecret,omitempty"`
}

// USDCBase is USDC's contract on Base mainnet.
const USDCBase = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"

// settings are the decoded configuration.
type settings struct {
	sealKey    []byte
	rpcURL     string
	rpcTimeout time.Duration
	chainID    uint64
	usdc       evm.Address
	network    string
	cdp        *cdpClient // nil for "local"
}

func parseSettings(raw json.RawMessage) (*settings, error) {
	var c Config
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
	}
	if c.Backend != "" && c.Backend != "local" && c.Backend != "cdp" {
		return nil, fmt.Errorf("config: backend %q: want \"local\" or \"cdp\"", c.Backend)
	}
	s := &settings{rpcURL: c.RPCURL, rpcTimeout: 10 * time.Second, chainID: c.ChainID, network: c.Network}
	if s.network == "" {
		s.network = "base"
	}
	key, err := hex.DecodeString(c.SealKey)
	if err != nil || len(key) != 32 {
		return nil, errors.New("config: sealKey must be 32 bytes in hex")
	}
	s.sealKey = key
	if c.RPCURL != "" {
		u, err := url.Parse(c.RPCURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("config: rpcUrl must be an absolute http(s) URL") // not echoed: it may hold an API key
		}
	}
	if c.RPCTimeout != "" {
		d, err := time.ParseDuration(c.RPCTimeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("config: rpcTimeout %q: want a positive duration", c.RPCTimeout)
		}
		s.rpcTimeout = d
	}
	usdc := c.USDC
	if usdc == "" {
		usdc = USDCBase
	}
	if s.usdc, err = evm.ParseAddress(usdc); err != nil {
		return nil, fmt.Errorf("config: usdc: %v", err)
	}
	if c.Backend == "cdp" {
		if s.cdp, err = newCDPClient(c.CDPAPIURL, c.CDPAPIKeyID, c.CDPAPIKeySecret, c.CDPWalletSecret, s.rpcTimeout); err != nil {
			return nil, err
		}
	}
	return s, nil
}
