package skills

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentbot/gateway/skills/internal/testguests"
)

// withSchemas is a manifest with actions a, b and c and the given
// inputSchemas object.
func withSchemas(schemas string) []byte {
	return []byte(`{"name":"typed","version":"1.0.0","description":"d","category":"tools","actions":["a","b","c"],` +
		`"inputSchemas":` + schemas + `}`)
}

func TestManifestInputSchemas(t *testing.T) {
	big := `{"type":"object","description":"` + strings.Repeat("x", MaxInputSchema-31) + `"}`
	nearly := `{"type":"object","description":"` + strings.Repeat("x", MaxInputSchema-60) + `"}`
	manyActions := `{"name":"typed","version":"1.0.0","description":"d","category":"tools","actions":["a","b","c","d","e"],"inputSchemas":{` +
		`"a":` + nearly + `,"b":` + nearly + `,"c":` + nearly + `,"d":` + nearly + `,"e":` + nearly + `}}`
	for _, tc := range []struct {
		name, manifest string
		// "" = valid; otherwise words the error must contain (the field first)
		want []string
	}{
		{"none", string(withSchemas(`{}`)), nil},
		{"one action", string(withSchemas(`{"a":{"type":"object","properties":{"n":{"type":"integer","minimum":1}},"required":["n"]}}`)), nil},
		{"local $ref", string(withSchemas(`{"a":{"type":"object","$defs":{"n":{"type":"integer"}},"properties":{"n":{"$ref":"#/$defs/n"}}}}`)), nil},
		{"draft-07", string(withSchemas(`{"a":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","definitions":{"n":{"type":"integer"}},"properties":{"n":{"$ref":"#/definitions/n"}}}}`)), nil},
		{"just under 16 KiB", string(withSchemas(`{"a":` + nearly + `}`)), nil},

		{"unknown action", string(withSchemas(`{"d":{"type":"object"}}`)), []string{"inputSchemas.d", "actions"}},
		{"no actions at all", `{"name":"typed","version":"1.0.0","description":"d","category":"tools","inputSchemas":{"a":{"type":"object"}}}`,
			[]string{"inputSchemas.a", "actions"}},
		{"type string", string(withSchemas(`{"a":{"type":"string"}}`)), []string{"inputSchemas.a", `"type": "object"`}},
		{"type missing", string(withSchemas(`{"a":{"properties":{}}}`)), []string{"inputSchemas.a", `"type": "object"`}},
		{"type as a list", string(withSchemas(`{"a":{"type":["object"]}}`)), []string{"inputSchemas.a", `"type": "object"`}},
		{"an array", string(withSchemas(`{"b":[{"type":"object"}]}`)), []string{"inputSchemas.b", "object"}},
		{"true", string(withSchemas(`{"b":true}`)), []string{"inputSchemas.b", "object"}},
		{"null", string(withSchemas(`{"b":null}`)), []string{"inputSchemas.b", "object"}},
		{"declares action", string(withSchemas(`{"a":{"type":"object","properties":{"action":{"type":"string"}}}}`)),
			[]string{"inputSchemas.a", `"action"`}},
		{"over 16 KiB", string(withSchemas(`{"c":` + big + `}`)), []string{"inputSchemas.c", "16 KiB"}},
		{"over 64 KiB together", manyActions, []string{"inputSchemas", "64 KiB"}},
		{"not a schema", string(withSchemas(`{"a":{"type":"object","properties":{"n":{"type":5}}}}`)),
			[]string{"inputSchemas.a", "not a valid JSON Schema", "/properties/n/type"}},
		{"required not a list", string(withSchemas(`{"a":{"type":"object","required":"n"}}`)),
			[]string{"inputSchemas.a", "/required", "must be an array"}},
		{"minimum not a number", string(withSchemas(`{"a":{"type":"object","properties":{"n":{"minimum":"1"}}}}`)),
			[]string{"inputSchemas.a", "/properties/n/minimum"}},
		{"backtracking regex", string(withSchemas(`{"a":{"type":"object","properties":{"s":{"pattern":"(?=x)"}}}}`)),
			[]string{"inputSchemas.a", "regex"}},
		{"missing local $ref", string(withSchemas(`{"b":{"type":"object","properties":{"n":{"$ref":"#/$defs/nope"}}}}`)),
			[]string{"inputSchemas.b", "#/$defs/nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.manifest))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("ParseManifest = %v; want it valid", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseManifest(%.200s) = %s; want an error naming %q", tc.manifest, m.Name, tc.want[0])
			}
			var se *SchemaError
			if !errors.As(err, &se) || se.Field != tc.want[0] {
				t.Errorf("ParseManifest error %v (%T); want a *SchemaError for %s", err, err, tc.want[0])
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseManifest error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), schemaBase) {
				t.Errorf("ParseManifest error %q shows the internal location %s", err, schemaBase)
			}
		})
	}
}

