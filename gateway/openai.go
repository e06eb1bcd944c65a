package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// The OpenAI-compatible surface: POST /api/v1/chat/completions and GET
// /api/v1/models, so that existing OpenAI SDKs work against the gateway with an
// sk_ key as their API key. Chat is the "generate-text" id, billed like it;
// errors use OpenAI's error shape, which those SDKs parse.

// OpenAIRoutes are the surface's routes. models forwards to the AI plugin's
// GET /api/ai/models route. They are public at the route because their
// handlers answer a missing credential in OpenAI's error shape.
func (g *Gateway) OpenAIRoutes(fwd RouteForwarder, modelsPlugin string) []route.Route {
	return []route.Route{
		{Method: http.MethodPost, Path: "/api/v1/chat/completions", Handler: g.openAIHandle(g.chatCompletions),
			Access: route.Public, Streams: true,
			Request: oaRequest{}, Response: oaCompletion{}, ErrorBody: oaError{}, Accepts: route.Payment, Relays: true,
			Query:   callHeaders[2:],
			Errors:  []api.Code{api.CodeInvalidPluginID, api.CodeInvalidFieldType, api.CodeUnknownPlugin, api.CodeInvalidPaymentMethod, api.CodePaymentMethodUnavailable, api.CodePluginError, api.CodePluginTimeout, api.CodePluginUnavailable},
			Summary: "OpenAI's chat completions protocol, billed like `generate-text` (an `sk_` key is the API key)"},
		{Method: http.MethodGet, Path: "/api/v1/models", Access: route.Public, Response: oaModels{}, ErrorBody: oaError{}, Relays: true,
			Errors:  []api.Code{api.CodePluginError, api.CodePluginTimeout, api.CodePluginUnavailable},
			Summary: "OpenAI's model list",
			Handler: g.openAIHandle(func(w http.ResponseWriter, r *http.Request) error { return g.models(w, r, fwd, modelsPlugin) })},
	}
}

// openAIHandle renders h's errors in OpenAI's error shape.
func (g *Gateway) openAIHandle(h func(http.ResponseWriter, *http.Request) error) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		err := h(w, r)
		if err == nil {
			return nil
		}
		e := api.AsError(err)
		if e.Status >= 500 {
			g.log().ErrorContext(r.Context(), "request failed", "request_id", api.RequestID(r.Context()),
				"path", r.URL.Path, "status", e.Status, "code", e.Code, "err", e.Err)
		}
		typ := "invalid_request_error"
		switch {
		case e.Status == http.StatusUnauthorized:
			typ = "authentication_error"
		case e.Status == http.StatusForbidden:
			typ = "permission_error"
		case e.Status == http.StatusTooManyRequests:
			typ = "rate_limit_error"
		case e.Status == http.StatusPaymentRequired:
			typ = "insufficient_quota"
		case e.Status >= 500:
			typ = "api_error"
		}
		msg := e.Message
		if e.Code == api.CodePaymentRequired {
			msg = "Payment required: subscribe to a plan or buy credits"
		}
		for k, vs := range e.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		api.JSON(w, e.Status, map[string]any{"error": map[string]any{"message": msg, "type": typ,
			"param": nil, "code": strings.ToLower(string(e.Code))}})
		return nil
	}
}

type oaMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type oaRequest struct {
	Model               string      `json:"model"`
	Messages            []oaMessage `json:"messages"`
	Temperature         *float64    `json:"temperature"`
	TopP                *float64    `json:"top_p"`
	MaxTokens           *int        `json:"max_tokens"`
	MaxCompletionTokens *int        `json:"max_completion_tokens"`
	Stream              bool        `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// content flattens OpenAI message content: a string, or an array of parts of
// which the text parts are kept.
func content(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", api.BadRequest(api.CodeInvalidFieldType, "messages[].content must be a string or an array of parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

func (g *Gateway) chatCompletions(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	p, ci, err := g.identify(r)
	if err != nil {
		return err
	}
	var req oaRequest
	if err := api.Decode(r, &req); err != nil {
		return err
	}
	if len(req.Messages) == 0 {
		return api.Validation("messages must be a non-empty array")
	}
	msgs := make([]map[string]string, 0, len(req.Messages))
	for _, m := range req.Messages {
		text, err := content(m.Content)
		if err != nil {
			return err
		}
		msgs = append(msgs, map[string]string{"role": m.Role, "content": text})
	}
	maxTokens := req.MaxTokens
	if maxTokens == nil {
		maxTokens = req.MaxCompletionTokens
	}
	input, _ := json.Marshal(map[string]any{"messages": msgs, "model": req.Model, "temperature": req.Temperature,
		"top_p": req.TopP, "max_tokens": maxTokens, "stream": req.Stream})

	d, target, ok, err := g.resolve(r.Context(), DefaultID)
	if err != nil {
		return err
	}
	if !ok {
		return api.Errorf(http.StatusServiceUnavailable, api.CodeUnknownPlugin, "No provider serves %s", DefaultID)
	}
	c := &payments.Request{Target: DefaultID, PriceMicroUSD: g.price(target), Principal: p}
	if ci != nil {
		c.User = ci.User
	}
	pay, err := g.authorize(r, c)
	if err != nil {
		return err
	}
	preq := &provider.InvokeRequest{Capability: DefaultID, Input: input, Caller: g.caller(p, ci, api.RequestID(r.Context()))}
	id := "chatcmpl-" + strings.TrimPrefix(api.RequestID(r.Context()), "req_")
	created := g.now().Unix()
	if req.Stream && target.Streaming {
		return g.chatStream(w, r, d, preq, c, pay, start, id, created, req)
	}
	resp, err := d.Invoke(r.Context(), preq)
	var failed *api.Error
	var usage provider.Usage
	var out struct {
		Model        string `json:"model"`
		FinishReason string `json:"finishReason"`
		Message      struct {
			Content string `json:"content"`
		} `json:"message"`
	}
	switch {
	case err != nil:
		failed = dispatchError(r.Context(), err)
	case resp.Error != nil:
		failed = pluginError(resp.Error)
	default:
		usage = resp.Usage
		// Parsed before finishing, so that unusable output is not charged.
		if err := json.Unmarshal(resp.Output, &out); err != nil {
			failed = malformedError(err)
		}
	}
	if perr := g.finish(r.Context(), c, pay, failed, false, usage, start); perr != nil && failed == nil {
		return perr
	}
	if failed != nil {
		return failed
	}
	setReceipt(w, pay)
	model := out.Model
	if model == "" {
		model = req.Model
	}
	api.OK(w, map[string]any{
		"id": id, "object": "chat.completion", "created": created, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": out.Message.Content},
			"finish_reason": finishReason(out.FinishReason), "logprobs": nil}},
		"usage": oaUsage(usage),
	})
	return nil
}

func finishReason(s string) string {
	if s == "" {
		return "stop"
	}
	return s
}

func oaUsage(u provider.Usage) map[string]any {
	return map[string]any{"prompt_tokens": u.InputTokens, "completion_tokens": u.OutputTokens,
		"total_tokens": u.InputTokens + u.OutputTokens}
}

func (g *Gateway) chatStream(w http.ResponseWriter, r *http.Request, d Dispatcher, preq *provider.InvokeRequest,
	c *payments.Request, pay *paid, start time.Time, id string, created int64, req oaRequest) error {
	out := &sse{w: w, open: g.prepay(w, r, c, pay)}
	model := req.Model
	first := true
	finish := "stop"
	chunk := func(delta map[string]any, reason any) []byte {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": reason, "logprobs": nil}}})
		return b
	}
	usage, failed := g.pump(r.Context(), d, preq, func(data json.RawMessage) error {
		var ch struct {
			Delta        *string `json:"delta"`
			Model        string  `json:"model"`
			FinishReason string  `json:"finishReason"`
		}
		if json.Unmarshal(data, &ch) != nil {
			return nil
		}
		if ch.Model != "" {
			model = ch.Model
		}
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
		if ch.Delta == nil {
			return nil
		}
		delta := map[string]any{"content": *ch.Delta}
		if first {
			delta["role"] = "assistant"
			first = false
		}
		if *ch.Delta == "" {
			return out.event("", chunk(delta, nil))
		}
		return out.content(chunk(delta, nil))
	}, out.keepAlive)
	if failed != nil && r.Context().Err() != nil {
		failed = callError(r.Context().Err())
	}
	g.finish(r.Context(), c, pay, failed, out.delivered, usage, start)
	if failed != nil {
		if !out.started {
			return failed
		}
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": failed.Message, "type": "api_error",
			"code": strings.ToLower(string(failed.Code))}})
		_ = out.event("", b)
		return nil
	}
	if first { // no content at all: still open the assistant message
		_ = out.event("", chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	}
	_ = out.event("", chunk(map[string]any{}, finish))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{}, "usage": oaUsage(usage)})
		_ = out.event("", b)
	}
	_ = out.event("", []byte("[DONE]"))
	return nil
}

func (g *Gateway) models(w http.ResponseWriter, r *http.Request, fwd RouteForwarder, plugin string) error {
	p, ci, err := g.identify(r)
	if err != nil {
		return err
	}
	if p == nil {
		return api.ErrAuthRequired
	}
	var body bytes.Buffer
	status := 0
	err = fwd.HandleHTTP(r.Context(), plugin, &provider.HTTPRequest{Method: "GET", Path: "/api/ai/models",
		Caller: g.caller(p, ci, api.RequestID(r.Context()))}, func(part *provider.HTTPResponsePart) error {
		if status == 0 {
			status = part.Status
		}
		body.Write(part.Body)
		return nil
	})
	if err != nil {
		return callError(err)
	}
	var in struct {
		Models []struct {
			ID       string `json:"id"`
			Provider string `json:"provider"`
		} `json:"models"`
	}
	if status != http.StatusOK || json.Unmarshal(body.Bytes(), &in) != nil {
		return &api.Error{Status: http.StatusBadGateway, Code: api.CodePluginError, Message: "The AI provider could not list models"}
	}
	data := make([]any, 0, len(in.Models))
	for _, m := range in.Models {
		data = append(data, map[string]any{"id": m.ID, "object": "model", "created": 0, "owned_by": m.Provider})
	}
	api.OK(w, map[string]any{"object": "list", "data": data})
	return nil
}
