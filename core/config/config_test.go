package config_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/ratelimit"
)

const (
	goodSecret = "0123456789abcdef0123456789abcdef" // 32 bytes
	goodKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
)

// env is a map-based Getenv.
func env(m map[string]string) config.Getenv {
	return func(name string) string { return m[name] }
}

// prodEnv is a minimal valid non-dev environment plus overrides.
func prodEnv(overrides map[string]string) map[string]string {
	m := map[string]string{"JWT_SECRET": goodSecret, "AGENTBOT_MASTER_KEY": goodKeyHex}
	maps.Copy(m, overrides)
	return m
}

// prodPayments turns machine payments on outside dev mode: USDC on Base,
// settled by a facilitator.
var prodPayments = map[string]string{
	"PAY_TO_ADDRESS":       "0x742d35cc6634c0532925a3b844bc9e7595f8fe00",
	"PAY_CHAIN_ID":         "8453",
	"PAY_ASSET":            "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
	"PAY_ASSET_NAME":       "USD Coin",
	"X402_FACILITATOR_URL": "https://facilitator.example.com",
}

// problems returns the variable names an invalid-configuration error blames,
// one per reported problem.
func problems(t *testing.T, err error) []string {
	t.Helper()
	lines := strings.Split(err.Error(), "\n")
	if !strings.HasPrefix(lines[0], "invalid configuration") {
		t.Fatalf("error %q does not start with \"invalid configuration\"", err)
	}
	var names []string
	for _, l := range lines[1:] {
		name, _, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			t.Fatalf("problem line %q does not name a variable", l)
		}
		names = append(names, name)
	}
	return names
}

