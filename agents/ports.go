package agents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/plugins/wallet"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/skills"
)

// model is the agent's model behind the AI provider, each call paid and
// recorded through the gateway as a call on the owner's behalf.
type model struct {
	g       *gateway.Gateway
	who     gateway.OnBehalf
	id      string // gateway id of model calls
	model   string
	temp    *float64
	price   int64
	maxToks int
}

func (m *model) Price() int64 { return m.price }

// aiMessage is a message in the AI provider's input.
type aiMessage struct {
	Role       string          `json:"role"`
	Content    string          `json:"content"`
	ToolCalls  []loop.ToolCall `json:"toolCalls,omitempty"`
	ToolCallID string          `json:"toolCallId,omitempty"`
	IsError    bool            `json:"isError,omitempty"`
}

type aiTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

func (m *model) Complete(ctx context.Context, req loop.ModelRequest, onDelta func(string)) (*loop.ModelResponse, error) {
	msgs := make([]aiMessage, 0, len(req.Messages)+1)
	if req.System != "" {
		msgs = append(msgs, aiMessage{Role: "system", Content: req.System})
	}
	for _, x := range req.Messages {
		msgs = append(msgs, aiMessage{Role: x.Role, Content: x.Content, ToolCalls: x.ToolCalls, ToolCallID: x.ToolCallID, IsError: x.IsError})
	}
	in := map[string]any{"model": m.model, "messages": msgs}
	if len(req.Tools) > 0 {
		tools := make([]aiTool, len(req.Tools))
		for i, t := range req.Tools {
			tools[i] = aiTool{Name: t.Name, Description: t.Description, Parameters: t.Parameters}
		}
		in["tools"] = tools
	}
	if m.temp != nil {
		in["temperature"] = *m.temp
	}
	input, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	res, err := m.g.StreamAs(ctx, m.who, m.id, input, func(data json.RawMessage) error {
		var ch struct {
			Delta string `json:"delta"`
		}
		if json.Unmarshal(data, &ch) == nil && ch.Delta != "" {
			text.WriteString(ch.Delta)
			onDelta(ch.Delta)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp := &loop.ModelResponse{Usage: loop.Usage{InputTokens: res.Usage.InputTokens, OutputTokens: res.Usage.OutputTokens},
		CostMicroUSD: res.ChargedMicros}
	if res.Failed != nil {
		return resp, &loop.Error{Status: res.Failed.Status, Code: string(res.Failed.Code), Message: failureMessage(res.Failed)}
	}
	// A stream's last chunk, or a whole answer when the target did not stream.
	var last struct {
		FinishReason string          `json:"finishReason"`
		ToolCalls    []loop.ToolCall `json:"toolCalls"`
		Message      *struct {
			Content   string          `json:"content"`
			ToolCalls []loop.ToolCall `json:"toolCalls"`
		} `json:"message"`
	}
	if err := json.Unmarshal(res.Output, &last); err != nil {
		return resp, &loop.Error{Status: 502, Code: "PLUGIN_ERROR", Message: "The model's answer could not be read"}
	}
	resp.Content, resp.ToolCalls, resp.FinishReason = text.String(), last.ToolCalls, last.FinishReason
	if last.Message != nil {
		resp.Content, resp.ToolCalls = last.Message.Content, last.Message.ToolCalls
	}
	return resp, nil
}

// toolbox offers the agent's installed skills (one tool per action, at the
// installed version) and its memory.
type toolbox struct {
	s       *Service
	who     gateway.OnBehalf
	userID  string
	agentID string
	tools   []loop.Tool
	skills  map[string]skillTool // by tool name
	paid    *PaidFetchConfig     // set when paid_fetch is offered
}

type skillTool struct {
	set     *skills.ToolSet
	action  string
	version string
}

// Memory tools: the agent's own key-value memory, kept outside the context
// window and inspectable by its owner (GET /api/memory).
const (
	toolMemoryGet  = "memory_get"
	toolMemorySet  = "memory_set"
	toolMemoryList = "memory_list"
)

var memoryTools = []loop.Tool{
	{Name: toolMemoryList, Description: "List the keys of your long-term memory.",
		Parameters: json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`)},
	{Name: toolMemoryGet, Description: "Read one key of your long-term memory.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"key":{"type":"string"}},"required":["key"],"additionalProperties":false}`)},
	{Name: toolMemorySet, Description: "Remember a value under a key in your long-term memory (replaces the key's value).",
		Parameters: json.RawMessage(`{"type":"object","properties":{"key":{"type":"string"},"value":{}},"required":["key","value"],"additionalProperties":false}`)},
}

// toolName names a skill action for the model: [a-zA-Z0-9_-]{1,64}. Skill
// names hold no underscore, so "<skill>__<action>" is unambiguous; a name
// too long is shortened with a digest.
func toolName(skill, action string) string {
	n := skill + "__" + action
	if len(n) <= 64 {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return n[:51] + "_" + hex.EncodeToString(sum[:6])
}

// newToolbox loads the agent's installed skills at their pinned versions,
// and paid_fetch when the agent's config enables it and a wallet plugin
// serves the agent's wallet.
func (s *Service) newToolbox(ctx context.Context, who gateway.OnBehalf, agentID string, paid *PaidFetchConfig) (*toolbox, error) {
	tb := &toolbox{s: s, who: who, userID: who.Principal.UserID, agentID: agentID, skills: map[string]skillTool{}}
	tb.tools = append(tb.tools, memoryTools...)
	if paid != nil {
		// The loop holds the tool's price against the run's budget before
		// the call: the most it may pay plus the wallet's two calls, so a
		// payment can never take a run over its budget.
		price, ok := paid.MaxPerCallMicroUSD, true
		for _, id := range []string{wallet.CapAddress, wallet.CapSign} {
			p, served, err := s.Gateway.Price(ctx, id)
			if err != nil {
				return nil, err
			}
			ok = ok && served
			price += p
		}
		if ok {
			t := paidFetchTool
			t.PriceMicroUSD = price
			tb.tools = append(tb.tools, t)
			tb.paid = paid
		}
	}
	if s.Skills == nil {
		return tb, nil
	}
	installed, err := s.Store.AgentSkills(ctx, tb.userID, agentID)
	if err != nil {
		return nil, err
	}
	for _, is := range installed {
		set, err := s.Skills.Tools(ctx, is.Skill, is.Version)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed from the marketplace
		}
		if err != nil {
			return nil, err
		}
		price, _, err := s.Gateway.Price(ctx, skills.IDPrefix+is.Skill)
		if err != nil {
			return nil, err
		}
		for _, t := range set.Tools {
			name := toolName(is.Skill, t.Action)
			params := t.Schema
			if params == nil {
				params = json.RawMessage(`{"type":"object"}`)
			}
			tb.tools = append(tb.tools, loop.Tool{Name: name, Parameters: params, PriceMicroUSD: price,
				Description: fmt.Sprintf("%s (skill %s, action %s)", set.Description, is.Skill, t.Action)})
			tb.skills[name] = skillTool{set: set, action: t.Action, version: is.Version}
		}
	}
	return tb, nil
}

func (tb *toolbox) Tools() []loop.Tool { return tb.tools }

func (tb *toolbox) Call(ctx context.Context, call loop.ToolCall) (string, bool, int64, error) {
	switch call.Name {
	case toolMemoryList, toolMemoryGet, toolMemorySet:
		content, isErr, err := tb.memory(ctx, call)
		return content, isErr, 0, err
	case toolPaidFetch:
		if tb.paid != nil {
			return tb.paidFetch(ctx, call)
		}
	}
	st, ok := tb.skills[call.Name]
	if !ok {
		return fmt.Sprintf("unknown tool %q", call.Name), true, 0, nil
	}
	args := json.RawMessage(call.Arguments)
	if err := st.set.Validate(st.action, args); err != nil {
		var ae *skills.ArgsError
		if errors.As(err, &ae) {
			return "invalid arguments: " + ae.Error(), true, 0, nil
		}
		return "", true, 0, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(args, &obj); err != nil || obj == nil {
		obj = map[string]json.RawMessage{}
	}
	obj["action"], _ = json.Marshal(st.action)
	obj["agentId"], _ = json.Marshal(tb.agentID)
	input, _ := json.Marshal(obj)
	version := st.version
	res, err := tb.s.Gateway.InvokeAs(ctx, tb.who, skills.IDPrefix+st.set.Name, input,
		func(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
			return tb.s.Skills.InvokeVersion(ctx, req, version)
		})
	if err != nil {
		return "", true, 0, err
	}
	if res.Failed != nil {
		return fmt.Sprintf("error %s: %s", res.Failed.Code, res.Failed.Message), true, res.ChargedMicros, nil
	}
	return string(res.Output), false, res.ChargedMicros, nil
}

// memory runs a memory tool.
func (tb *toolbox) memory(ctx context.Context, call loop.ToolCall) (string, bool, error) {
	var in struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(call.Arguments), &in); err != nil {
		return "invalid arguments: " + err.Error(), true, nil
	}
	st := tb.s.Store
	switch call.Name {
	case toolMemoryList:
		entries, err := st.Memory(ctx, tb.userID, tb.agentID)
		if err != nil {
			return "", true, err
		}
		keys := make([]string, len(entries))
		for i, e := range entries {
			keys[i] = e.Key
		}
		sort.Strings(keys)
		b, _ := json.Marshal(map[string]any{"keys": keys})
		return string(b), false, nil
	case toolMemoryGet:
		entries, err := st.Memory(ctx, tb.userID, tb.agentID)
		if err != nil {
			return "", true, err
		}
		for _, e := range entries {
			if e.Key == in.Key {
				return e.Value, false, nil
			}
		}
		return fmt.Sprintf("no memory under %q", in.Key), true, nil
	}
	checked, err := checkMemory(map[string]json.RawMessage{in.Key: in.Value})
	if err != nil {
		return err.Error(), true, nil
	}
	if err := st.SetMemory(ctx, tb.userID, tb.agentID, checked, tb.s.memoryQuota()); err != nil {
		var full *store.MemoryFullError
		if errors.As(err, &full) {
			return full.Error(), true, nil
		}
		return "", true, err
	}
	return `{"saved":true}`, false, nil
}

// transcript stores a run's messages.
type transcript struct {
	st     *store.Store
	userID string
	run    *store.AgentRun
}

func (t *transcript) Append(ctx context.Context, msgs []loop.Message) error {
	out := make([]store.AgentMessage, len(msgs))
	for i, m := range msgs {
		out[i] = store.AgentMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, ToolName: m.Name, IsError: m.IsError}
		if len(m.ToolCalls) > 0 {
			out[i].ToolCalls, _ = json.Marshal(m.ToolCalls)
		}
	}
	return t.st.AppendMessages(ctx, t.userID, t.run, out)
}

// history is the transcript as the model sees it.
func history(msgs []store.AgentMessage) []loop.Message {
	out := make([]loop.Message, len(msgs))
	for i, m := range msgs {
		out[i] = loop.Message{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, Name: m.ToolName, IsError: m.IsError}
		if len(m.ToolCalls) > 0 {
			_ = json.Unmarshal(m.ToolCalls, &out[i].ToolCalls)
		}
	}
	return out
}

// failureMessage is a failed call's human-readable message: some errors
// keep a code-like "error" for wire compatibility (the gateway's 402 says
// "payment_required") and explain themselves in a "message" field.
func failureMessage(e *api.Error) string {
	if m, ok := e.Fields["message"].(string); ok && m != "" {
		return m
	}
	return e.Message
}