// A schema may refer only within itself: $ref and $schema to a URL, a file
// or a relative location are refused at publish without any network or file
// access.
func TestManifestInputSchemaRefusesExternalReferences(t *testing.T) {
	// A server that would serve a valid schema: fetching it would make the
	// manifest valid, and count the request.
	var fetched atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"type":"integer"}`)
	}))
	defer srv.Close()
	// A file that holds a valid schema.
	file := filepath.Join(t.TempDir(), "n.json")
	if err := os.WriteFile(file, []byte(`{"type":"integer"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// A closed port: a refused connection would answer at once, but with
	// an error of its own, not ours.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/n.json"
	ln.Close()

	for _, ref := range []string{srv.URL + "/n.json", srv.URL + "/n.json#/x", closed, "file://" + file, file, "n.json",
		"../other/n.json", "urn:example:n"} {
		for _, schema := range []string{
			`{"type":"object","properties":{"n":{"$ref":"` + ref + `"}}}`,
			`{"type":"object","$defs":{"n":{"$ref":"` + ref + `"}},"properties":{"n":{"$ref":"#/$defs/n"}}}`,
			`{"$schema":"` + ref + `","type":"object"}`,
		} {
			_, err := ParseManifest(withSchemas(`{"a":` + schema + `}`))
			var se *SchemaError
			if !errors.As(err, &se) || se.Field != "inputSchemas.a" || !strings.Contains(err.Error(), "outside itself") {
				t.Errorf("schema %s = %v; want it refused as a reference outside itself", schema, err)
			}
		}
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the server saw %d requests; want none", n)
	}
}

// A bad input schema is a 400 at publish naming the field.
func TestPublishRefusesABadInputSchema(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	loop := testguests.Fixture(t, "loop")
	for _, tc := range []struct {
		schemas map[string]any
		field   string
		says    string
	}{
		{map[string]any{"run": map[string]any{"type": "string"}}, "inputSchemas.run", `"type": "object"`},
		{map[string]any{"stop": map[string]any{"type": "object"}}, "inputSchemas.stop", "actions"},
		{map[string]any{"run": map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"$ref": "http://127.0.0.1:9/n.json"}}}},
			"inputSchemas.run", "outside itself"},
		{map[string]any{"run": map[string]any{"type": "object", "minProperties": -1}}, "inputSchemas.run", "/minProperties"},
	} {
		err := e.publishAs(t, e.a, false, loop, "typed", "1.0.0", map[string]any{"actions": []string{"run"}, "inputSchemas": tc.schemas})
		wantAPIError(t, tc.field, err, 400, "INVALID_MANIFEST", "manifest "+tc.field, tc.says)
		if err != nil && err.Fields["field"] != tc.field {
			t.Errorf("%s: fields %v; want field %s", tc.field, err.Fields, tc.field)
		}
	}
	if err := e.publishAs(t, e.a, false, loop, "typed", "1.0.0", map[string]any{"actions": []string{"run"},
		"inputSchemas": map[string]any{"run": map[string]any{"type": "object"}}}); err != nil {
		t.Errorf("a good schema = %v", err)
	}
}
