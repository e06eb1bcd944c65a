// Package config reads the service's configuration from the environment
// (the README's Configuration table), validates every value with a message naming the variable, and
// creates the dev-mode secrets it may generate. Only cmd/ calls it.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/quickauth"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/tokengate"
)

// Config is the validated configuration.
type Config struct {
	Addr      string
	DataDir   string
	Dev       bool
	PublicURL string

	DatabaseURL        string
	DatabaseMigrateURL string
	RedisURL           string

	JWTSecret []byte
	MasterKey []byte // 32 bytes

	AdminEmails    map[string]bool
	SMTPURL        string
	MailFrom       string
	CORSOrigins    []string
	TrustedProxies []netip.Prefix
	RateLimits     ratelimit.Rules

	// Plugins: a JSON file of plugin specs, or (when empty) the first-party
	// plugins found in PluginDir.
	PluginsFile     string
	PluginDir       string
	PluginTimeout   time.Duration
	StreamKeepAlive time.Duration
	// GatewayPrices overrides per-call prices, in micro-USD, by gateway id.
	GatewayPrices map[string]int64
	AI            AIConfig
	RenderMCPURL  string
	Skills        SkillsConfig
	Billing       BillingConfig
	Payments      PaymentsConfig
	EVM           EVMConfig
	Farcaster     FarcasterConfig
	TokenGate     TokenGateConfig
	Wallet        WalletConfig

	BotFilter     bool
	BotHoneypot   string
	BcryptCost    int
	SessionTTL    time.Duration
	KeyCacheTTL   time.Duration
	ShutdownGrace time.Duration
	LogLevel      string
	LogFormat     string
	// LogBuffer is how long an info or debug log line may wait in memory
	// before it is written out (core/logbuf); 0 writes every line at once.
	LogBuffer      time.Duration
	LoginFailLimit int64
	LoginFailWin   time.Duration

	// VerifyTTL is how long an email verification link works.
	VerifyTTL time.Duration
	// ReferralMonthlyCap: referrals one referrer is paid for per month.
	ReferralMonthlyCap int
	Heartbeat          HeartbeatConfig
	// MetricsAddr, when set, serves GET /metrics there to anyone who can
	// reach it (a private address); unset, /metrics is on the main
	// listener for admins.
	MetricsAddr string
	// OTLPEndpoint is where traces go (OTLP over HTTP); empty: no tracing.
	OTLPEndpoint string
	Channels     ChannelsConfig
	// HTTP server timeouts: reading a whole request, keeping an idle
	// connection, and writing a response (a stream resets its write deadline
	// with each chunk instead, and ignores the read deadline).
	ReadTimeout, IdleTimeout, WriteTimeout time.Duration
}

// HeartbeatConfig runs agents' heartbeats (package agents/heartbeat).
type HeartbeatConfig struct {
	// Enabled runs the scheduler on this node; schedules can be set either way.
	Enabled bool
	// Sweep is how often the elected leader enqueues due heartbeats.
	Sweep time.Duration
	// Workers bounds the heartbeats this node runs at once.
	Workers int
	// DailyBudgetMicroUSD bounds one agent's heartbeat spend in any 24 hours
	// (0: only each run's own budget).
	DailyBudgetMicroUSD int64
}

// ChannelsConfig is the chat channels' APIs and the connectors' pacing.
type ChannelsConfig struct {
	// Enabled runs receivers and answers inbound messages on this node;
	// provisioning and webhooks work either way.
	Enabled bool
	// TelegramURL, DiscordURL (REST, with its version), DiscordGatewayURL
	// (empty: asked of Discord) and WhatsAppURL (Graph, with its version)
	// are the channels' APIs; tests point them at local fakes.
	TelegramURL, DiscordURL, DiscordGatewayURL, WhatsAppURL string
	// LeaseTTL bounds how long a crashed node keeps a bot: another node
	// takes it over within about LeaseTTL plus Tick.
	LeaseTTL, Tick time.Duration
	// StallAfter is how long a poller or Gateway session may go without a
	// completed poll or acknowledged heartbeat before it is restarted.
	StallAfter time.Duration
	// PollTimeout is Telegram's long-poll wait.
	PollTimeout time.Duration
	// ClaimTTL bounds how long a message a crashed node was answering
	// waits before another node answers it.
	ClaimTTL time.Duration
	// ChatPerMinute bounds the messages of one chat an agent answers in a
	// minute.
	ChatPerMinute int
	// Workers bounds the messages this node answers at once.
	Workers int
}

// AIConfig is the AI provider's upstreams; keys may be empty.
type AIConfig struct {
	OpenAIBaseURL, OpenAIKey         string
	AnthropicBaseURL, AnthropicKey   string
	OpenRouterBaseURL, OpenRouterKey string
	GroqBaseURL, GroqKey             string
	GeminiBaseURL, GeminiKey         string
	// ModelsFile is an optional JSON model table replacing the default one.
	ModelsFile   string
	DefaultModel string
}

// SkillsConfig bounds WebAssembly skills.
type SkillsConfig struct {
	// Dir holds the shipped skills `make build` produced (name.wasm + name.json).
	Dir string
	// Timeout, MemoryMB, MaxOutputBytes and MaxHostCalls are the maxima of a
	// call, which always apply; a manifest may ask for less, and one asking
	// for more is refused at publish.
	Timeout        time.Duration
	MemoryMB       int
	MaxOutputBytes int
	MaxHostCalls   int
	// Fresh gives every call a fresh instance instead of per-user pools.
	Fresh bool
	// WarmMB bounds the memory of all warm instances together.
	WarmMB int
	// CacheModules bounds the compiled modules kept in memory, CacheDiskMB
	// the on-disk compilation cache (0: none).
	CacheModules int
	CacheDiskMB  int
	// PublishPerDay and StorageMB bound what one account may publish: versions
	// in any 24 hours, and megabytes of modules.
	PublishPerDay int
	StorageMB     int
	// KVKeys and KVMB bound one user's key-value store for one skill.
	KVKeys int
	KVMB   int
	// HTTPHosts are the hosts skills may fetch from ("*": any host a manifest
	// declares); HTTPAllowPrivate lets them reach non-public addresses.
	HTTPHosts        []string
	HTTPAllowPrivate bool
}