func TestLoadDevDefaults(t *testing.T) {
	c, err := config.Load(env(map[string]string{"AGENTBOT_DEV": "true"}))
	if err != nil {
		t.Fatalf("Load(AGENTBOT_DEV=true) = %v; want nil", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, "127.0.0.1:8080"},
		{"DataDir", c.DataDir, "./data"},
		{"Dev", c.Dev, true},
		{"PublicURL", c.PublicURL, "http://127.0.0.1:8080"},
		{"Farcaster.AuthOrigin", c.Farcaster.AuthOrigin, "https://auth.farcaster.xyz"},
		{"Farcaster.Domain", c.Farcaster.Domain, "127.0.0.1"},
		{"TokenGate.Contract", c.TokenGate.Contract, "0x6eE72EEdefba8937Ec8c36DEd9b8C1eF9ca7A3dB"},
		{"TokenGate.Min", c.TokenGate.Min, "1"},
		{"TokenGate.Decimals", c.TokenGate.Decimals, -1},
		{"DatabaseURL", c.DatabaseURL, ""},
		{"RedisURL", c.RedisURL, ""},
		{"JWTSecret", c.JWTSecret, []byte(nil)},
		{"MasterKey", c.MasterKey, []byte(nil)},
		{"AdminEmails", c.AdminEmails, map[string]bool{}},
		{"MailFrom", c.MailFrom, "Agentbot <no-reply@agentbot.local>"},
		{"CORSOrigins", c.CORSOrigins, []string{"*"}},
		{"TrustedProxies", c.TrustedProxies, []netip.Prefix(nil)},
		{"RateLimits", c.RateLimits, ratelimit.Defaults()},
		{"BotFilter", c.BotFilter, true},
		{"BotHoneypot", c.BotHoneypot, "website"},
		{"BcryptCost", c.BcryptCost, 12},
		{"SessionTTL", c.SessionTTL, 720 * time.Hour},
		{"ShutdownGrace", c.ShutdownGrace, 30 * time.Second},
		{"LogLevel", c.LogLevel, "info"},
		{"LogFormat", c.LogFormat, "text"},
		{"LogBuffer", c.LogBuffer, 100 * time.Millisecond},
		{"LoginFailLimit", c.LoginFailLimit, int64(5)},
		{"LoginFailWin", c.LoginFailWin, 15 * time.Minute},
		{"EVM", c.EVM, config.EVMConfig{RPCTimeout: 10 * time.Second, SIWEChainIDs: []uint64{8453, 84532},
			Verify: config.VerifyConfig{EAS: addr("0x4200000000000000000000000000000000000021"),
				CoinbaseIndexer:  addr("0x2c7eE1E5f416dfF40054c27A62f7B357C4E8619C"),
				CoinbaseAttester: addr("0x357458739F90461b99789350868CD7CF330Dd7EE"),
				CoinbaseSchema:   [32]byte(must(hex.DecodeString("f8b05c79f090979bf4a80270aba232dff11a10d9ca55c4f88de95317970f0de9"))),
				ENSRegistry:      addr("0x00000000000C2E074eC69A0dFb2997BA6C7d2e1e")}}},
		{"Skills", c.Skills, config.SkillsConfig{Dir: "bin/skills", Timeout: 10 * time.Second, MemoryMB: 64,
			MaxOutputBytes: 1 << 20, MaxHostCalls: 10_000, WarmMB: 512, CacheModules: 32, CacheDiskMB: 1024,
			PublishPerDay: 20, StorageMB: 256, KVKeys: 1000, KVMB: 10}},
		{"Heartbeat", c.Heartbeat, config.HeartbeatConfig{Enabled: true, Sweep: time.Minute, Workers: 4, DailyBudgetMicroUSD: 1_000_000}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("Load(AGENTBOT_DEV=true).%s = %#v; want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestLoadValues(t *testing.T) {
	c, err := config.Load(env(prodEnv(map[string]string{
		"AGENTBOT_ADDR":                   "0.0.0.0:9000",
		"AGENTBOT_PUBLIC_URL":             "https://api.example.com/",
		"DATABASE_URL":                    "postgres://app@db/agentbot",
		"DATABASE_MIGRATE_URL":            "postgresql://owner@db/agentbot",
		"REDIS_URL":                       "rediss://cache:6380",
		"AGENTBOT_CORS_ORIGINS":           "https://app.example.com, http://localhost:3000",
		"AGENTBOT_TRUSTED_PROXIES":        "10.0.0.0/8, 192.0.2.7",
		"AGENTBOT_RATE_LIMITS":            "/api/chat=10-M",
		"AGENTBOT_BOT_FILTER":             "false",
		"AGENTBOT_BCRYPT_COST":            "4",
		"AGENTBOT_SESSION_TTL":            "2h",
		"AGENTBOT_LOG_LEVEL":              "DEBUG",
		"AGENTBOT_LOG_FORMAT":             "JSON",
		"AGENTBOT_LOG_BUFFER":             "0",
		"AGENTBOT_SKILL_TIMEOUT":          "30s",
		"AGENTBOT_SKILL_MAX_OUTPUT_BYTES": "65536",
		"AGENTBOT_SKILL_MAX_HOST_CALLS":   "500",
		"AGENTBOT_SKILL_WARM_MB":          "64",
		"AGENTBOT_SKILL_CACHE_MODULES":    "8",
		"AGENTBOT_SKILL_CACHE_DISK_MB":    "0",
		"AGENTBOT_SKILL_PUBLISH_PER_DAY":  "3",
		"AGENTBOT_SKILL_STORAGE_MB":       "50",
		"AGENTBOT_SKILL_KV_KEYS":          "100",
		"AGENTBOT_SKILL_KV_MB":            "2",
		"AGENTBOT_HEARTBEATS":             "false",
		"AGENTBOT_HEARTBEAT_SWEEP":        "15s",
		"AGENTBOT_HEARTBEAT_WORKERS":      "16",
		"AGENTBOT_HEARTBEAT_DAILY_BUDGET": "0.25",
	})))
	if err != nil {
		t.Fatalf("Load(valid production env) = %v; want nil", err)
	}
	wantKey, _ := hex.DecodeString(goodKeyHex)
	chat := -1
	for _, r := range c.RateLimits.Rules {
		if r.Prefix == "/api/chat" {
			chat = int(r.Rate.Limit)
		}
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"Dev", c.Dev, false},
		{"Addr", c.Addr, "0.0.0.0:9000"},
		{"PublicURL", c.PublicURL, "https://api.example.com"},
		{"DatabaseURL", c.DatabaseURL, "postgres://app@db/agentbot"},
		{"DatabaseMigrateURL", c.DatabaseMigrateURL, "postgresql://owner@db/agentbot"},
		{"RedisURL", c.RedisURL, "rediss://cache:6380"},
		{"JWTSecret", c.JWTSecret, []byte(goodSecret)},
		{"MasterKey", c.MasterKey, wantKey},
		{"CORSOrigins", c.CORSOrigins, []string{"https://app.example.com", "http://localhost:3000"}},
		{"TrustedProxies", c.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}},
		{"RateLimits /api/chat", chat, 10},
		{"BotFilter", c.BotFilter, false},
		{"BcryptCost", c.BcryptCost, 4},
		{"SessionTTL", c.SessionTTL, 2 * time.Hour},
		{"LogLevel", c.LogLevel, "debug"},
		{"LogFormat", c.LogFormat, "json"},
		{"LogBuffer", c.LogBuffer, time.Duration(0)},
		{"Skills", c.Skills, config.SkillsConfig{Dir: "bin/skills", Timeout: 30 * time.Second, MemoryMB: 64,
			MaxOutputBytes: 65536, MaxHostCalls: 500, WarmMB: 64, CacheModules: 8, CacheDiskMB: 0,
			PublishPerDay: 3, StorageMB: 50, KVKeys: 100, KVMB: 2}},
		{"Heartbeat", c.Heartbeat, config.HeartbeatConfig{Enabled: false, Sweep: 15 * time.Second, Workers: 16, DailyBudgetMicroUSD: 250_000}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("Load(valid production env).%s = %#v; want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestLoadProductionHasNoCORSDefault(t *testing.T) {
	c, err := config.Load(env(prodEnv(nil)))
	if err != nil {
		t.Fatalf("Load(production) = %v; want nil", err)
	}
	if len(c.CORSOrigins) != 0 {
		t.Errorf("Load(production).CORSOrigins = %q; want none", c.CORSOrigins)
	}
	c, err = config.Load(env(map[string]string{"AGENTBOT_DEV": "true", "AGENTBOT_CORS_ORIGINS": "https://app.example.com"}))
	if err != nil || !reflect.DeepEqual(c.CORSOrigins, []string{"https://app.example.com"}) {
		t.Errorf("Load(dev, explicit CORS) = %v, %v; want only https://app.example.com", c, err)
	}
}

func TestLoadRequiresSecretsOutsideDev(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"neither", map[string]string{}, []string{"JWT_SECRET", "AGENTBOT_MASTER_KEY"}},
		{"explicitly not dev", map[string]string{"AGENTBOT_DEV": "false"}, []string{"JWT_SECRET", "AGENTBOT_MASTER_KEY"}},
		{"no master key", map[string]string{"JWT_SECRET": goodSecret}, []string{"AGENTBOT_MASTER_KEY"}},
		{"no JWT secret", map[string]string{"AGENTBOT_MASTER_KEY": goodKeyHex}, []string{"JWT_SECRET"}},
		{"blank values", map[string]string{"JWT_SECRET": "  ", "AGENTBOT_MASTER_KEY": "\t"}, []string{"JWT_SECRET", "AGENTBOT_MASTER_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(env(tt.env))
			if err == nil {
				t.Fatalf("Load(%v) = %+v, nil; want an error", tt.env, c)
			}
			if c != nil {
				t.Errorf("Load(%v) returned a config with an error", tt.env)
			}
			if got := problems(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load(%v) blames %q; want %q (error: %v)", tt.env, got, tt.want, err)
			}
			if !strings.Contains(err.Error(), "required") {
				t.Errorf("Load(%v) = %v; want it to say the secrets are required", tt.env, err)
			}
		})
	}
}

// Outside dev mode, machine payments settle through a facilitator and name
// their chain, token and the token's EIP-712 name: the local recorder (which
// moves no money) and the Base Sepolia defaults are for dev mode only.
func TestLoadMachinePaymentsOutsideDev(t *testing.T) {
	without := func(names ...string) map[string]string {
		m := maps.Clone(prodPayments)
		for _, n := range names {
			delete(m, n)
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string // the variables blamed; nil: loads
	}{
		{"complete", prodPayments, nil},
		{"no facilitator", without("X402_FACILITATOR_URL"), []string{"X402_FACILITATOR_URL"}},
		{"no chain", without("PAY_CHAIN_ID"), []string{"PAY_CHAIN_ID"}},
		{"no asset", without("PAY_ASSET"), []string{"PAY_ASSET"}},
		{"no asset name", without("PAY_ASSET_NAME"), []string{"PAY_ASSET_NAME"}},
		{"only the recipient", without("X402_FACILITATOR_URL", "PAY_CHAIN_ID", "PAY_ASSET", "PAY_ASSET_NAME"),
			[]string{"PAY_CHAIN_ID", "PAY_ASSET", "PAY_ASSET_NAME", "X402_FACILITATOR_URL"}},
		{"payments off", map[string]string{}, nil},
		{"payments off, explicitly not dev", map[string]string{"AGENTBOT_DEV": "false"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(env(prodEnv(tt.env)))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load(%v) = %v; want nil", tt.env, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load(%v) = %+v, nil; want an error", tt.env, c.Payments)
			}
			got := problems(t, err)
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load(%v) blames %q; want %q (error: %v)", tt.env, got, want, err)
			}
			if !strings.Contains(err.Error(), "outside dev mode") {
				t.Errorf("Load(%v) = %v; want it to say why (outside dev mode)", tt.env, err)
			}
		})
	}
	c, err := config.Load(env(prodEnv(prodPayments)))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Payments; p.ChainID != 8453 || p.Asset != prodPayments["PAY_ASSET"] || p.AssetName != "USD Coin" ||
		p.FacilitatorURL != "https://facilitator.example.com" {
		t.Errorf("Payments = %+v; want the configured chain, asset, name and facilitator", p)
	}
}

