package skills

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/sdk/provider"
)

const payManifest = `{"name":"payer","version":"1.2.0","description":"Pays people","category":"payments","price":"0.25",
	"actions":["pay","status","ping"],
	"inputSchemas":{
		"pay":{"type":"object","description":"Pay recipients their shares of an amount.",
			"properties":{
				"amount":{"type":"integer","minimum":1},
				"currency":{"enum":["USDC","EUR"]},
				"memo":{"type":"string","maxLength":10},
				"ref":{"type":"string","pattern":"^ref_[0-9]+$"},
				"when":{"type":"string","format":"date-time"},
				"rate":{"type":"number","exclusiveMinimum":0,"multipleOf":0.0001},
				"recipients":{"type":"array","minItems":1,"items":{"type":"object",
					"properties":{"address":{"type":"string"},"share":{"type":"number","maximum":100}},
					"required":["address","share"],"additionalProperties":false}},
				"meta":{"type":"object","properties":{"odd key":{"type":"boolean"}}}
			},
			"required":["amount","recipients"],"additionalProperties":false},
		"status":{"type":"object","properties":{"id":{"type":"string","minLength":1}},"required":["id"]}
	}}`

func payTools(t *testing.T) *ToolSet {
	t.Helper()
	m, err := ParseManifest([]byte(payManifest))
	if err != nil {
		t.Fatal(err)
	}
	return m.Tools()
}

func TestManifestTools(t *testing.T) {
	ts := payTools(t)
	if ts.Name != "payer" || ts.Version != "1.2.0" || ts.Description != "Pays people" || ts.PriceMicroUSD != 250_000 || len(ts.Tools) != 3 {
		t.Fatalf("Tools() = %+v", ts)
	}
	for i, want := range []struct {
		action    string
		hasSchema bool
	}{{"pay", true}, {"status", true}, {"ping", false}} {
		tool := ts.Tools[i]
		if tool.Action != want.action || (tool.Schema != nil) != want.hasSchema {
			t.Errorf("Tools[%d] = %s with schema %s; want %s, schema %v", i, tool.Action, tool.Schema, want.action, want.hasSchema)
		}
		if want.hasSchema && !json.Valid(tool.Schema) {
			t.Errorf("Tools[%d].Schema = %s; want the manifest's JSON", i, tool.Schema)
		}
	}
	if tool, ok := ts.Tool("status"); !ok || tool.Action != "status" {
		t.Errorf("Tool(status) = %v, %v", tool, ok)
	}
	if _, ok := ts.Tool("nope"); ok {
		t.Errorf("Tool(nope) found")
	}
}