// BillingConfig is Stripe and the plans (docs/api-conventions.md#plans-and-payment). Billing through Stripe
// is disabled when SecretKey is empty; plans and credits work regardless.
type BillingConfig struct {
	StripeSecretKey     string
	StripeAPIBase       string // https://api.stripe.com unless overridden (stripe-mock in tests)
	StripeWebhookSecret string
	// PlanPrices maps a plan (solo, collective, label, network) to its Stripe
	// price id (STRIPE_PRICE_SOLO, …).
	PlanPrices map[string]string
	// CreditPacks maps an allow-listed Stripe price id to the credits it buys,
	// in micro-USD (STRIPE_CREDIT_PACKS="price_a=10,price_b=50").
	CreditPacks map[string]int64
	// StoragePrice is the Stripe price id of the storage upgrade.
	StoragePrice string
	// PlansFile is an optional JSON file overriding the plans' limits and model lists.
	PlansFile string
}

// PaymentsConfig is machine payments (MPP and x402) per call.
type PaymentsConfig struct {
	// MPPSecret binds challenges (HMAC); derived from the master key when unset.
	MPPSecret []byte
	// Realm is the MPP realm; the public URL's host when unset.
	Realm string
	// PayTo receives payments (0x address); machine payments are off when empty.
	PayTo   string
	ChainID int64
	Asset   string // ERC-20 token with EIP-3009 (0x address)
	// AssetName, AssetVersion: the token's EIP-712 domain; AssetDecimals its decimals.
	AssetName     string
	AssetVersion  string
	AssetDecimals int
	// FacilitatorURL settles through an x402 facilitator; unset → the local
	// recorder, which moves no money and is allowed in dev mode only.
	FacilitatorURL string
	// ChallengeTTL is how long a challenge stays payable.
	ChallengeTTL time.Duration
}

// EVMConfig is the EVM chain the gateway reads (JSON-RPC) and sign-in with
// Ethereum.
type EVMConfig struct {
	// RPCURL is the JSON-RPC endpoint (EVM_RPC_URL); empty: no chain, so
	// smart-wallet sign-in and the chain reads report unavailable.
	RPCURL string
	// RPCTimeout bounds each JSON-RPC call.
	RPCTimeout time.Duration
	// SIWEChainIDs are the chain ids a sign-in message may name.
	SIWEChainIDs []uint64
	Verify       VerifyConfig
}

// VerifyConfig is agent verification (/api/agents/:id/verify): where EAS,
// Coinbase Verifications and ENS live, and which attestations count.
type VerifyConfig struct {
	// EAS is the EAS contract on the EVM_RPC_URL chain (EAS_CONTRACT).
	EAS evm.Address
	// Schemas and Attesters are the eas type's allow-lists (EAS_SCHEMAS,
	// EAS_ATTESTERS); empty allows any.
	Schemas   [][32]byte
	Attesters []evm.Address
	// CoinbaseIndexer, CoinbaseAttester and CoinbaseSchema: the coinbase
	// type's attestation index, attester and schema (COINBASE_*).
	CoinbaseIndexer  evm.Address
	CoinbaseAttester evm.Address
	CoinbaseSchema   [32]byte
	// ENSRPCURL is the chain ENS is read on (ENS_RPC_URL); empty: EVM_RPC_URL.
	ENSRPCURL string
	// ENSRegistry is ENS's registry there (ENS_REGISTRY).
	ENSRegistry evm.Address
}

// FarcasterConfig is Farcaster Quick Auth sign-in.
type FarcasterConfig struct {
	// AuthOrigin is the Quick Auth server: the tokens' issuer, whose keys
	// are at <AuthOrigin>/.well-known/jwks.json.
	AuthOrigin string
	// Domain is the audience a token must name: our host.
	Domain string
}

// TokenGateConfig is token gating: a minimum balance of an ERC-20 token,
// read through EVM_RPC_URL.
type TokenGateConfig struct {
	Contract string // 0x address
	Min      string // whole tokens, a positive decimal
	Decimals int    // -1: read decimals() from the contract
	Symbol   string
}

// WalletConfig is the wallets the gateway holds for users and agents (the
// wallet plugin). Their keys are sealed with a key derived from
// AGENTBOT_MASTER_KEY.
type WalletConfig struct {
	// DailyCap is how much USDC, in base units (6 decimals), one wallet may
	// send per UTC day (WALLET_DAILY_CAP).
	DailyCap int64
	// USDC is the token contract transfers and balances use.
	USDC string
	// Network names the chain in answers ("base"); with CDP, its network
	// name ("base", "base-sepolia").
	Network string
	// CDP* select the "cdp" backend (Coinbase Developer Platform holds the
	// keys) when CDPAPIKeyID is set; otherwise keys are "local".
	CDPAPIURL, CDPAPIKeyID, CDPAPIKeySecret, CDPWalletSecret string
}

// Plans are the plan names, cheapest first.
var Plans = []string{"solo", "collective", "label", "network"}