// In dev mode, PAY_TO_ADDRESS alone turns machine payments on with the local
// recorder and USDC on Base Sepolia.
func TestLoadMachinePaymentsDevDefaults(t *testing.T) {
	c, err := config.Load(env(map[string]string{"AGENTBOT_DEV": "true", "PAY_TO_ADDRESS": prodPayments["PAY_TO_ADDRESS"]}))
	if err != nil {
		t.Fatalf("Load(dev, PAY_TO_ADDRESS) = %v; want nil", err)
	}
	want := config.PaymentsConfig{PayTo: prodPayments["PAY_TO_ADDRESS"], ChainID: 84532,
		Asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", AssetName: "USDC", AssetVersion: "2", AssetDecimals: 6,
		ChallengeTTL: 5 * time.Minute}
	if !reflect.DeepEqual(c.Payments, want) {
		t.Errorf("Payments = %+v; want %+v (no facilitator: the local recorder)", c.Payments, want)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name  string
		value string
	}{
		{"AGENTBOT_ADDR", "localhost"},
		{"AGENTBOT_ADDR", "127.0.0.1:99999"},
		{"AGENTBOT_ADDR", "127.0.0.1:65536"},
		{"JWT_SECRET", "too-short"},
		{"JWT_SECRET", goodSecret[:31]},
		{"AGENTBOT_MASTER_KEY", "not-a-key"},
		{"AGENTBOT_MASTER_KEY", goodKeyHex[:62]},                                     // 31 bytes of hex
		{"AGENTBOT_MASTER_KEY", goodKeyHex + "20"},                                   // 33 bytes of hex
		{"AGENTBOT_MASTER_KEY", base64.StdEncoding.EncodeToString(make([]byte, 16))}, // 16 bytes
		{"DATABASE_URL", "mysql://db/agentbot"},
		{"DATABASE_URL", "db.example.com:5432"},
		{"REDIS_URL", "http://cache:6379"},
		{"REDIS_URL", "cache:6379"},
		{"SMTP_URL", "http://mail.example.com"},
		{"MAIL_FROM", "not an address"},
		{"AGENTBOT_PUBLIC_URL", "ftp://files.example.com"},
		{"AGENTBOT_PUBLIC_URL", "api.example.com"},
		{"ADMIN_EMAILS", "admin@example.com, not-an-email"},
		{"ADMIN_EMAILS", "\u212aim@example.com"}, // the Kelvin sign, which Go folds to k
		{"AGENTBOT_VERIFY_TTL", "1m"},
		{"AGENTBOT_VERIFY_TTL", "1000h"},
		{"AGENTBOT_REFERRAL_MONTHLY_CAP", "-1"},
		{"AGENTBOT_HEARTBEATS", "sometimes"},
		{"AGENTBOT_HEARTBEAT_SWEEP", "500ms"},
		{"AGENTBOT_HEARTBEAT_SWEEP", "2h"},
		{"AGENTBOT_HEARTBEAT_SWEEP", "often"},
		{"AGENTBOT_HEARTBEAT_WORKERS", "0"},
		{"AGENTBOT_HEARTBEAT_DAILY_BUDGET", "-1"},
		{"AGENTBOT_HEARTBEAT_DAILY_BUDGET", "1.0000001"},
		{"AGENTBOT_READ_TIMEOUT", "500ms"},
		{"AGENTBOT_IDLE_TIMEOUT", "soon"},
		{"AGENTBOT_WRITE_TIMEOUT", "30s"}, // not longer than the plugin timeout
		{"AGENTBOT_CORS_ORIGINS", "app.example.com"},
		{"AGENTBOT_CORS_ORIGINS", "https://app.example.com/path"},
		{"AGENTBOT_CORS_ORIGINS", "https://ok.example.com,*.example.com"},
		{"AGENTBOT_TRUSTED_PROXIES", "10.0.0.300"},
		{"AGENTBOT_TRUSTED_PROXIES", "10.0.0.0/33"},
		{"AGENTBOT_RATE_LIMITS", "/api/chat=lots"},
		{"AGENTBOT_RATE_LIMITS", "api/chat=10-M"},
		{"AGENTBOT_SESSION_TTL", "forever"},
		{"AGENTBOT_SESSION_TTL", "1h"},
		{"AGENTBOT_SESSION_TTL", "-720h"},
		{"AGENTBOT_SHUTDOWN_GRACE", "0s"},
		{"AGENTBOT_SHUTDOWN_GRACE", "30"},
		{"AGENTBOT_LOGIN_FAILURE_WINDOW", "a while"},
		{"AGENTBOT_DEV", "yes"},
		{"EVM_RPC_URL", "base.example.com/rpc"},
		{"EVM_RPC_URL", "ws://base.example.com"},
		{"EVM_RPC_TIMEOUT", "0s"},
		{"SIWE_CHAIN_IDS", "8453,base"},
		{"SIWE_CHAIN_IDS", "0"},
		{"EAS_CONTRACT", "0x42"},
		{"EAS_SCHEMAS", "0xf8b05c79f090979bf4a80270aba232dff11a10d9ca55c4f88de95317970f0d"},
		{"EAS_ATTESTERS", "0x357458739F90461b99789350868CD7CF330Dd7EE,coinbase"},
		{"COINBASE_INDEXER", "0x2c7eE1E5f416dfF40054c27A62f7B357C4E8619c"}, // bad checksum
		{"COINBASE_SCHEMA", "verified-account"},
		{"ENS_RPC_URL", "eth.example.com"},
		{"ENS_REGISTRY", "0xZZ000000000C2E074eC69A0dFb2997BA6C7d2e1e"},
		{"FARCASTER_AUTH_ORIGIN", "auth.farcaster.xyz"},
		{"FARCASTER_AUTH_ORIGIN", "https://auth.farcaster.xyz/?x=1"},
		{"FARCASTER_DOMAIN", "https://agentbot.example"},
		{"FARCASTER_DOMAIN", "agentbot.example/app"},
		{"TOKEN_GATE_CONTRACT", "0x6EE72eEDEfBa8937Ec8c36dEd9B8c1ef9ca7A3db"}, // bad checksum
		{"TOKEN_GATE_CONTRACT", "rave"},
		{"TOKEN_GATE_MIN", "0"},
		{"TOKEN_GATE_MIN", "-1"},
		{"TOKEN_GATE_MIN", "1e18"},
		{"TOKEN_GATE_DECIMALS", "78"},
		{"TOKEN_GATE_DECIMALS", "six"},
		{"WALLET_DAILY_CAP", "-1"},
		{"WALLET_DAILY_CAP", "1.5"},
		{"WALLET_USDC_CONTRACT", "0x12"},
		{"WALLET_USDC_CONTRACT", "USDC"},
		{"CDP_API_KEY_ID", "organizations/o/apiKeys/k"},
		{"AGENTBOT_BOT_FILTER", "nah"},
		{"AGENTBOT_BCRYPT_COST", "3"},
		{"AGENTBOT_BCRYPT_COST", "32"},
		{"AGENTBOT_BCRYPT_COST", "twelve"},
		{"AGENTBOT_LOGIN_FAILURES", "0"},
		{"AGENTBOT_LOG_LEVEL", "verbose"},
		{"AGENTBOT_LOG_FORMAT", "xml"},
		{"AGENTBOT_LOG_BUFFER", "1m"},
		{"AGENTBOT_LOG_BUFFER", "-5ms"},
		{"STRIPE_API_BASE", "localhost:12111"},
		{"STRIPE_CREDIT_PACKS", "price_a"},
		{"STRIPE_CREDIT_PACKS", "price_a=-5"},
		{"STRIPE_CREDIT_PACKS", "price_a=1.0000001"},
		{"MPP_SECRET_KEY", "short"},
		{"PAY_TO_ADDRESS", "0x1234"},
		{"PAY_TO_ADDRESS", "0x742d35Cc6634C0532925a3b844Bc9e7595f8fE00"}, // bad checksum
		{"PAY_TO_ADDRESS", "742d35Cc6634C0532925a3b844Bc9e7595f8fE00aa"},
		{"PAY_ASSET", "0xZZ6CbD53842c5426634e7929541eC2318f3dCF7e"},
		{"PAY_CHAIN_ID", "base"},
		{"PAY_CHAIN_ID", "0"},
		{"PAY_ASSET_DECIMALS", "37"},
		{"X402_FACILITATOR_URL", "facilitator.example.com"},
		{"MPP_CHALLENGE_TTL", "1s"},
		{"AGENTBOT_SKILL_TIMEOUT", "10m"},
		{"AGENTBOT_SKILL_MAX_OUTPUT_BYTES", "9000000000000000000"},
		{"AGENTBOT_SKILL_MAX_OUTPUT_BYTES", "100"},
		{"AGENTBOT_SKILL_MAX_HOST_CALLS", "0"},
		{"AGENTBOT_SKILL_MAX_HOST_CALLS", "2000000000"},
		{"AGENTBOT_SKILL_WARM_MB", "0"},
		{"AGENTBOT_SKILL_CACHE_MODULES", "0"},
		{"AGENTBOT_SKILL_CACHE_DISK_MB", "-1"},
		{"AGENTBOT_SKILL_PUBLISH_PER_DAY", "0"},
		{"AGENTBOT_SKILL_STORAGE_MB", "lots"},
		{"AGENTBOT_SKILL_KV_KEYS", "0"},
		{"AGENTBOT_SKILL_KV_MB", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			e := prodEnv(nil)
			if strings.HasPrefix(tt.name, "PAY_") {
				// Machine payments on need their whole production setting.
				maps.Copy(e, prodPayments)
			}
			e[tt.name] = tt.value
			c, err := config.Load(env(e))
			if err == nil {
				t.Fatalf("Load(%s=%q) = %+v, nil; want an error", tt.name, tt.value, c)
			}
			if got := problems(t, err); !reflect.DeepEqual(got, []string{tt.name}) {
				t.Errorf("Load(%s=%q) blames %q; want [%s] (error: %v)", tt.name, tt.value, got, tt.name, err)
			}
		})
	}
}

