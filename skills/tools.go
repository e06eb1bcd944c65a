package skills

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ToolSet is what an agent needs to offer a skill version to a model as
// tools, one per action, and to check the model's arguments before a call.
// It is shared (cached per version): treat it as read-only.
type ToolSet struct {
	Name          string
	Version       string
	Description   string
	PriceMicroUSD int64 // per call
	Tools         []Tool
}

// Tool is one action of a skill.
type Tool struct {
	Action string
	// Schema is the manifest's JSON Schema of the action's arguments (an
	// object schema without "action"); nil when the manifest gives none,
	// and then any JSON object is accepted.
	Schema    json.RawMessage
	validator *jsonschema.Schema
}

// ArgsError is a call's arguments refused by Validate. Its message is
// written for the model that sent them, so that it can correct itself:
// `amount: must be >= 1; recipients[0]: missing property "share"`.
type ArgsError struct {
	Action   string
	Problems []string
}

func (e *ArgsError) Error() string { return strings.Join(e.Problems, "; ") }

// Tools returns the manifest's actions as tools; the manifest must come from
// ParseManifest (which compiles the schemas).
func (m *Manifest) Tools() *ToolSet {
	ts := &ToolSet{Name: m.Name, Version: m.Version, Description: m.Description, PriceMicroUSD: m.priceMicro,
		Tools: make([]Tool, len(m.Actions))}
	for i, a := range m.Actions {
		ts.Tools[i] = Tool{Action: a, Schema: m.InputSchemas[a], validator: m.inputs[a]}
	}
	return ts
}

// Tool returns the tool of an action.
func (t *ToolSet) Tool(action string) (*Tool, bool) {
	for i := range t.Tools {
		if t.Tools[i].Action == action {
			return &t.Tools[i], true
		}
	}
	return nil, false
}

// Validate checks a model's arguments for an action: the action is one of
// the skill's, and args (without "action", which the caller adds) satisfy
// the action's schema. Empty args or null stand for {}. A refusal is an
// *ArgsError.
func (t *ToolSet) Validate(action string, args json.RawMessage) error {
	tool, ok := t.Tool(action)
	if !ok {
		names := make([]string, len(t.Tools))
		for i := range t.Tools {
			names[i] = t.Tools[i].Action
		}
		return &ArgsError{Action: action, Problems: []string{fmt.Sprintf("%s has no action %q (its actions: %s)",
			t.Name, action, strings.Join(names, ", "))}}
	}
	return tool.Validate(args)
}

// Validate checks a model's arguments against the tool's schema (see
// ToolSet.Validate).
func (t *Tool) Validate(args json.RawMessage) error {
	refuse := func(problems ...string) error { return &ArgsError{Action: t.Action, Problems: problems} }
	args = bytes.TrimSpace(args)
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return refuse("the arguments are not valid JSON: " + err.Error())
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return refuse("the arguments must be a JSON object")
	}
	if _, ok := obj["action"]; ok {
		return refuse(`"action" is not an argument: the tool sets it`)
	}
	if t.validator == nil {
		if t.Schema != nil {
			// A manifest not from ParseManifest: refuse rather than skip.
			return fmt.Errorf("skills: the schema of %s is not compiled", t.Action)
		}
		return nil
	}
	err = t.validator.Validate(doc)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return refuse(err.Error())
	}
	return refuse(capped(problems(ve, doc, false))...)
}
