package ai

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentbot/gateway/sdk/provider"
)

// HandleHTTP implements provider.HTTPHandler: the /api/ai/* routes.
func (p *Provider) HandleHTTP(ctx context.Context, req *provider.HTTPRequest, w provider.HTTPResponseWriter) error {
	switch {
	case req.Method == "GET" && req.Path == "/api/ai/health":
		return p.health(w)
	case req.Method == "GET" && req.Path == "/api/ai/models":
		return p.listModels(w, req, "")
	case req.Method == "GET" && strings.HasPrefix(req.Path, "/api/ai/models/"):
		return p.listModels(w, req, req.Params["provider"])
	case req.Method == "POST" && req.Path == "/api/ai/models/select":
		return p.selectRoute(w, req)
	case req.Method == "POST" && req.Path == "/api/ai/chat":
		return p.chatRoute(ctx, w, req)
	case req.Method == "POST" && req.Path == "/api/ai/estimate-cost":
		return p.estimateRoute(w, req)
	}
	return writeJSON(w, 404, map[string]any{"error": "Not found", "code": "NOT_FOUND"})
}

func writeJSON(w provider.HTTPResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := w.WriteHeader(status, map[string]string{"Content-Type": "application/json; charset=utf-8"}); err != nil {
		return err
	}
	return w.Write(b)
}

func writeErr(w provider.HTTPResponseWriter, e *provider.Error) error {
	body := map[string]any{"error": e.Message, "code": e.Code}
	for k, v := range e.Fields {
		body[k] = v
	}
	return writeJSON(w, e.Status, body)
}

func (p *Provider) stamp() string { return p.now().UTC().Format(time.RFC3339Nano) }

// decimal renders micro-USD as a JSON number of dollars (no floats involved).
func decimal(micro int64) json.Number {
	s := strconv.FormatInt(micro/1_000_000, 10) + "." + strings.TrimRight(fmtFrac(micro%1_000_000), "0")
	return json.Number(strings.TrimSuffix(s, "."))
}

func fmtFrac(v int64) string {
	s := strconv.FormatInt(v, 10)
	return strings.Repeat("0", 6-len(s)) + s
}

// health: which upstreams are usable (have a key, or run locally).
func (p *Provider) health(w provider.HTTPResponseWriter) error {
	providers := map[string]bool{}
	usable := false
	for name, u := range p.cfg().Upstreams {
		ok := u.APIKey != "" || isLocal(u.BaseURL)
		providers[name] = ok
		usable = usable || ok
	}
	if !usable {
		return writeJSON(w, 503, map[string]any{"status": "error", "error": "No AI provider is configured with an API key",
			"providers": providers, "timestamp": p.stamp()})
	}
	status := "healthy"
	for _, ok := range providers {
		if !ok {
			status = "degraded"
		}
	}
	return writeJSON(w, 200, map[string]any{"status": status, "providers": providers, "timestamp": p.stamp()})
}

