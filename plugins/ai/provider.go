package ai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/agentbot/gateway/plugins/ai/upstream"
	"github.com/agentbot/gateway/sdk/provider"
)

// Provider implements provider.Provider and its optional interfaces.
type Provider struct {
	config atomic.Pointer[Config]
	// HTTPClient is used for upstream calls (nil: a default client).
	HTTPClient *http.Client
	now        func() time.Time
}

var (
	_ provider.Provider    = (*Provider)(nil)
	_ provider.Configurer  = (*Provider)(nil)
	_ provider.Streamer    = (*Provider)(nil)
	_ provider.HTTPHandler = (*Provider)(nil)
)

// New returns a provider with the default configuration.
func New() *Provider {
	p := &Provider{now: time.Now}
	cfg := DefaultConfig()
	p.config.Store(&cfg)
	return p
}

func (p *Provider) cfg() *Config { return p.config.Load() }

// Metadata implements provider.Provider.
func (p *Provider) Metadata(context.Context, *provider.MetadataRequest) (*provider.MetadataResponse, error) {
	return &provider.MetadataResponse{Name: "ai", Version: "1.0.0",
		Capabilities: []provider.Capability{
			{ID: "generate-text", Description: "Text generation (LLM inference)", Streaming: true, PriceMicroUSD: 10_000},
			{ID: "agent", Description: "Agent orchestrator request", Streaming: true, PriceMicroUSD: 50_000},
			{ID: "tts", Description: "Text-to-speech synthesis", PriceMicroUSD: 30_000},
			{ID: "stt", Description: "Speech-to-text transcription", PriceMicroUSD: 20_000},
		},
		Routes: []provider.Route{
			{Method: "GET", Path: "/api/ai/health"},
			{Method: "GET", Path: "/api/ai/models"},
			{Method: "GET", Path: "/api/ai/models/:provider"},
			{Method: "POST", Path: "/api/ai/models/select"},
			{Method: "POST", Path: "/api/ai/chat"},
			{Method: "POST", Path: "/api/ai/estimate-cost"},
		}}, nil
}

// Configure implements provider.Configurer.
func (p *Provider) Configure(_ context.Context, req *provider.ConfigureRequest) (*provider.ConfigureResponse, error) {
	cfg, err := parseConfig(req.Config)
	if err != nil {
		return &provider.ConfigureResponse{Error: provider.Errorf(400, "INVALID_CONFIG", "%v", err)}, nil
	}
	p.config.Store(&cfg)
	return &provider.ConfigureResponse{}, nil
}

// chatInput is the input of generate-text, agent and /api/ai/chat.
type chatInput struct {
	Messages    []upstream.Message `json:"messages"`
	Prompt      string             `json:"prompt"`
	Message     string             `json:"message"`
	Model       string             `json:"model"`
	TaskType    string             `json:"taskType"`
	Temperature *float64           `json:"temperature"`
	TopP        *float64           `json:"top_p"`
	MaxTokens   *int               `json:"max_tokens"`
	System      string             `json:"systemPrompt"`
	Tools       []toolInput        `json:"tools"`
	ToolChoice  string             `json:"toolChoice"`
}

func badInput(format string, args ...any) *provider.Error {
	return provider.Errorf(400, "VALIDATION_ERROR", format, args...)
}

