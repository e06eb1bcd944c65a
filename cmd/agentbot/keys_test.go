package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// keys create shows the secret once; list, get and delete see the key; a
// deleted key is gone (exit 4) and stops working (exit 3).
func TestKeys(t *testing.T) {
	se := gatewayServer(t, nil)
	tm := newTerm(t, map[string]string{"AGENTBOT_URL": se.URL, "AGENTBOT_KEY": account(t, se, "ada@example.com")})

	created := jsonOf[struct{ ID, Name, Key string }](t, tm.ok("keys", "create", "ci runner", "--json"))
	if created.Name != "ci runner" || !strings.HasPrefix(created.Key, "sk_") || created.ID == "" {
		t.Fatalf("created = %+v", created)
	}
	list := jsonOf[struct {
		Keys []struct{ ID, Name, KeyPreview string }
	}](t, tm.ok("keys", "list", "--json"))
	if len(list.Keys) != 2 || list.Keys[0].ID != created.ID || strings.Contains(fmt.Sprint(list), created.Key) {
		t.Errorf("list = %+v; want the new key first, by preview only", list)
	}
	if r := tm.ok("keys", "list"); !strings.Contains(r.stdout, "ci runner") || !strings.Contains(r.stdout, "LAST USED") {
		t.Errorf("keys list =\n%s", r.stdout)
	}
	if r := tm.ok("keys", "create", "laptop"); !strings.Contains(r.stdout, "sk_") || !strings.Contains(r.stdout, "shown only now") {
		t.Errorf("keys create =\n%s", r.stdout)
	}
	if got := jsonOf[struct{ Name string }](t, tm.ok("keys", "get", created.ID, "--json")); got.Name != "ci runner" {
		t.Errorf("keys get = %+v", got)
	}
	tm.ok("keys", "delete", created.ID)
	tm.expect(exitNotFound, "keys", "get", created.ID)
	tm.expect(exitNotFound, "keys", "delete", created.ID)
	tm.expect(exitUsage, "keys", "create")
	if r := tm.expect(exitRefused, "keys", "create", strings.Repeat("n", 65)); !strings.Contains(r.stderr, "VALIDATION_ERROR") {
		t.Errorf("a refused name: %q", r.stderr)
	}
	tm.env["AGENTBOT_KEY"] = created.Key
	tm.expect(exitAuth, "keys", "list")
}

// Each kind of refusal has its exit code, and --json errors are one JSON
// object on stderr carrying the server's fields.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   int
	}{
		{401, "AUTH_REQUIRED", exitAuth}, {403, "ADMIN_REQUIRED", exitAuth}, {404, "NOT_FOUND", exitNotFound},
		{402, "PAYMENT_REQUIRED", exitPayment}, {429, "RATE_LIMITED", exitLimited}, {409, "VERSION_EXISTS", exitConflict},
		{400, "VALIDATION_ERROR", exitRefused}, {422, "MAX_ROUND_TRIPS", exitRefused}, {413, "PAYLOAD_TOO_LARGE", exitRefused},
		{500, "INTERNAL", exitFailure}, {502, "PLUGIN_UNAVAILABLE", exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			tm := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3")
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, `{"error":"refused","code":%q,"request_id":"rid","limit":5}`, tt.code)
			})
			r := tm.expect(tt.want, "keys", "list")
			if !strings.Contains(r.stderr, tt.code) || !strings.Contains(r.stderr, "limit: 5") || !strings.Contains(r.stderr, "request rid") {
				t.Errorf("stderr = %q", r.stderr)
			}
			r = tm.expect(tt.want, "keys", "list", "--json")
			var e struct {
				Error, Code, RequestID string
				Status, ExitCode       int
				Fields                 map[string]any
			}
			if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || r.stdout != "" {
				t.Fatalf("--json error: stdout %q, stderr %q: %v", r.stdout, r.stderr, err)
			}
			if e.Code != tt.code || e.Status != tt.status || e.ExitCode != tt.want || e.RequestID != "rid" || e.Fields["limit"] != 5.0 {
				t.Errorf("--json error = %+v", e)
			}
		})
	}
	// No gateway at all: a failure.
	tm := newTerm(t, map[string]string{"AGENTBOT_URL": "http://127.0.0.1:1", "AGENTBOT_KEY": "sk_x"})
	tm.expect(exitFailure, "keys", "list")
	tm.env["AGENTBOT_URL"] = "not a url"
	tm.expect(exitUsage, "keys", "list")
}