// isLocal reports whether a base URL names this machine (a local server needs no key). The host is compared
// whole: http://localhost.example.com is somebody else's server.
func isLocal(baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (p *Provider) modelJSON(m Model, allowed []string) map[string]any {
	avail := false
	for _, a := range allowed {
		avail = avail || a == m.ID
	}
	return map[string]any{"id": m.ID, "name": m.Name, "provider": m.Provider, "description": m.Description,
		"tags": m.Tags, "inputCost": decimal(m.InputPer1K), "outputCost": decimal(m.OutputPer1K),
		"contextWindow": m.ContextWindow, "tier": m.Tier, "available": avail}
}

func (p *Provider) listModels(w provider.HTTPResponseWriter, req *provider.HTTPRequest, prov string) error {
	allowed := p.allowed(req.Caller.Plan, req.Caller.Admin)
	var out []map[string]any
	counts := map[string]int{}
	for _, m := range p.cfg().Models {
		counts[m.Provider]++
		if prov == "" || m.Provider == prov {
			out = append(out, p.modelJSON(m, allowed))
		}
	}
	if prov != "" {
		if len(out) == 0 {
			return writeJSON(w, 404, map[string]any{"error": "Unknown provider " + strconv.Quote(prov), "code": "NOT_FOUND"})
		}
		return writeJSON(w, 200, map[string]any{"provider": prov, "models": out, "count": len(out), "timestamp": p.stamp()})
	}
	return writeJSON(w, 200, map[string]any{"models": out, "count": len(out), "openrouter": counts["openrouter"], "timestamp": p.stamp()})
}

func decodeBody(req *provider.HTTPRequest, dst any) *provider.Error {
	if len(req.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(req.Body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if ok := asTypeErr(err, &te); ok {
			return provider.Errorf(400, "INVALID_FIELD_TYPE", "Field %q has the wrong type", te.Field)
		}
		return provider.Errorf(400, "INVALID_JSON", "Malformed JSON body")
	}
	return nil
}

func asTypeErr(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

func (p *Provider) selectRoute(w provider.HTTPResponseWriter, req *provider.HTTPRequest) error {
	var in struct {
		TaskType string `json:"taskType"`
	}
	if e := decodeBody(req, &in); e != nil {
		return writeErr(w, e)
	}
	if in.TaskType == "" {
		in.TaskType = "general"
	}
	m, ok := p.selectModel(in.TaskType, p.allowed(req.Caller.Plan, req.Caller.Admin))
	if !ok {
		return writeJSON(w, 404, map[string]any{"error": "No models available", "code": "NOT_FOUND"})
	}
	return writeJSON(w, 200, map[string]any{"model": map[string]any{"id": m.ID, "provider": m.Provider},
		"taskType": in.TaskType, "timestamp": p.stamp()})
}

// chatRoute: POST /api/ai/chat needs an active plan (or admin).
func (p *Provider) chatRoute(ctx context.Context, w provider.HTTPResponseWriter, req *provider.HTTPRequest) error {
	if !req.Caller.Admin && (req.Caller.Plan == "" || req.Caller.Plan == "free") {
		return writeErr(w, provider.Errorf(402, "PLAN_REQUIRED", "Valid subscription required. Choose a plan at /pricing"))
	}
	if !req.Caller.Admin && req.Caller.SubscriptionStatus != "active" {
		return writeErr(w, provider.Errorf(402, "SUBSCRIPTION_REQUIRED", "Your subscription is not active"))
	}
	var probe struct {
		Stream   bool              `json:"stream"`
		Messages []json.RawMessage `json:"messages"`
	}
	if e := decodeBody(req, &probe); e != nil {
		return writeErr(w, e)
	}
	if len(probe.Messages) == 0 {
		return writeErr(w, badInput("messages must be a non-empty array"))
	}
	c, m, creq, perr := p.prepare(req.Body, req.Caller, false)
	if perr != nil {
		return writeErr(w, perr)
	}
	if !probe.Stream {
		r, err := c.Chat(ctx, creq)
		if err != nil {
			return writeErr(w, upstreamErr(err))
		}
		return writeJSON(w, 200, p.output(m, r))
	}
	started := false
	r, err := c.ChatStream(ctx, creq, func(delta string) error {
		if !started {
			started = true
			if err := w.WriteHeader(200, map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}); err != nil {
				return err
			}
		}
		b, _ := json.Marshal(map[string]string{"delta": delta})
		return w.Write([]byte("data: " + string(b) + "\n\n"))
	})
	if err != nil {
		if !started {
			return writeErr(w, upstreamErr(err))
		}
		e := upstreamErr(err)
		b, _ := json.Marshal(map[string]any{"error": e.Message, "code": e.Code})
		return w.Write([]byte("event: error\ndata: " + string(b) + "\n\n"))
	}
	if !started {
		if err := w.WriteHeader(200, map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(p.output(m, r))
	return w.Write([]byte("event: done\ndata: " + string(b) + "\n\ndata: [DONE]\n\n"))
}

func (p *Provider) estimateRoute(w provider.HTTPResponseWriter, req *provider.HTTPRequest) error {
	var in struct {
		Model        string `json:"model"`
		InputTokens  *int64 `json:"inputTokens"`
		OutputTokens *int64 `json:"outputTokens"`
	}
	if e := decodeBody(req, &in); e != nil {
		return writeErr(w, e)
	}
	if in.Model == "" || in.InputTokens == nil || in.OutputTokens == nil {
		return writeErr(w, badInput("model, inputTokens and outputTokens are required"))
	}
	if *in.InputTokens < 0 || *in.OutputTokens < 0 || *in.InputTokens > 1e9 || *in.OutputTokens > 1e9 {
		return writeErr(w, badInput("token counts must be between 0 and 1000000000"))
	}
	m, ok := p.model(in.Model)
	if !ok {
		return writeErr(w, provider.Errorf(404, "MODEL_NOT_FOUND", "Unknown model %q", in.Model))
	}
	// Exact: micro-USD per 1k tokens times tokens is in nano-dollars·1000; keep
	// six decimals of dollars, rounding up as billing does.
	return writeJSON(w, 200, map[string]any{"model": m.ID, "inputTokens": *in.InputTokens, "outputTokens": *in.OutputTokens,
		"estimatedCost": decimal(m.Cost(*in.InputTokens, *in.OutputTokens)), "currency": "USD", "timestamp": p.stamp()})
}
