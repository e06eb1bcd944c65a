package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/x402"
	"github.com/agentbot/gateway/payments"
)

// machinePayments builds the gateway's machine payments from the
// configuration: nil (off) without PAY_TO_ADDRESS. Claims go to Redis when
// REDIS_URL is set, else to the database; settlement goes to the x402
// facilitator when X402_FACILITATOR_URL is set, else (dev mode only) to the
// local recorder.
// rdb is the application's Redis client (nil without REDIS_URL); it is not
// closed here.
func machinePayments(cfg *config.Config, st *store.Store, rdb *redis.Client, log *slog.Logger) (*payments.Machine, error) {
	pc := cfg.Payments
	if pc.PayTo == "" {
		log.Info("machine payments off: PAY_TO_ADDRESS is not set")
		return nil, nil
	}
	if pc.FacilitatorURL == "" && !cfg.Dev {
		// config.Load refuses this too; the local recorder moves no money.
		return nil, fmt.Errorf("X402_FACILITATOR_URL is required for machine payments outside dev mode")
	}
	payTo, err := evm.ParseAddress(pc.PayTo)
	if err != nil {
		return nil, fmt.Errorf("PAY_TO_ADDRESS: %w", err)
	}
	asset, err := evm.ParseAddress(pc.Asset)
	if err != nil {
		return nil, fmt.Errorf("PAY_ASSET: %w", err)
	}
	secret := pc.MPPSecret
	if len(secret) == 0 {
		// Derived from the master key: stable across restarts and nodes.
		m := hmac.New(sha256.New, cfg.MasterKey)
		m.Write([]byte("agentbot/mpp-challenge-secret/v1"))
		secret = m.Sum(nil)
	}
	realm := pc.Realm
	if realm == "" {
		if u, err := url.Parse(cfg.PublicURL); err == nil {
			realm = u.Hostname()
		}
	}
	mp := &payments.Machine{
		Issuer:    mpp.Issuer{Secret: secret, Realm: realm, TTL: pc.ChallengeTTL},
		PayTo:     payTo,
		Domain:    evm.Domain{Name: pc.AssetName, Version: pc.AssetVersion, ChainID: pc.ChainID, VerifyingContract: asset},
		Decimals:  pc.AssetDecimals,
		PublicURL: cfg.PublicURL,
		Claims:    payments.StoreClaims{Store: st},
		Settler:   payments.LocalSettler{},
		Store:     st,
		Log:       log,
	}
	if rdb != nil {
		mp.Claims = payments.RedisClaims{Client: rdb, Prefix: "agentbot:paid:"}
	}
	settlement := "local recorder (no money moves)"
	if pc.FacilitatorURL != "" {
		mp.Settler = payments.FacilitatorSettler{Facilitator: &x402.Facilitator{URL: pc.FacilitatorURL,
			HTTP: &http.Client{Timeout: 30 * time.Second}}}
		settlement = pc.FacilitatorURL
	}
	log.Info("machine payments on", "pay_to", payTo.Hex(), "chain", pc.ChainID, "asset", asset.Hex(),
		"realm", realm, "settlement", settlement)
	return mp, nil
}