func TestLoadMigrateURLNeedsDatabaseURL(t *testing.T) {
	_, err := config.Load(env(prodEnv(map[string]string{"DATABASE_MIGRATE_URL": "postgres://owner@db/agentbot"})))
	if err == nil {
		t.Fatal("Load(DATABASE_MIGRATE_URL without DATABASE_URL) = nil; want an error")
	}
	if got := problems(t, err); !reflect.DeepEqual(got, []string{"DATABASE_MIGRATE_URL"}) {
		t.Errorf("Load(DATABASE_MIGRATE_URL without DATABASE_URL) blames %q; want [DATABASE_MIGRATE_URL]", got)
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	bad := map[string]string{
		"AGENTBOT_ADDR":                 "nowhere",
		"JWT_SECRET":                    "short",
		"AGENTBOT_MASTER_KEY":           "zz",
		"DATABASE_URL":                  "mysql://db",
		"REDIS_URL":                     "memcached://cache",
		"ADMIN_EMAILS":                  "root",
		"AGENTBOT_CORS_ORIGINS":         "example.com",
		"AGENTBOT_TRUSTED_PROXIES":      "everyone",
		"AGENTBOT_RATE_LIMITS":          "/api=fast",
		"AGENTBOT_SESSION_TTL":          "1d",
		"AGENTBOT_SHUTDOWN_GRACE":       "-1s",
		"AGENTBOT_LOGIN_FAILURE_WINDOW": "soon",
		"AGENTBOT_BOT_FILTER":           "perhaps",
		"AGENTBOT_BCRYPT_COST":          "100",
		"AGENTBOT_LOG_LEVEL":            "chatty",
		"AGENTBOT_LOG_FORMAT":           "yaml",
	}
	_, err := config.Load(env(bad))
	if err == nil {
		t.Fatal("Load(every value bad) = nil; want an error")
	}
	got := map[string]bool{}
	for _, name := range problems(t, err) {
		got[name] = true
	}
	for name, value := range bad {
		if !got[name] {
			t.Errorf("Load(every value bad) does not report %s=%q; error:\n%v", name, value, err)
		}
		if !strings.Contains(err.Error(), value) && !secret[name] {
			t.Errorf("Load(every value bad) does not quote the bad value %q of %s", value, name)
		}
	}
}

// secret lists variables whose values may hold credentials; errors about them
// must not repeat the value.
var secret = map[string]bool{"JWT_SECRET": true, "AGENTBOT_MASTER_KEY": true, "DATABASE_URL": true,
	"DATABASE_MIGRATE_URL": true, "REDIS_URL": true, "SMTP_URL": true}

func TestLoadDoesNotEchoSecrets(t *testing.T) {
	tests := map[string]string{
		"JWT_SECRET":          "hunter2-but-short",
		"AGENTBOT_MASTER_KEY": "hunter2-not-a-key",
		"DATABASE_URL":        "mysql://app:hunter2@db/agentbot",
		"REDIS_URL":           "http://:hunter2@cache:6379",
		"SMTP_URL":            "http://user:hunter2@mail.example.com",
		"EVM_RPC_URL":         "wss://base-mainnet.example.com/v2/hunter2",
	}
	for name, value := range tests {
		_, err := config.Load(env(prodEnv(map[string]string{name: value})))
		if err == nil {
			t.Errorf("Load(%s=%q) = nil; want an error", name, value)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Load(%s=%q) = %v; want the error not to repeat the secret", name, value, err)
		}
	}
}

func TestLoadMasterKeyEncodings(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = 0xfb ^ byte(i) // yields '+' and '/' in standard base64
	}
	std := base64.StdEncoding.EncodeToString(key)
	if !strings.ContainsAny(std, "+/") {
		t.Fatalf("test key %q does not exercise the URL-safe alphabet", std)
	}
	tests := []struct {
		name, value string
	}{
		{"hex", hex.EncodeToString(key)},
		{"upper-case hex", strings.ToUpper(hex.EncodeToString(key))},
		{"base64", std},
		{"unpadded base64", base64.RawStdEncoding.EncodeToString(key)},
		{"URL-safe base64", base64.URLEncoding.EncodeToString(key)},
		{"unpadded URL-safe base64", base64.RawURLEncoding.EncodeToString(key)},
		{"surrounding spaces", "  " + hex.EncodeToString(key) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(env(prodEnv(map[string]string{"AGENTBOT_MASTER_KEY": tt.value})))
			if err != nil {
				t.Fatalf("Load(AGENTBOT_MASTER_KEY=%q) = %v; want nil", tt.value, err)
			}
			if !bytes.Equal(c.MasterKey, key) {
				t.Errorf("Load(AGENTBOT_MASTER_KEY=%q).MasterKey = %x; want %x", tt.value, c.MasterKey, key)
			}
		})
	}
}