// prepare validates a chat input, gates the model by plan and picks the
// upstream, with the caller's own key first.
func (p *Provider) prepare(raw json.RawMessage, caller provider.Caller, agent bool) (upstream.Chatter, Model, upstream.ChatRequest, *provider.Error) {
	var in chatInput
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &in); err != nil {
			e := badInput("Invalid input: %v", err)
			if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && te.Field != "" {
				e.Fields = map[string]any{"field": te.Field}
			}
			return nil, Model{}, upstream.ChatRequest{}, e
		}
	}
	msgs := in.Messages
	if len(msgs) == 0 {
		text := in.Prompt
		if text == "" {
			text = in.Message
		}
		if strings.TrimSpace(text) == "" {
			return nil, Model{}, upstream.ChatRequest{}, badInput("messages must be a non-empty array (or give prompt)")
		}
		msgs = []upstream.Message{{Role: "user", Content: text}}
	}
	if perr := checkMessages(msgs); perr != nil {
		return nil, Model{}, upstream.ChatRequest{}, perr
	}
	tools, perr := checkTools(in.Tools, in.ToolChoice)
	if perr != nil {
		return nil, Model{}, upstream.ChatRequest{}, perr
	}
	if in.Temperature != nil && (*in.Temperature < 0 || *in.Temperature > 2) {
		return nil, Model{}, upstream.ChatRequest{}, badInput("temperature must be between 0 and 2")
	}
	if in.TopP != nil && (*in.TopP < 0 || *in.TopP > 1) {
		return nil, Model{}, upstream.ChatRequest{}, badInput("top_p must be between 0 and 1")
	}
	if in.MaxTokens != nil && (*in.MaxTokens < 1 || *in.MaxTokens > maxTokensCeiling) {
		return nil, Model{}, upstream.ChatRequest{}, badInput("max_tokens must be between 1 and %d", maxTokensCeiling)
	}
	// The price of a call is flat, so what it buys is capped by the caller's
	// plan: more is refused, and a request naming no max_tokens gets the cap.
	lim := p.limits(caller)
	if in.MaxTokens == nil {
		in.MaxTokens = &lim.MaxTokens
	} else if *in.MaxTokens > lim.MaxTokens {
		e := provider.Errorf(400, "MAX_TOKENS_EXCEEDED", "max_tokens %d is over your plan's limit of %d; ask for at most %d or upgrade",
			*in.MaxTokens, lim.MaxTokens, lim.MaxTokens)
		e.Fields = map[string]any{"limit": lim.MaxTokens}
		return nil, Model{}, upstream.ChatRequest{}, e
	}
	if size := promptBytes(in.System, msgs, in.Tools); size > lim.MaxPromptBytes {
		e := provider.Errorf(400, "PROMPT_TOO_LARGE", "The prompt is %d bytes; your plan's limit is %d bytes", size, lim.MaxPromptBytes)
		e.Fields = map[string]any{"limit": lim.MaxPromptBytes, "size": size}
		return nil, Model{}, upstream.ChatRequest{}, e
	}
	if agent {
		sys := in.System
		if sys == "" {
			sys = p.cfg().SystemPrompt
		}
		msgs = append([]upstream.Message{{Role: "system", Content: sys}}, msgs...)
	}
	allowed := p.allowed(caller.Plan, caller.Admin)
	var m Model
	if in.Model != "" {
		var ok bool
		if m, ok = p.model(in.Model); !ok {
			return nil, Model{}, upstream.ChatRequest{}, provider.Errorf(404, "MODEL_NOT_FOUND", "Unknown model %q", in.Model)
		}
		if !slices.Contains(allowed, m.ID) {
			e := provider.Errorf(403, "MODEL_RESTRICTED", "Model %s not available on your plan. Upgrade for more models.", m.ID)
			e.Fields = map[string]any{"allowedModels": allowed}
			return nil, Model{}, upstream.ChatRequest{}, e
		}
	} else {
		var ok bool
		if m, ok = p.selectModel(in.TaskType, allowed); !ok {
			return nil, Model{}, upstream.ChatRequest{}, provider.Errorf(404, "MODEL_NOT_FOUND", "No model is available")
		}
	}
	c, err := p.client(m.Provider, caller)
	if err != nil {
		return nil, Model{}, upstream.ChatRequest{}, err
	}
	return c, m, upstream.ChatRequest{Model: m.upstreamName(), Messages: msgs, Temperature: in.Temperature,
		TopP: in.TopP, MaxTokens: in.MaxTokens, Tools: tools, ToolChoice: in.ToolChoice}, nil
}

// maxTokensCeiling is the most output tokens any request may ask for.
const maxTokensCeiling = 1_000_000

// limits are the caps of the caller's requests: their plan's while its
// subscription is active; the largest any plan has for an admin; otherwise
// (no plan, or one not paid for: credits, per-call payments) Config.Limits.
func (p *Provider) limits(c provider.Caller) Limits {
	cfg := p.cfg()
	plan := func(name string) Limits {
		return cfg.Plans[name].Limits.or(DefaultPlanLimits[name]).or(cfg.Limits)
	}
	switch {
	case c.Admin:
		l := cfg.Limits
		for name := range DefaultPlanLimits {
			l = maxLimits(l, plan(name))
		}
		for name := range cfg.Plans {
			l = maxLimits(l, plan(name))
		}
		return l
	case c.SubscriptionStatus == "active":
		return plan(strings.ToLower(c.Plan))
	}
	return cfg.Limits
}

func maxLimits(a, b Limits) Limits {
	return Limits{MaxTokens: max(a.MaxTokens, b.MaxTokens), MaxPromptBytes: max(a.MaxPromptBytes, b.MaxPromptBytes)}
}