func TestValidate(t *testing.T) {
	ts := payTools(t)
	const ok = `{"amount":5,"recipients":[{"address":"0xa","share":60},{"address":"0xb","share":40}]}`
	for _, tc := range []struct {
		action, args string
		want         string // "" = accepted
	}{
		{"pay", ok, ""},
		{"pay", `{"amount":5,"recipients":[{"address":"0xa","share":100}],"currency":"EUR","memo":"gig","ref":"ref_12",
			"when":"2026-05-01T22:00:00Z","rate":0.0031,"meta":{"odd key":true}}`, ""},
		{"status", `{"id":"s1","extra":1}`, ""},
		{"ping", `{}`, ""},
		{"ping", ``, ""},
		{"ping", `null`, ""},
		{"ping", `{"anything":[1,2]}`, ""},

		{"pay", `{"amount":0,"recipients":[{"address":"0xa"}]}`, `amount: must be >= 1; recipients[0]: missing property "share"`},
		{"pay", `{}`, `missing properties "amount", "recipients"`},
		{"pay", ``, `missing properties "amount", "recipients"`},
		{"pay", `{"amount":"5","recipients":[]}`, `amount: must be an integer, not a string; recipients: must have at least 1 item`},
		{"pay", `{"amount":1.5,"recipients":[{"address":"0xa","share":101,"extra":true}]}`,
			`amount: must be an integer, not a number; recipients[0]: unknown property "extra"; recipients[0].share: must be <= 100`},
		{"pay", `{"amount":1,"recipients":[{"address":1,"share":1}],"currency":"GBP"}`,
			`currency: must be one of "USDC", "EUR"; recipients[0].address: must be a string, not a number`},
		{"pay", `{"amount":1,"recipients":[{"address":"a","share":1}],"memo":"far too long","ref":"x"}`,
			`memo: must be at most 10 characters long; ref: must match the pattern ^ref_[0-9]+$`},
		{"pay", `{"amount":1,"recipients":[{"address":"a","share":1}],"rate":0.00001}`, `rate: must be a multiple of 0.0001`},
		{"pay", `{"amount":1,"recipients":[{"address":"a","share":1}],"rate":0}`, `rate: must be > 0`},
		{"pay", `{"amount":1,"recipients":[{"address":"a","share":1}],"when":"tomorrow"}`, `when: must be a valid date-time`},
		{"pay", `{"amount":1,"recipients":[{"address":"a","share":1}],"meta":{"odd key":"yes"}}`,
			`meta["odd key"]: must be a boolean, not a string`},
		{"pay", `{"amount":1,"recipients":[{"address":"a","share":1}],"tip":1}`, `unknown property "tip"`},
		{"pay", `{"amount":1,"recipients":[{},{},{},{},{},{},{}]}`, `recipients[0]: missing properties "address", "share"; ` +
			`recipients[1]: missing properties "address", "share"; recipients[2]: missing properties "address", "share"; ` +
			`recipients[3]: missing properties "address", "share"; recipients[4]: missing properties "address", "share"; ` +
			`recipients[5]: missing properties "address", "share"; and 1 more`},
		{"status", `{"id":""}`, `id: must be at least 1 character long`},
		{"pay", `{"action":"pay","amount":5,"recipients":[{"address":"0xa","share":100}]}`, `"action" is not an argument: the tool sets it`},
		{"ping", `{"action":"pay"}`, `"action" is not an argument: the tool sets it`},
		{"ping", `[1]`, `the arguments must be a JSON object`},
		{"ping", `"hi"`, `the arguments must be a JSON object`},
		{"ping", `{"a":`, `the arguments are not valid JSON`},
		{"refund", `{}`, `payer has no action "refund" (its actions: pay, status, ping)`},
	} {
		err := ts.Validate(tc.action, json.RawMessage(tc.args))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Validate(%s, %s) = %v; want it accepted", tc.action, tc.args, err)
		case tc.want == "":
		case err == nil:
			t.Errorf("Validate(%s, %s) accepted; want %q", tc.action, tc.args, tc.want)
		case !strings.HasPrefix(err.Error(), tc.want):
			t.Errorf("Validate(%s, %s) = %q; want %q", tc.action, tc.args, err, tc.want)
		default:
			var ae *ArgsError
			if !errors.As(err, &ae) || ae.Action != tc.action || len(ae.Problems) == 0 {
				t.Errorf("Validate(%s, %s) = %#v; want an *ArgsError for the action", tc.action, tc.args, err)
			}
		}
	}
}