func TestLoadAdminEmails(t *testing.T) {
	tests := []struct {
		value string
		want  map[string]bool
	}{
		{"", map[string]bool{}},
		{"Admin@Example.COM", map[string]bool{"admin@example.com": true}},
		{" a@example.com ,B@EXAMPLE.com,, ", map[string]bool{"a@example.com": true, "b@example.com": true}},
		{"Carol <Carol@Example.com>", map[string]bool{"carol@example.com": true}},
	}
	for _, tt := range tests {
		c, err := config.Load(env(prodEnv(map[string]string{"ADMIN_EMAILS": tt.value})))
		if err != nil {
			t.Errorf("Load(ADMIN_EMAILS=%q) = %v; want nil", tt.value, err)
			continue
		}
		if !reflect.DeepEqual(c.AdminEmails, tt.want) {
			t.Errorf("Load(ADMIN_EMAILS=%q).AdminEmails = %v; want %v", tt.value, c.AdminEmails, tt.want)
		}
	}
}

func TestLoadDevFlag(t *testing.T) {
	for _, v := range []string{"true", "1", "TRUE", "t"} {
		c, err := config.Load(env(map[string]string{"AGENTBOT_DEV": v}))
		if err != nil || !c.Dev {
			t.Errorf("Load(AGENTBOT_DEV=%q) = %v; want dev mode", v, err)
		}
	}
}