// client builds the upstream client for a provider; the caller's BYOK key wins.
func (p *Provider) client(name string, caller provider.Caller) (upstream.Chatter, *provider.Error) {
	u, ok := p.cfg().Upstreams[name]
	if !ok {
		return nil, provider.Errorf(502, "UPSTREAM_NOT_CONFIGURED", "Provider %s is not configured", name)
	}
	key := u.APIKey
	if k := caller.Credentials[name]; k != "" {
		key = k
	}
	ep := upstream.Endpoint{BaseURL: u.BaseURL, APIKey: key, HTTPClient: p.HTTPClient}
	if u.Protocol == "anthropic" {
		return &upstream.Anthropic{Endpoint: ep}, nil
	}
	return &upstream.OpenAI{Endpoint: ep}, nil
}

// upstreamErr maps an upstream failure to what the caller should see.
func upstreamErr(err error) *provider.Error {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		if errors.Is(err, context.DeadlineExceeded) {
			return provider.Errorf(504, "UPSTREAM_TIMEOUT", "The AI provider did not answer in time")
		}
		// Transport failures arrive as *upstream.Error; anything else is ours,
		// and its text is not the caller's business.
		return provider.Errorf(502, "UPSTREAM_ERROR", "The AI provider failed")
	}
	switch {
	case ue.Status == 429:
		e := provider.Errorf(429, "UPSTREAM_RATE_LIMITED", "The AI provider is rate limiting: %s", ue.Message)
		if ue.RetryAfter > 0 {
			// Whole seconds, rounded up: a sub-second hint must not read as "retry now".
			e.Fields = map[string]any{"retryAfter": int(math.Ceil(ue.RetryAfter.Seconds()))}
		}
		return e
	case ue.Status == 401 || ue.Status == 403:
		return provider.Errorf(502, "UPSTREAM_AUTH", "The AI provider rejected the API key: %s", ue.Message)
	case ue.Status >= 400 && ue.Status < 500:
		return provider.Errorf(400, "UPSTREAM_REJECTED", "The AI provider rejected the request: %s", ue.Message)
	}
	return provider.Errorf(502, "UPSTREAM_ERROR", "The AI provider failed: %s", ue.Message)
}

type chatOutput struct {
	ID           string         `json:"id"`
	Model        string         `json:"model"`
	Provider     string         `json:"provider"`
	Message      chatMessage    `json:"message"`
	FinishReason string         `json:"finishReason"`
	Usage        map[string]any `json:"usage"`
	Timestamp    string         `json:"timestamp"`
}

type chatMessage struct {
	Role      string              `json:"role"`
	Content   string              `json:"content"`
	ToolCalls []upstream.ToolCall `json:"toolCalls,omitempty"`
}

func (p *Provider) output(m Model, r *upstream.ChatResponse) chatOutput {
	return chatOutput{ID: r.ID, Model: m.ID, Provider: m.Provider,
		Message:      chatMessage{Role: "assistant", Content: r.Content, ToolCalls: r.ToolCalls},
		FinishReason: r.FinishReason, Usage: map[string]any{"promptTokens": r.Usage.InputTokens,
			"completionTokens": r.Usage.OutputTokens, "totalTokens": r.Usage.InputTokens + r.Usage.OutputTokens},
		Timestamp: p.now().UTC().Format(time.RFC3339Nano)}
}

func usageOf(m Model, r *upstream.ChatResponse) provider.Usage {
	return provider.Usage{InputTokens: r.Usage.InputTokens, OutputTokens: r.Usage.OutputTokens,
		CostMicroUSD: m.Cost(r.Usage.InputTokens, r.Usage.OutputTokens), Model: m.ID}
}

// Invoke implements provider.Provider.
func (p *Provider) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	switch req.Capability {
	case "generate-text", "agent":
		c, m, creq, perr := p.prepare(req.Input, req.Caller, req.Capability == "agent")
		if perr != nil {
			return &provider.InvokeResponse{Error: perr}, nil
		}
		r, err := c.Chat(ctx, creq)
		if err != nil {
			return &provider.InvokeResponse{Error: upstreamErr(err)}, nil
		}
		out, _ := json.Marshal(p.output(m, r))
		return &provider.InvokeResponse{Output: out, Usage: usageOf(m, r)}, nil
	case "tts":
		return p.speech(ctx, req)
	case "stt":
		return p.transcribe(ctx, req)
	}
	return &provider.InvokeResponse{Error: provider.Errorf(404, "UNKNOWN_PLUGIN", "The AI provider does not serve %q", req.Capability)}, nil
}