// Getenv reads one variable; os.Getenv in production, a map in tests.
type Getenv func(string) string

// Load reads and validates the configuration. All problems are reported at once.
func Load(getenv Getenv) (*Config, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	get := func(name, def string) string {
		if v, ok := lookup(getenv, name); ok {
			return v
		}
		return def
	}
	c := &Config{
		Addr:               get("AGENTBOT_ADDR", "127.0.0.1:8080"),
		DataDir:            get("AGENTBOT_DATA_DIR", "./data"),
		DatabaseURL:        get("DATABASE_URL", ""),
		DatabaseMigrateURL: get("DATABASE_MIGRATE_URL", ""),
		RedisURL:           get("REDIS_URL", ""),
		SMTPURL:            get("SMTP_URL", ""),
		MailFrom:           get("MAIL_FROM", "Agentbot <no-reply@agentbot.local>"),
		BotHoneypot:        get("AGENTBOT_BOT_HONEYPOT", "website"),
		LogLevel:           strings.ToLower(get("AGENTBOT_LOG_LEVEL", "info")),
		LogFormat:          strings.ToLower(get("AGENTBOT_LOG_FORMAT", "text")),
	}

	c.Dev = boolVar(get("AGENTBOT_DEV", "false"), "AGENTBOT_DEV", bad)
	c.BotFilter = boolVar(get("AGENTBOT_BOT_FILTER", "true"), "AGENTBOT_BOT_FILTER", bad)

	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("AGENTBOT_ADDR", "%q is not host:port (%v)", c.Addr, err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("AGENTBOT_ADDR", "port %q is not a number from 0 to 65535", port)
	}
	if c.DataDir == "" {
		bad("AGENTBOT_DATA_DIR", "must not be empty")
	}
	for _, v := range []struct{ name, val string }{{"DATABASE_URL", c.DatabaseURL}, {"DATABASE_MIGRATE_URL", c.DatabaseMigrateURL}} {
		if v.val != "" && !strings.HasPrefix(v.val, "postgres://") && !strings.HasPrefix(v.val, "postgresql://") {
			bad(v.name, "must be a postgres:// or postgresql:// URL")
		}
	}
	if c.DatabaseMigrateURL != "" && c.DatabaseURL == "" {
		bad("DATABASE_MIGRATE_URL", "is set but DATABASE_URL is not")
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		bad("REDIS_URL", "must be a redis:// or rediss:// URL")
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			bad("SMTP_URL", "must look like smtp://user:pass@host:port or smtps://…")
		}
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		bad("MAIL_FROM", "%q is not a mail address", c.MailFrom)
	}

	c.PublicURL = strings.TrimRight(get("AGENTBOT_PUBLIC_URL", "http://"+c.Addr), "/")
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("AGENTBOT_PUBLIC_URL", "%q must be an absolute http(s) URL", c.PublicURL)
	}

	c.AdminEmails = map[string]bool{}
	for _, e := range splitList(get("ADMIN_EMAILS", "")) {
		a, err := mail.ParseAddress(e)
		if err != nil {
			bad("ADMIN_EMAILS", "%q is not an email address", e)
			continue
		}
		// "Name <addr>" is accepted; only the address is matched, in the
		// canonical form accounts store (lower-case ASCII), and only once
		// the account has verified it.
		if !isPrintableASCII(a.Address) {
			bad("ADMIN_EMAILS", "%q must be printable ASCII (an internationalised domain in its xn-- form)", e)
			continue
		}
		c.AdminEmails[strings.ToLower(a.Address)] = true
	}

	origins := get("AGENTBOT_CORS_ORIGINS", "")
	if origins == "" && c.Dev {
		origins = "*"
	}
	for _, o := range splitList(origins) {
		if o != "*" {
			if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
				bad("AGENTBOT_CORS_ORIGINS", "%q is not an origin like https://app.example.com", o)
				continue
			}
		}
		c.CORSOrigins = append(c.CORSOrigins, o)
	}

	var err error
	if c.TrustedProxies, err = ratelimit.ParseTrusted(get("AGENTBOT_TRUSTED_PROXIES", "")); err != nil {
		bad("AGENTBOT_TRUSTED_PROXIES", "%v", err)
	}
	if c.RateLimits, err = ratelimit.ParseRules(ratelimit.Defaults(), get("AGENTBOT_RATE_LIMITS", "")); err != nil {
		bad("AGENTBOT_RATE_LIMITS", "%v", err)
	}

	c.PluginsFile = get("AGENTBOT_PLUGINS", "")
	c.PluginDir = get("AGENTBOT_PLUGIN_DIR", "bin/plugins")
	c.PluginTimeout = durationVar(get("AGENTBOT_PLUGIN_TIMEOUT", "30s"), "AGENTBOT_PLUGIN_TIMEOUT", bad)
	c.StreamKeepAlive = durationVar(get("AGENTBOT_STREAM_KEEPALIVE", "10s"), "AGENTBOT_STREAM_KEEPALIVE", bad)
	c.GatewayPrices = map[string]int64{}
	for _, kv := range splitList(get("AGENTBOT_GATEWAY_PRICES", "")) {
		id, price, ok := strings.Cut(kv, "=")
		micro, err := money.ParseUSD(price)
		if !ok || strings.TrimSpace(id) == "" || err != nil {
			bad("AGENTBOT_GATEWAY_PRICES", "entry %q must be id=USD (e.g. generate-text=0.01, at most 6 decimals)", kv)
			continue
		}
		c.GatewayPrices[strings.TrimSpace(id)] = micro
	}
	c.AI = AIConfig{
		OpenAIBaseURL: get("OPENAI_BASE_URL", "https://api.openai.com/v1"), OpenAIKey: get("OPENAI_API_KEY", ""),
		AnthropicBaseURL: get("ANTHROPIC_BASE_URL", "https://api.anthropic.com/v1"), AnthropicKey: get("ANTHROPIC_API_KEY", ""),
		OpenRouterBaseURL: get("OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1"), OpenRouterKey: get("OPENROUTER_API_KEY", ""),
		GroqBaseURL: get("GROQ_BASE_URL", "https://api.groq.com/openai/v1"), GroqKey: get("GROQ_API_KEY", ""),
		GeminiBaseURL: get("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com/v1beta/openai"), GeminiKey: get("GEMINI_API_KEY", ""),
		ModelsFile: get("AGENTBOT_AI_MODELS", ""), DefaultModel: get("AGENTBOT_AI_DEFAULT_MODEL", ""),
	}
	for name, v := range map[string]string{"OPENAI_BASE_URL": c.AI.OpenAIBaseURL, "ANTHROPIC_BASE_URL": c.AI.AnthropicBaseURL,
		"OPENROUTER_BASE_URL": c.AI.OpenRouterBaseURL, "GROQ_BASE_URL": c.AI.GroqBaseURL, "GEMINI_BASE_URL": c.AI.GeminiBaseURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "%q must be an absolute http(s) URL", v)
		}
	}
	c.RenderMCPURL = get("RENDER_MCP_URL", "https://mcp.render.com/mcp")
	if u, err := url.Parse(c.RenderMCPURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("RENDER_MCP_URL", "%q must be an absolute http(s) URL", c.RenderMCPURL)
	}

	c.Skills = SkillsConfig{
		Dir:              get("AGENTBOT_SKILL_DIR", "bin/skills"),
		Timeout:          durationVar(get("AGENTBOT_SKILL_TIMEOUT", "10s"), "AGENTBOT_SKILL_TIMEOUT", bad),
		MemoryMB:         intVar(get("AGENTBOT_SKILL_MEMORY_MB", "64"), "AGENTBOT_SKILL_MEMORY_MB", 8, 4096, bad),
		MaxOutputBytes:   intVar(get("AGENTBOT_SKILL_MAX_OUTPUT_BYTES", "1048576"), "AGENTBOT_SKILL_MAX_OUTPUT_BYTES", 1<<10, 64<<20, bad),
		MaxHostCalls:     intVar(get("AGENTBOT_SKILL_MAX_HOST_CALLS", "10000"), "AGENTBOT_SKILL_MAX_HOST_CALLS", 1, 1_000_000, bad),
		WarmMB:           intVar(get("AGENTBOT_SKILL_WARM_MB", "512"), "AGENTBOT_SKILL_WARM_MB", 1, 1<<20, bad),
		CacheModules:     intVar(get("AGENTBOT_SKILL_CACHE_MODULES", "32"), "AGENTBOT_SKILL_CACHE_MODULES", 1, 100_000, bad),
		CacheDiskMB:      intVar(get("AGENTBOT_SKILL_CACHE_DISK_MB", "1024"), "AGENTBOT_SKILL_CACHE_DISK_MB", 0, 1<<30, bad),
		PublishPerDay:    intVar(get("AGENTBOT_SKILL_PUBLISH_PER_DAY", "20"), "AGENTBOT_SKILL_PUBLISH_PER_DAY", 1, 1_000_000, bad),
		StorageMB:        intVar(get("AGENTBOT_SKILL_STORAGE_MB", "256"), "AGENTBOT_SKILL_STORAGE_MB", 1, 1<<30, bad),
		KVKeys:           intVar(get("AGENTBOT_SKILL_KV_KEYS", "1000"), "AGENTBOT_SKILL_KV_KEYS", 1, 100_000_000, bad),
		KVMB:             intVar(get("AGENTBOT_SKILL_KV_MB", "10"), "AGENTBOT_SKILL_KV_MB", 1, 1<<20, bad),
		HTTPHosts:        splitList(get("AGENTBOT_SKILL_HTTP_HOSTS", "")),
		HTTPAllowPrivate: boolVar(get("AGENTBOT_SKILL_HTTP_ALLOW_PRIVATE", "false"), "AGENTBOT_SKILL_HTTP_ALLOW_PRIVATE", bad),
	}
	if c.Skills.Timeout > 5*time.Minute {
		bad("AGENTBOT_SKILL_TIMEOUT", "must be at most 5m (a skill call holds a run slot that long)")
	}
	switch iso := get("AGENTBOT_SKILL_ISOLATION", "pool"); iso {
	case "pool":
	case "fresh":
		c.Skills.Fresh = true
	default:
		bad("AGENTBOT_SKILL_ISOLATION", "%q is not pool or fresh", iso)
	}

	c.Billing = BillingConfig{
		StripeSecretKey:     get("STRIPE_SECRET_KEY", ""),
		StripeAPIBase:       strings.TrimRight(get("STRIPE_API_BASE", "https://api.stripe.com"), "/"),
		StripeWebhookSecret: get("STRIPE_WEBHOOK_SECRET", ""),
		PlanPrices:          map[string]string{},
		CreditPacks:         map[string]int64{},
		StoragePrice:        get("STRIPE_PRICE_STORAGE", ""),
		PlansFile:           get("AGENTBOT_PLANS", ""),
	}
	if u, err := url.Parse(c.Billing.StripeAPIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("STRIPE_API_BASE", "%q must be an absolute http(s) URL", c.Billing.StripeAPIBase)
	}
	for _, plan := range Plans {
		name := "STRIPE_PRICE_" + strings.ToUpper(plan)
		if v := get(name, ""); v != "" {
			c.Billing.PlanPrices[plan] = v
		}
	}
	for _, kv := range splitList(get("STRIPE_CREDIT_PACKS", "")) {
		id, credits, ok := strings.Cut(kv, "=")
		micro, err := money.ParseUSD(credits)
		if !ok || strings.TrimSpace(id) == "" || err != nil || micro <= 0 {
			bad("STRIPE_CREDIT_PACKS", "entry %q must be price_id=credits (e.g. price_123=10)", kv)
			continue
		}
		c.Billing.CreditPacks[strings.TrimSpace(id)] = micro
	}

	// Chain, token and the token's EIP-712 name default to USDC on Base
	// Sepolia (a testnet) in dev mode only: a production gateway names the
	// money it takes (USDC's EIP-712 name is "USDC" on Base Sepolia but
	// "USD Coin" on Base, and a wrong one makes every signature unsettleable).
	devChain, devAsset, devAssetName := "", "", ""
	if c.Dev {
		devChain, devAsset, devAssetName = "84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC"
	}
	c.Payments = PaymentsConfig{
		Realm:          get("MPP_REALM", ""),
		PayTo:          get("PAY_TO_ADDRESS", ""),
		Asset:          get("PAY_ASSET", devAsset),
		AssetName:      get("PAY_ASSET_NAME", devAssetName),
		AssetVersion:   get("PAY_ASSET_VERSION", "2"),
		AssetDecimals:  intVar(get("PAY_ASSET_DECIMALS", "6"), "PAY_ASSET_DECIMALS", 0, 36, bad),
		FacilitatorURL: strings.TrimRight(get("X402_FACILITATOR_URL", ""), "/"),
		ChallengeTTL:   durationVar(get("MPP_CHALLENGE_TTL", "5m"), "MPP_CHALLENGE_TTL", bad),
	}
	if v := get("MPP_SECRET_KEY", ""); v != "" {
		if len(v) < 32 {
			bad("MPP_SECRET_KEY", "must be at least 32 bytes (got %d)", len(v))
		}
		c.Payments.MPPSecret = []byte(v)
	}
	if v := get("PAY_CHAIN_ID", devChain); v == "" {
		if c.Payments.PayTo != "" {
			bad("PAY_CHAIN_ID", "is required when PAY_TO_ADDRESS is set outside dev mode (e.g. 8453 for Base); "+
				"only dev mode defaults to Base Sepolia (84532)")
		}
	} else if n, err := strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
		bad("PAY_CHAIN_ID", "must be a positive integer chain id")
	} else {
		c.Payments.ChainID = n
	}
	for name, v := range map[string]string{"PAY_TO_ADDRESS": c.Payments.PayTo, "PAY_ASSET": c.Payments.Asset} {
		if _, err := evm.ParseAddress(v); v != "" && err != nil {
			bad(name, "%q is not a 0x-prefixed 20-byte address with a valid EIP-55 checksum (or all lower case)", v)
		}
	}
	if c.Payments.PayTo != "" && c.Payments.Asset == "" {
		bad("PAY_ASSET", "is required when PAY_TO_ADDRESS is set outside dev mode (the EIP-3009 token's 0x address, "+
			"e.g. USDC on your chain); only dev mode defaults to USDC on Base Sepolia")
	}
	if c.Payments.PayTo != "" && c.Payments.AssetName == "" {
		bad("PAY_ASSET_NAME", "is required when PAY_TO_ADDRESS is set outside dev mode (the token's EIP-712 domain name, "+
			"its name() on chain: \"USD Coin\" for USDC on Base); only dev mode defaults to \"USDC\" (Base Sepolia)")
	}
	if v := c.Payments.FacilitatorURL; v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("X402_FACILITATOR_URL", "%q must be an absolute http(s) URL", v)
		}
	} else if c.Payments.PayTo != "" && !c.Dev {
		// Without a facilitator, payments go to the local recorder, which
		// accepts any validly signed authorization and moves no money.
		bad("X402_FACILITATOR_URL", "is required when PAY_TO_ADDRESS is set outside dev mode: without a facilitator "+
			"payments are only recorded and no money moves (the local recorder is for dev mode)")
	}
	if c.Payments.ChallengeTTL > 0 && (c.Payments.ChallengeTTL < 10*time.Second || c.Payments.ChallengeTTL > 24*time.Hour) {
		bad("MPP_CHALLENGE_TTL", "must be between 10s and 24h")
	}

	c.EVM = EVMConfig{
		RPCURL:     get("EVM_RPC_URL", ""),
		RPCTimeout: durationVar(get("EVM_RPC_TIMEOUT", "10s"), "EVM_RPC_TIMEOUT", bad),
	}
	if v := c.EVM.RPCURL; v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("EVM_RPC_URL", "must be an absolute http(s) URL") // the value is not echoed: it may hold an API key
		}
	}
	for _, v := range splitList(get("SIWE_CHAIN_IDS", "8453,84532")) {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			bad("SIWE_CHAIN_IDS", "%q is not a positive chain id (a comma list such as 8453,84532)", v)
			continue
		}
		c.EVM.SIWEChainIDs = append(c.EVM.SIWEChainIDs, n)
	}
	c.EVM.Verify = loadVerify(get, bad)

	c.Farcaster.AuthOrigin = strings.TrimRight(get("FARCASTER_AUTH_ORIGIN", quickauth.DefaultOrigin), "/")
	if u, err := url.Parse(c.Farcaster.AuthOrigin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		bad("FARCASTER_AUTH_ORIGIN", "%q must be an absolute http(s) URL (the Quick Auth server, e.g. %s)", c.Farcaster.AuthOrigin, quickauth.DefaultOrigin)
	}
	defaultDomain := ""
	if u, err := url.Parse(c.PublicURL); err == nil {
		defaultDomain = u.Hostname()
	}
	c.Farcaster.Domain = get("FARCASTER_DOMAIN", defaultDomain)
	// Blamed only when set: an empty default comes from a bad public URL,
	// which is reported already.
	if d := c.Farcaster.Domain; getenv("FARCASTER_DOMAIN") != "" && strings.ContainsAny(d, "/?#@ ") {
		bad("FARCASTER_DOMAIN", "%q must be a bare host name such as agentbot.example", d)
	}
	c.TokenGate = TokenGateConfig{Contract: get("TOKEN_GATE_CONTRACT", tokengate.DefaultContract),
		Min: get("TOKEN_GATE_MIN", "1"), Decimals: -1, Symbol: get("TOKEN_GATE_SYMBOL", "RAVE")}
	if _, err := evm.ParseAddress(c.TokenGate.Contract); err != nil {
		bad("TOKEN_GATE_CONTRACT", "%q must be the token's 0x address (40 hex digits)", c.TokenGate.Contract)
	}
	if err := tokengate.ParseMin(c.TokenGate.Min); err != nil {
		bad("TOKEN_GATE_MIN", "%q must be a positive amount of whole tokens such as 1 or 0.5", c.TokenGate.Min)
	}
	if v := get("TOKEN_GATE_DECIMALS", ""); v != "" {
		c.TokenGate.Decimals = intVar(v, "TOKEN_GATE_DECIMALS", 0, 77, bad)
	}

	c.Wallet = WalletConfig{
		USDC:            get("WALLET_USDC_CONTRACT", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"),
		Network:         get("WALLET_NETWORK", "base"),
		CDPAPIURL:       get("CDP_API_URL", "https://api.cdp.coinbase.com/platform"),
		CDPAPIKeyID:     get("CDP_API_KEY_ID", ""),
		CDPAPIKeySecret: get("CDP_API_KEY_SECRET", ""),
		CDPWalletSecret: get("CDP_WALLET_SECRET", ""),
	}
	if c.Wallet.CDPAPIKeyID != "" && (c.Wallet.CDPAPIKeySecret == "" || c.Wallet.CDPWalletSecret == "") {
		bad("CDP_API_KEY_ID", "needs CDP_API_KEY_SECRET and CDP_WALLET_SECRET as well")
	}
	if n, err := strconv.ParseInt(get("WALLET_DAILY_CAP", "10000000"), 10, 64); err != nil || n < 0 {
		bad("WALLET_DAILY_CAP", "must be a whole number of USDC base units (6 decimals: 10000000 is 10 USDC), 0 or more")
	} else {
		c.Wallet.DailyCap = n
	}
	if v := c.Wallet.USDC; len(v) != 42 || !strings.HasPrefix(v, "0x") || strings.Trim(strings.ToLower(v[2:]), "0123456789abcdef") != "" {
		bad("WALLET_USDC_CONTRACT", "%q is not an 0x address", v)
	}

	c.BcryptCost = intVar(get("AGENTBOT_BCRYPT_COST", "12"), "AGENTBOT_BCRYPT_COST", 4, 31, bad)
	c.LoginFailLimit = int64(intVar(get("AGENTBOT_LOGIN_FAILURES", "5"), "AGENTBOT_LOGIN_FAILURES", 1, 1000, bad))
	c.LoginFailWin = durationVar(get("AGENTBOT_LOGIN_FAILURE_WINDOW", "15m"), "AGENTBOT_LOGIN_FAILURE_WINDOW", bad)
	c.SessionTTL = durationVar(get("AGENTBOT_SESSION_TTL", "720h"), "AGENTBOT_SESSION_TTL", bad)
	if v := get("AGENTBOT_KEY_CACHE_TTL", "10s"); v == "0" {
		c.KeyCacheTTL = 0
	} else {
		c.KeyCacheTTL = durationVar(v, "AGENTBOT_KEY_CACHE_TTL", bad)
	}
	c.ShutdownGrace = durationVar(get("AGENTBOT_SHUTDOWN_GRACE", "30s"), "AGENTBOT_SHUTDOWN_GRACE", bad)
	if v := get("AGENTBOT_LOG_BUFFER", "100ms"); v != "0" {
		c.LogBuffer = durationVar(v, "AGENTBOT_LOG_BUFFER", bad)
		if c.LogBuffer > 10*time.Second {
			bad("AGENTBOT_LOG_BUFFER", "must be at most 10s, or a crash would lose that much of the log")
		}
	}
	c.VerifyTTL = durationVar(get("AGENTBOT_VERIFY_TTL", "24h"), "AGENTBOT_VERIFY_TTL", bad)
	if c.VerifyTTL > 0 && (c.VerifyTTL < 10*time.Minute || c.VerifyTTL > 7*24*time.Hour) {
		bad("AGENTBOT_VERIFY_TTL", "must be between 10m and 168h")
	}
	c.ReferralMonthlyCap = intVar(get("AGENTBOT_REFERRAL_MONTHLY_CAP", "20"), "AGENTBOT_REFERRAL_MONTHLY_CAP", 0, 100000, bad)
	c.Heartbeat = HeartbeatConfig{
		Enabled: boolVar(get("AGENTBOT_HEARTBEATS", "true"), "AGENTBOT_HEARTBEATS", bad),
		Sweep:   durationVar(get("AGENTBOT_HEARTBEAT_SWEEP", "1m"), "AGENTBOT_HEARTBEAT_SWEEP", bad),
		Workers: intVar(get("AGENTBOT_HEARTBEAT_WORKERS", "4"), "AGENTBOT_HEARTBEAT_WORKERS", 1, 1000, bad),
	}
	if c.Heartbeat.Sweep > 0 && (c.Heartbeat.Sweep < time.Second || c.Heartbeat.Sweep > time.Hour) {
		bad("AGENTBOT_HEARTBEAT_SWEEP", "must be between 1s and 1h")
	}
	if b, err := money.ParseUSD(get("AGENTBOT_HEARTBEAT_DAILY_BUDGET", "1")); err != nil || b < 0 {
		bad("AGENTBOT_HEARTBEAT_DAILY_BUDGET", "must be an amount in USD like 0.50 (at most 6 decimals; 0: no daily bound)")
	} else {
		c.Heartbeat.DailyBudgetMicroUSD = b
	}
	c.MetricsAddr = get("AGENTBOT_METRICS_ADDR", "")
	c.OTLPEndpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	if base := strings.TrimRight(get("OTEL_EXPORTER_OTLP_ENDPOINT", ""), "/"); c.OTLPEndpoint == "" && base != "" {
		c.OTLPEndpoint = base + "/v1/traces"
	}
	if u, err := url.Parse(c.OTLPEndpoint); c.OTLPEndpoint != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("OTEL_EXPORTER_OTLP_ENDPOINT", "%q must be an absolute http(s) URL", c.OTLPEndpoint)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("AGENTBOT_METRICS_ADDR", "%q must be host:port", c.MetricsAddr)
		}
	}
	c.Channels = ChannelsConfig{
		Enabled:           boolVar(get("AGENTBOT_CHANNELS", "true"), "AGENTBOT_CHANNELS", bad),
		TelegramURL:       strings.TrimRight(get("TELEGRAM_API_URL", "https://api.telegram.org"), "/"),
		DiscordURL:        strings.TrimRight(get("DISCORD_API_URL", "https://discord.com/api/v10"), "/"),
		DiscordGatewayURL: get("DISCORD_GATEWAY_URL", ""),
		WhatsAppURL:       strings.TrimRight(get("WHATSAPP_API_URL", "https://graph.facebook.com/v21.0"), "/"),
		LeaseTTL:          durationVar(get("AGENTBOT_CHANNEL_LEASE", "15s"), "AGENTBOT_CHANNEL_LEASE", bad),
		Tick:              durationVar(get("AGENTBOT_CHANNEL_TICK", "5s"), "AGENTBOT_CHANNEL_TICK", bad),
		StallAfter:        durationVar(get("AGENTBOT_CHANNEL_STALL", "90s"), "AGENTBOT_CHANNEL_STALL", bad),
		ClaimTTL:          durationVar(get("AGENTBOT_CHANNEL_CLAIM", "30s"), "AGENTBOT_CHANNEL_CLAIM", bad),
		ChatPerMinute:     intVar(get("AGENTBOT_CHANNEL_CHAT_PER_MINUTE", "20"), "AGENTBOT_CHANNEL_CHAT_PER_MINUTE", 1, 100000, bad),
		PollTimeout:       durationVar(get("TELEGRAM_POLL_TIMEOUT", "25s"), "TELEGRAM_POLL_TIMEOUT", bad),
		Workers:           intVar(get("AGENTBOT_CHANNEL_WORKERS", "4"), "AGENTBOT_CHANNEL_WORKERS", 1, 1000, bad),
	}
	for name, raw := range map[string]string{"TELEGRAM_API_URL": c.Channels.TelegramURL, "DISCORD_API_URL": c.Channels.DiscordURL,
		"WHATSAPP_API_URL": c.Channels.WhatsAppURL} {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "%q must be an absolute http(s) URL", raw)
		}
	}
	if g := c.Channels.DiscordGatewayURL; g != "" {
		if u, err := url.Parse(g); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			bad("DISCORD_GATEWAY_URL", "%q must be an absolute ws(s) URL", g)
		}
	}
	if ch := c.Channels; ch.LeaseTTL < time.Second || ch.ClaimTTL < time.Second || ch.Tick < 100*time.Millisecond || ch.StallAfter < time.Second ||
		ch.PollTimeout < time.Second || ch.PollTimeout > 50*time.Second {
		bad("AGENTBOT_CHANNEL_LEASE", "channel timings out of range: lease ≥ 1s, tick ≥ 100ms, stall ≥ 1s, Telegram poll 1s–50s")
	}
	c.ReadTimeout = durationVar(get("AGENTBOT_READ_TIMEOUT", "60s"), "AGENTBOT_READ_TIMEOUT", bad)
	c.IdleTimeout = durationVar(get("AGENTBOT_IDLE_TIMEOUT", "120s"), "AGENTBOT_IDLE_TIMEOUT", bad)
	c.WriteTimeout = durationVar(get("AGENTBOT_WRITE_TIMEOUT", "120s"), "AGENTBOT_WRITE_TIMEOUT", bad)
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"AGENTBOT_READ_TIMEOUT", c.ReadTimeout}, {"AGENTBOT_IDLE_TIMEOUT", c.IdleTimeout}, {"AGENTBOT_WRITE_TIMEOUT", c.WriteTimeout}} {
		if v.d > 0 && v.d < time.Second {
			bad(v.name, "must be at least 1s")
		}
	}
	if c.WriteTimeout > 0 && c.PluginTimeout >= c.WriteTimeout {
		bad("AGENTBOT_WRITE_TIMEOUT", "must be longer than AGENTBOT_PLUGIN_TIMEOUT (%v), or slow calls could never answer", c.PluginTimeout)
	}
	if c.SessionTTL > 0 && c.SessionTTL < 2*time.Hour {
		bad("AGENTBOT_SESSION_TTL", "must be at least 2h")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("AGENTBOT_LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("AGENTBOT_LOG_FORMAT", "%q is not text or json", c.LogFormat)
	}

	if v := get("JWT_SECRET", ""); v != "" {
		if len(v) < 32 {
			bad("JWT_SECRET", "must be at least 32 bytes (got %d)", len(v))
		}
		c.JWTSecret = []byte(v)
	} else if !c.Dev {
		bad("JWT_SECRET", "is required outside dev mode (at least 32 bytes; e.g. `openssl rand -hex 32`)")
	}
	if v := get("AGENTBOT_MASTER_KEY", ""); v != "" {
		if c.MasterKey, err = decodeKey(v); err != nil {
			bad("AGENTBOT_MASTER_KEY", "%v", err)
		}
	} else if !c.Dev {
		bad("AGENTBOT_MASTER_KEY", "is required outside dev mode (32 bytes as 64 hex characters or base64)")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n  %w", joinIndented(errs))
	}
	return c, nil
}