func devConfig(t *testing.T, dir string, extra map[string]string) *config.Config {
	t.Helper()
	m := map[string]string{"AGENTBOT_DEV": "true", "AGENTBOT_DATA_DIR": dir}
	maps.Copy(m, extra)
	c, err := config.Load(env(m))
	if err != nil {
		t.Fatalf("Load(dev, %s) = %v", dir, err)
	}
	return c
}

func TestEnsureDevSecrets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := devConfig(t, dir, nil)
	if err := c.EnsureDevSecrets(); err != nil {
		t.Fatalf("EnsureDevSecrets() = %v; want nil", err)
	}
	if len(c.JWTSecret) < 32 || len(c.MasterKey) != 32 {
		t.Fatalf("EnsureDevSecrets() gave a JWT secret of %d bytes and a master key of %d; want >= 32 and 32", len(c.JWTSecret), len(c.MasterKey))
	}
	if bytes.Equal(c.JWTSecret, c.MasterKey) {
		t.Errorf("EnsureDevSecrets() gave the same bytes for both secrets")
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir %s: %v, %v; want mode 0700", dir, fi.Mode(), err)
	}
	for _, name := range []string{"jwt_secret", "master_key"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("EnsureDevSecrets() did not write %s: %v", name, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v; want 0600", name, fi.Mode().Perm())
		}
	}
	jwt, key := c.JWTSecret, c.MasterKey

	if err := c.EnsureDevSecrets(); err != nil || !bytes.Equal(c.JWTSecret, jwt) || !bytes.Equal(c.MasterKey, key) {
		t.Errorf("second EnsureDevSecrets() = %v; want nil and the same secrets", err)
	}
	again := devConfig(t, dir, nil)
	if err := again.EnsureDevSecrets(); err != nil {
		t.Fatalf("EnsureDevSecrets() on a new Config = %v; want nil", err)
	}
	if !bytes.Equal(again.JWTSecret, jwt) || !bytes.Equal(again.MasterKey, key) {
		t.Errorf("EnsureDevSecrets() on a new Config generated new secrets; want the persisted ones")
	}

	other := devConfig(t, filepath.Join(t.TempDir(), "other"), nil)
	if err := other.EnsureDevSecrets(); err != nil {
		t.Fatalf("EnsureDevSecrets() in another dir = %v", err)
	}
	if bytes.Equal(other.JWTSecret, jwt) || bytes.Equal(other.MasterKey, key) {
		t.Errorf("EnsureDevSecrets() in another dir reused secrets; want fresh random ones")
	}
}

