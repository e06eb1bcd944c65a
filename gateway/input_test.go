package gateway

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// checkCallBody holds the in-place reading of a body to encoding/json's: the
// members found are the map json.Unmarshal makes (the last of duplicate keys
// winning), and the input passed on is that map less "plugin", byte for byte
// in its values.
func checkCallBody(t *testing.T, raw string) {
	t.Helper()
	if !json.Valid([]byte(raw)) || strings.TrimSpace(raw) == "" {
		return
	}
	var want map[string]json.RawMessage
	decodeErr := json.Unmarshal([]byte(raw), &want)
	got := map[string]json.RawMessage{}
	err := members([]byte(raw), func(key, value []byte, start, end int) {
		var k string
		if json.Unmarshal(key, &k) != nil {
			t.Fatalf("%q: key %q is not a JSON string", raw, key)
		}
		if !bytes.HasPrefix([]byte(raw)[start:end], key) || !bytes.HasSuffix([]byte(raw)[start:end], value) {
			t.Fatalf("%q: member span %q does not run from %q to %q", raw, raw[start:end], key, value)
		}
		got[k] = value
	})
	if decodeErr != nil || want == nil {
		if err == nil {
			t.Fatalf("%q: not an object, yet members found %v", raw, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: members: %v; encoding/json reads an object", raw, err)
	}
	if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
		t.Fatalf("%q: members %q; encoding/json reads %q", raw, got, want)
	}
	r := httptest.NewRequest("POST", "/api/v1/gateway", strings.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	b, err := readCallBody(r)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	id, idErr := b.id()
	var wantID string
	if p, ok := want["plugin"]; ok {
		if json.Unmarshal(p, &wantID) != nil {
			if idErr == nil {
				t.Fatalf("%q: plugin %s accepted as an id", raw, p)
			}
			return
		}
	}
	if idErr != nil || id != wantID {
		t.Fatalf("%q: id %q, %v; want %q", raw, id, idErr, wantID)
	}
	in := b.input()
	var passed map[string]json.RawMessage
	if err := json.Unmarshal(in, &passed); err != nil {
		t.Fatalf("%q: input %q is not an object: %v", raw, in, err)
	}
	delete(want, "plugin")
	if !maps.EqualFunc(passed, want, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
		t.Fatalf("%q: input %q; want the members %q", raw, in, want)
	}
}

var callBodies = []string{
	`{}`, ` { } `, `{"plugin":"echo"}`, `{"plugin":"echo","text":"hi"}`, `{"text":"hi","plugin":"echo"}`,
	`{"a":1,"plugin":"echo","b":[1,{"plugin":"x"}]}`, `{"plugin":"a","plugin":"b"}`, `{"plu\u0067in":"echo","x":1}`,
	`{"plugin":1}`, `{"plugin":null}`, `{"s":"a \"}\" b","plugin":"e","t":"\\"}`, "{\n\t\"plugin\" :\r \"e\" ,\n\"n\": -1.5e3 }",
	`{"stream":true,"plugin":"echo-stream"}`, `{"x":{"y":{"z":[[],{}]}},"plugin":"p","w":false}`,
	`[1,2]`, `"plugin"`, `null`, `12`, `true`, `{"\\":"\\\\","plugin":"é"}`,
}

func TestCallBodyReadInPlace(t *testing.T) {
	for _, raw := range callBodies {
		checkCallBody(t, raw)
	}
	// The input is the body as sent when nothing is taken out of it: no
	// re-encoding (key order, spacing and escapes kept).
	raw := `{"z": 1, "a": "<b>\u00e9</b>"}`
	r := httptest.NewRequest("POST", "/api/v1/gateway", strings.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	b, err := readCallBody(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.id(); err != nil || string(b.input()) != raw {
		t.Errorf("input = %q, %v; want the body as sent", b.input(), err)
	}
}

func FuzzCallBody(f *testing.F) {
	for _, raw := range callBodies {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) { checkCallBody(t, raw) })
}

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

func TestEnvelopeIsTheAnswersJSON(t *testing.T) {
	receipt := `eyJ "quoted" receipt`
	for _, pay := range []paymentInfo{{Method: "free"}, {Method: "mpp", Receipt: &receipt}} {
		b := envelope("skill:echo-2.v1", []byte(` {"echo": "<hi>"} `), testTime, pay)
		var got struct {
			Payment   paymentInfo     `json:"payment"`
			Plugin    string          `json:"plugin"`
			Result    json.RawMessage `json:"result"`
			Timestamp string          `json:"timestamp"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got.Plugin != "skill:echo-2.v1" || string(got.Result) != `{"echo": "<hi>"}` ||
			got.Timestamp != "2026-01-02T03:04:05.000000006Z" || got.Payment.Method != pay.Method ||
			(pay.Receipt == nil) != (got.Payment.Receipt == nil) || (pay.Receipt != nil && *got.Payment.Receipt != receipt) {
			t.Errorf("envelope %s; read back %+v", b, got)
		}
		if !bytes.HasSuffix(b, []byte("}\n")) {
			t.Errorf("envelope %q does not end its line", b)
		}
	}
}