// EnsureDevSecrets generates JWT_SECRET and AGENTBOT_MASTER_KEY when they are
// unset (dev mode only), persisted in the data directory so that sessions and
// encrypted data survive restarts.
func (c *Config) EnsureDevSecrets() error {
	if len(c.JWTSecret) > 0 && len(c.MasterKey) > 0 {
		return nil
	}
	if !c.Dev {
		return errors.New("secrets are missing outside dev mode")
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("AGENTBOT_DATA_DIR: %w", err)
	}
	load := func(name string) ([]byte, error) {
		p := filepath.Join(c.DataDir, name)
		if b, err := os.ReadFile(p); err == nil {
			k, err := hex.DecodeString(strings.TrimSpace(string(b)))
			if err != nil || len(k) != 32 {
				return nil, fmt.Errorf("%s must hold 32 bytes as 64 hex characters (delete it to generate a new one)", p)
			}
			return k, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		if err := os.WriteFile(p, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
			return nil, err
		}
		return k, nil
	}
	var err error
	if len(c.JWTSecret) == 0 {
		if c.JWTSecret, err = load("jwt_secret"); err != nil {
			return fmt.Errorf("dev JWT secret: %w", err)
		}
	}
	if len(c.MasterKey) == 0 {
		if c.MasterKey, err = load("master_key"); err != nil {
			return fmt.Errorf("dev master key: %w", err)
		}
	}
	return nil
}

func lookup(getenv Getenv, name string) (string, bool) {
	v := strings.TrimSpace(getenv(name))
	return v, v != ""
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

func boolVar(v, name string, bad func(string, string, ...any)) bool {
	b, err := strconv.ParseBool(v)
	if err != nil {
		bad(name, "%q is not a boolean (true/false)", v)
	}
	return b
}

func intVar(v, name string, min, max int, bad func(string, string, ...any)) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		bad(name, "%q is not an integer from %d to %d", v, min, max)
	}
	return n
}