func TestEnsureDevSecretsKeepsConfigured(t *testing.T) {
	dir := t.TempDir()
	c := devConfig(t, dir, map[string]string{"JWT_SECRET": goodSecret})
	if err := c.EnsureDevSecrets(); err != nil {
		t.Fatalf("EnsureDevSecrets() = %v; want nil", err)
	}
	if string(c.JWTSecret) != goodSecret || len(c.MasterKey) != 32 {
		t.Errorf("EnsureDevSecrets() with JWT_SECRET set: JWT %q, master key of %d bytes; want the configured JWT and a generated key", c.JWTSecret, len(c.MasterKey))
	}
	if _, err := os.Stat(filepath.Join(dir, "jwt_secret")); !os.IsNotExist(err) {
		t.Errorf("EnsureDevSecrets() wrote jwt_secret although JWT_SECRET was set (stat: %v)", err)
	}

	dir = t.TempDir()
	c = devConfig(t, dir, map[string]string{"JWT_SECRET": goodSecret, "AGENTBOT_MASTER_KEY": goodKeyHex})
	if err := c.EnsureDevSecrets(); err != nil {
		t.Fatalf("EnsureDevSecrets() with both secrets = %v; want nil", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("EnsureDevSecrets() with both secrets wrote %v; want nothing", entries)
	}
}

func TestEnsureDevSecretsRefusesOutsideDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := &config.Config{DataDir: dir}
	if err := c.EnsureDevSecrets(); err == nil {
		t.Errorf("EnsureDevSecrets() outside dev = nil; want an error")
	}
	if c.JWTSecret != nil || c.MasterKey != nil {
		t.Errorf("EnsureDevSecrets() outside dev set secrets")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("EnsureDevSecrets() outside dev created %s (stat: %v)", dir, err)
	}

	key, _ := hex.DecodeString(goodKeyHex)
	c = &config.Config{DataDir: dir, JWTSecret: []byte(goodSecret), MasterKey: key}
	if err := c.EnsureDevSecrets(); err != nil {
		t.Errorf("EnsureDevSecrets() outside dev with secrets set = %v; want nil", err)
	}
}