// InvokeStream implements provider.Streamer: each upstream text delta becomes a
// chunk {"delta": "..."} at once; the last chunk carries finishReason and usage,
// and the assembled toolCalls when the model called tools.
func (p *Provider) InvokeStream(ctx context.Context, req *provider.InvokeRequest, s provider.ChunkStream) error {
	if req.Capability != "generate-text" && req.Capability != "agent" {
		return s.Send(&provider.Chunk{Error: provider.Errorf(400, "STREAMING_UNSUPPORTED", "%s does not stream", req.Capability)})
	}
	c, m, creq, perr := p.prepare(req.Input, req.Caller, req.Capability == "agent")
	if perr != nil {
		return s.Send(&provider.Chunk{Error: perr})
	}
	r, err := c.ChatStream(ctx, creq, func(delta string) error {
		b, _ := json.Marshal(map[string]string{"delta": delta})
		return s.Send(&provider.Chunk{Data: b})
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.Send(&provider.Chunk{Error: upstreamErr(err)})
	}
	u := usageOf(m, r)
	final := map[string]any{"finishReason": r.FinishReason, "model": m.ID, "provider": m.Provider, "id": r.ID}
	if len(r.ToolCalls) > 0 {
		final["toolCalls"] = r.ToolCalls
	}
	b, _ := json.Marshal(final)
	return s.Send(&provider.Chunk{Data: b, Usage: &u})
}

// audioClient is the OpenAI upstream for audio, with the caller's key first.
func (p *Provider) audioClient(caller provider.Caller) (*upstream.OpenAI, *provider.Error) {
	c, perr := p.client("openai", caller)
	if perr != nil {
		return nil, perr
	}
	oa, ok := c.(*upstream.OpenAI)
	if !ok {
		return nil, provider.Errorf(502, "UPSTREAM_NOT_CONFIGURED", "Audio needs an OpenAI-protocol upstream")
	}
	return oa, nil
}

func (p *Provider) speech(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	var in struct {
		Text   string `json:"text"`
		Input  string `json:"input"`
		Voice  string `json:"voice"`
		Model  string `json:"model"`
		Format string `json:"format"`
	}
	if err := json.Unmarshal(orEmpty(req.Input), &in); err != nil {
		return &provider.InvokeResponse{Error: badInput("Invalid input: %v", err)}, nil
	}
	text := in.Text
	if text == "" {
		text = in.Input
	}
	// The limit is the upstream's: 4096 characters, not bytes.
	if strings.TrimSpace(text) == "" || utf8.RuneCountInString(text) > 4096 {
		return &provider.InvokeResponse{Error: badInput("text is required (at most 4096 characters)")}, nil
	}
	c, perr := p.audioClient(req.Caller)
	if perr != nil {
		return &provider.InvokeResponse{Error: perr}, nil
	}
	r, err := c.Speech(ctx, upstream.SpeechRequest{Model: in.Model, Input: text, Voice: in.Voice, Format: in.Format})
	if err != nil {
		return &provider.InvokeResponse{Error: upstreamErr(err)}, nil
	}
	out, _ := json.Marshal(map[string]any{"audio": base64.StdEncoding.EncodeToString(r.Audio), "contentType": r.ContentType,
		"bytes": len(r.Audio)})
	return &provider.InvokeResponse{Output: out, Usage: provider.Usage{InputTokens: int64(len(text))}}, nil
}

func (p *Provider) transcribe(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	var in struct {
		Audio    string `json:"audio"`
		Filename string `json:"filename"`
		Language string `json:"language"`
		Model    string `json:"model"`
	}
	if err := json.Unmarshal(orEmpty(req.Input), &in); err != nil {
		return &provider.InvokeResponse{Error: badInput("Invalid input: %v", err)}, nil
	}
	audio, err := base64.StdEncoding.DecodeString(in.Audio)
	if err != nil || len(audio) == 0 {
		return &provider.InvokeResponse{Error: badInput("audio must be non-empty base64")}, nil
	}
	c, perr := p.audioClient(req.Caller)
	if perr != nil {
		return &provider.InvokeResponse{Error: perr}, nil
	}
	// An empty filename lets the upstream client name the file from the audio's leading bytes: the upstream
	// decides the format by the extension, so a fixed "audio.mp3" would mislabel WAV, Ogg or FLAC uploads.
	r, err := c.Transcribe(ctx, upstream.TranscribeRequest{Model: in.Model, Audio: audio, Filename: in.Filename, Language: in.Language})
	if err != nil {
		return &provider.InvokeResponse{Error: upstreamErr(err)}, nil
	}
	out, _ := json.Marshal(map[string]any{"text": r.Text})
	return &provider.InvokeResponse{Output: out}, nil
}

func orEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return b
}
