package skills

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Bounds of a manifest's inputSchemas, measured as compact JSON.
const (
	MaxInputSchema  = 16 << 10 // one action's schema
	MaxInputSchemas = 64 << 10 // all of a manifest's schemas together
)

// SchemaError is a manifest's input schema refused at publish; Field names
// it ("inputSchemas.<action>").
type SchemaError struct {
	Field string
	Msg   string
}

func (e *SchemaError) Error() string { return "manifest " + e.Field + " " + e.Msg }

// schemaBase is the made-up location a schema is compiled at, so that
// references resolve to somewhere; ".invalid" can never name a real host,
// and the loader refuses every URL anyway.
const schemaBase = "https://agentbot.invalid/inputSchemas/"

// errExternal is the loader's answer to every URL: a schema may refer only
// within itself, so that compiling one never reads a file or the network
// (the library's default loader reads files).
var errExternal = errors.New("external references are refused")

type refuseLoader struct{}

func (refuseLoader) Load(string) (any, error) { return nil, errExternal }

// checkInputSchemas applies the bounds and shape rules to m.InputSchemas:
// keys are listed actions; each schema is an object schema ("type":
// "object") without an "action" property, which the caller sets. Each
// schema is left in its canonical compact form.
func (m *Manifest) checkInputSchemas() error {
	keys := make([]string, 0, len(m.InputSchemas))
	for k := range m.InputSchemas {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	total := 0
	for _, action := range keys {
		field := "inputSchemas." + action
		if !slices.Contains(m.Actions, action) {
			return &SchemaError{field, fmt.Sprintf("is not for one of the manifest's actions (%q must be listed in actions)", action)}
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, m.InputSchemas[action]); err != nil {
			return &SchemaError{field, "is not valid JSON"}
		}
		if compact.Len() > MaxInputSchema {
			return &SchemaError{field, fmt.Sprintf("is %d bytes; at most %d (16 KiB) per action", compact.Len(), MaxInputSchema)}
		}
		total += compact.Len()
		// Kept in the form encoding/json writes (compact, HTML-escaped), so a
		// manifest reads back the same after being written out.
		canonical, err := json.Marshal(json.RawMessage(compact.Bytes()))
		if err != nil {
			return &SchemaError{field, "is not valid JSON"}
		}
		m.InputSchemas[action] = canonical
		var obj map[string]json.RawMessage
		if json.Unmarshal(compact.Bytes(), &obj) != nil || obj == nil {
			return &SchemaError{field, "must be a JSON Schema object"}
		}
		if string(obj["type"]) != `"object"` {
			return &SchemaError{field, `must have "type": "object" (a call's arguments are a JSON object)`}
		}
		var props map[string]json.RawMessage
		if json.Unmarshal(obj["properties"], &props) == nil && props["action"] != nil {
			return &SchemaError{field, `must not declare an "action" property: the caller sets it`}
		}
	}
	if total > MaxInputSchemas {
		return &SchemaError{"inputSchemas", fmt.Sprintf("total %d bytes; at most %d (64 KiB) together", total, MaxInputSchemas)}
	}
	return nil
}

// compileInputSchemas compiles each schema (after checkInputSchemas) into a
// validator. Draft 2020-12 unless the schema's $schema names another draft;
// formats ("date-time", "email", …) are asserted, not only annotations.
func (m *Manifest) compileInputSchemas() (map[string]*jsonschema.Schema, error) {
	out := make(map[string]*jsonschema.Schema, len(m.InputSchemas))
	for _, action := range m.Actions {
		raw, ok := m.InputSchemas[action]
		if !ok {
			continue
		}
		sch, err := compileSchema(action, raw)
		if err != nil {
			return nil, &SchemaError{"inputSchemas." + action, err.Error()}
		}
		out[action] = sch
	}
	return out, nil
}

func compileSchema(action string, raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, errors.New("is not valid JSON")
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	loc := schemaBase + action + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("cannot be compiled: %v", err)
	}
	sch, err := c.Compile(loc)
	if err == nil {
		return sch, nil
	}
	var (
		load *jsonschema.LoadURLError
		meta *jsonschema.SchemaValidationError
	)
	switch {
	case errors.As(err, &load):
		return nil, fmt.Errorf("refers to %q outside itself: $ref and $schema may only point within the schema "+
			"(#/$defs/…) or name a JSON Schema draft", strings.TrimPrefix(load.URL, schemaBase))
	case errors.As(err, &meta):
		var ve *jsonschema.ValidationError
		if errors.As(meta.Err, &ve) {
			return nil, fmt.Errorf("is not a valid JSON Schema: %s", describe(ve, nil, true))
		}
	}
	return nil, fmt.Errorf("is not a valid JSON Schema: %s", strings.ReplaceAll(strings.ReplaceAll(err.Error(), loc, ""), schemaBase, ""))
}