func TestEnsureDevSecretsRejectsDamagedFiles(t *testing.T) {
	tests := []struct {
		name, file, content string
	}{
		{"JWT secret not hex", "jwt_secret", "not hex\n"},
		{"JWT secret empty", "jwt_secret", ""},
		{"JWT secret short", "jwt_secret", "abcd\n"},
		{"master key not hex", "master_key", "zz\n"},
		{"master key empty", "master_key", "\n"},
		{"master key short", "master_key", goodKeyHex[:62] + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			c := devConfig(t, dir, nil)
			err := c.EnsureDevSecrets()
			if err == nil {
				t.Fatalf("EnsureDevSecrets() with %s = %q: nil (JWT %d bytes, key %d bytes); want an error",
					tt.file, tt.content, len(c.JWTSecret), len(c.MasterKey))
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("EnsureDevSecrets() = %v; want it to name %s", err, dir)
			}
		})
	}
}

func addr(s string) evm.Address { return must(evm.ParseAddress(s)) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLoadWalletDefaults(t *testing.T) {
	c, err := config.Load(env(map[string]string{"AGENTBOT_DEV": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	want := config.WalletConfig{DailyCap: 10_000_000, USDC: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", Network: "base",
		CDPAPIURL: "https://api.cdp.coinbase.com/platform"}
	if c.Wallet != want {
		t.Errorf("Wallet = %+v; want %+v", c.Wallet, want)
	}
	c, err = config.Load(env(map[string]string{"AGENTBOT_DEV": "true", "WALLET_DAILY_CAP": "0", "WALLET_NETWORK": "base-sepolia",
		"WALLET_USDC_CONTRACT": "0x036CbD53842c5426634e7929541eC2318f3dCF7e"}))
	if err != nil || c.Wallet.DailyCap != 0 || c.Wallet.Network != "base-sepolia" || c.Wallet.USDC != "0x036CbD53842c5426634e7929541eC2318f3dCF7e" {
		t.Errorf("Wallet = %+v, %v; want cap 0 on base-sepolia", c.Wallet, err)
	}
}