func durationVar(v, name string, bad func(string, string, ...any)) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		bad(name, "%q is not a positive duration like 30s or 15m", v)
	}
	return d
}

func decodeKey(v string) ([]byte, error) {
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("must be 32 bytes as 64 hex characters or base64")
}

type indented []error

func (e indented) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "\n  ")
}

func joinIndented(errs []error) error { return indented(errs) }

// loadVerify reads the agent-verification variables. The defaults are the
// production contracts: EAS's predeploy and Coinbase Verifications on Base,
// ENS's registry on Ethereum mainnet.
func loadVerify(get func(string, string) string, bad func(string, string, ...any)) VerifyConfig {
	addr := func(name, def string) evm.Address {
		a, err := evm.ParseAddress(get(name, def))
		if err != nil {
			bad(name, "must be a 0x address (40 hex digits)")
		}
		return a
	}
	uid := func(name, v string) [32]byte {
		b, err := evm.ParseBytes32(strings.ToLower(v))
		if err != nil {
			bad(name, "%q is not a schema uid (0x and 64 hex digits)", v)
		}
		return b
	}
	v := VerifyConfig{
		EAS:              addr("EAS_CONTRACT", "0x4200000000000000000000000000000000000021"),
		CoinbaseIndexer:  addr("COINBASE_INDEXER", "0x2c7eE1E5f416dfF40054c27A62f7B357C4E8619C"),
		CoinbaseAttester: addr("COINBASE_ATTESTER", "0x357458739F90461b99789350868CD7CF330Dd7EE"),
		CoinbaseSchema:   uid("COINBASE_SCHEMA", get("COINBASE_SCHEMA", "0xf8b05c79f090979bf4a80270aba232dff11a10d9ca55c4f88de95317970f0de9")),
		ENSRPCURL:        get("ENS_RPC_URL", ""),
		ENSRegistry:      addr("ENS_REGISTRY", "0x00000000000C2E074eC69A0dFb2997BA6C7d2e1e"),
	}
	for _, s := range splitList(get("EAS_SCHEMAS", "")) {
		v.Schemas = append(v.Schemas, uid("EAS_SCHEMAS", s))
	}
	for _, s := range splitList(get("EAS_ATTESTERS", "")) {
		a, err := evm.ParseAddress(s)
		if err != nil {
			bad("EAS_ATTESTERS", "%q is not a 0x address", s)
			continue
		}
		v.Attesters = append(v.Attesters, a)
	}
	if u := v.ENSRPCURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("ENS_RPC_URL", "must be an absolute http(s) URL") // not echoed: it may hold an API key
		}
	}
	return v
}