// Tools and InvokeVersion serve the version asked for, whatever the latest.
func TestToolsAndInvokeAtAPinnedVersion(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	ctx := context.Background()
	e.publish(t, "echo", "pinned", map[string]any{"version": "1.0.0", "price": "0.01", "capabilities": []string{"kv"},
		"actions": []string{"greet"}, "inputSchemas": map[string]any{"greet": json.RawMessage(
			`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`)}})
	old, err := e.svc.Tools(ctx, "pinned", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "work", "pinned", map[string]any{"version": "2.0.0", "price": "0.02", "actions": []string{"hash", "greet"},
		"inputSchemas": map[string]any{"hash": json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","maximum":10}}}`)}})

	for _, tc := range []struct {
		version string
		price   int64
		actions string
		ok, bad [2]string // action and arguments accepted, refused
		refusal string
	}{
		{"1.0.0", 10_000, "greet", [2]string{"greet", `{"name":"Ada"}`}, [2]string{"greet", `{}`}, `missing property "name"`},
		{"2.0.0", 20_000, "hash greet", [2]string{"greet", `{}`}, [2]string{"hash", `{"n":11}`}, `n: must be <= 10`},
	} {
		ts, err := e.svc.Tools(ctx, "pinned", tc.version)
		if err != nil {
			t.Fatalf("Tools(pinned, %s) = %v", tc.version, err)
		}
		var actions []string
		for _, tool := range ts.Tools {
			actions = append(actions, tool.Action)
		}
		if ts.Name != "pinned" || ts.Version != tc.version || ts.PriceMicroUSD != tc.price || strings.Join(actions, " ") != tc.actions {
			t.Errorf("Tools(pinned, %s) = %+v; want that version's price %d and actions %s", tc.version, ts, tc.price, tc.actions)
		}
		if err := ts.Validate(tc.ok[0], json.RawMessage(tc.ok[1])); err != nil {
			t.Errorf("%s: Validate%v = %v; want it accepted", tc.version, tc.ok, err)
		}
		if err := ts.Validate(tc.bad[0], json.RawMessage(tc.bad[1])); err == nil || err.Error() != tc.refusal {
			t.Errorf("%s: Validate%v = %v; want %q", tc.version, tc.bad, err, tc.refusal)
		}
	}
	if again, _ := e.svc.Tools(ctx, "pinned", "1.0.0"); again != old {
		t.Errorf("Tools(pinned, 1.0.0) again = %p; want the cached %p", again, old)
	}
	for _, tc := range [][2]string{{"pinned", "3.0.0"}, {"nope", "1.0.0"}} {
		if ts, err := e.svc.Tools(ctx, tc[0], tc[1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Tools(%s, %s) = %+v, %v; want ErrNotFound", tc[0], tc[1], ts, err)
		}
	}

	invoke := func(version string) *provider.InvokeResponse {
		req := &provider.InvokeRequest{Capability: "skill:pinned", Input: json.RawMessage(`{"action":"greet","name":"Ada","n":3}`),
			Caller: provider.Caller{UserID: e.a, RequestID: "req-1"}}
		if version == "" {
			resp, err := e.svc.Invoke(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		resp, err := e.svc.InvokeVersion(ctx, req, version)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// 1.0.0 is the echo guest with the KV granted; 2.0.0 (the latest) the
	// work guest.
	r := invoke("1.0.0")
	if r.Error != nil {
		t.Fatalf("InvokeVersion(1.0.0) = %+v", r.Error)
	}
	if out := decode(t, r.Output); out["input"] == nil || out["kvCount"] != float64(1) {
		t.Errorf("InvokeVersion(1.0.0) = %s; want the echo guest of 1.0.0, with its manifest's KV", r.Output)
	}
	for _, version := range []string{"", "2.0.0"} {
		r := invoke(version)
		if out := decode(t, r.Output); r.Error != nil || out["sum"] == nil {
			t.Errorf("Invoke at %q = %s, %+v; want the work guest of 2.0.0", version, r.Output, r.Error)
		}
	}
	wantError(t, invoke("3.0.0"), 404, "UNKNOWN_PLUGIN")
}

func TestVersionCacheIsBounded(t *testing.T) {
	c := versionCache{size: 3}
	pins := make([]*pinned, 5)
	for i := range pins {
		pins[i] = &pinned{}
	}
	key := func(i int) [2]string { return [2]string{"s", string(rune('a' + i))} }
	for i := range 3 {
		c.put(key(i), pins[i])
	}
	c.get(key(0)) // a is now the most recently used
	c.put(key(3), pins[3])
	c.put(key(4), pins[4])
	if c.len() != 3 {
		t.Errorf("len = %d; want 3", c.len())
	}
	for i, want := range []*pinned{pins[0], nil, nil, pins[3], pins[4]} {
		if got := c.get(key(i)); got != want {
			t.Errorf("get(%v) = %p; want %p (least recently used evicted first)", key(i), got, want)
		}
	}
}
