package skills

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills/internal/testguests"
)

// publishAs runs POST /api/skills/publish as user with the module and a
// manifest for name@version with extra fields; it returns the rendered error
// (nil for 201).
func (e *serviceEnv) publishAs(t *testing.T, user string, admin bool, wasm []byte, name, version string, extra map[string]any) *api.Error {
	t.Helper()
	m := map[string]any{"name": name, "version": version, "description": "d", "category": "test"}
	for k, v := range extra {
		m[k] = v
	}
	raw, _ := json.Marshal(m)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("manifest", string(raw))
	fw, _ := w.CreateFormFile("module", "skill.wasm")
	fw.Write(wasm)
	w.Close()
	r := httptest.NewRequest("POST", "/api/skills/publish", &body)
	r.Header.Set("Content-Type", w.FormDataContentType())
	r = r.WithContext(auth.WithPrincipal(r.Context(), &auth.Principal{UserID: user, Admin: admin}))
	rec := httptest.NewRecorder()
	if err := e.svc.Publish(rec, r, nil); err != nil {
		return api.AsError(err)
	}
	if rec.Code != http.StatusCreated {
		t.Fatalf("publish %s@%s = %d %s", name, version, rec.Code, rec.Body)
	}
	return nil
}

func wantAPIError(t *testing.T, what string, err *api.Error, status int, code string, msg ...string) {
	t.Helper()
	if err == nil || err.Status != status || string(err.Code) != code {
		t.Errorf("%s = %v; want %d %s", what, err, status, code)
		return
	}
	for _, m := range msg {
		if !strings.Contains(err.Message, m) {
			t.Errorf("%s = %q; want it to say %q", what, err.Message, m)
		}
	}
}

// A manifest asking for more than the operator's maxima is refused at
// publish, naming the field.
func TestPublishRefusesLimitsAboveTheMaxima(t *testing.T) {
	e := newService(t, Config{Limits: abi.Limits{MaxOutput: 4096, MaxHostCalls: 100}}, FetchPolicy{})
	loop := testguests.Fixture(t, "loop")
	for _, tt := range []struct {
		limits map[string]any
		field  string
		max    int64
	}{
		{map[string]any{"maxOutputBytes": int64(9_000_000_000_000_000_000)}, "limits.maxOutputBytes", 4096},
		{map[string]any{"maxHostCalls": 2_000_000_000}, "limits.maxHostCalls", 100},
		{map[string]any{"timeoutMs": 10_001}, "limits.timeoutMs", 10_000},
		{map[string]any{"memoryMb": 65}, "limits.memoryMb", 64},
	} {
		err := e.publishAs(t, e.a, false, loop, "greedy", "1.0.0", map[string]any{"limits": tt.limits})
		wantAPIError(t, tt.field, err, 400, "INVALID_MANIFEST", tt.field+" exceeds the server maximum")
		if err != nil && (err.Fields["field"] != tt.field || err.Fields["limit"] != tt.max) {
			t.Errorf("%s: fields %v; want field %s, limit %d", tt.field, err.Fields, tt.field, tt.max)
		}
	}
	at := map[string]any{"maxOutputBytes": 4096, "maxHostCalls": 100, "timeoutMs": 10_000, "memoryMb": 64}
	if err := e.publishAs(t, e.a, false, loop, "modest", "1.0.0", map[string]any{"limits": at}); err != nil {
		t.Errorf("limits at the maxima = %v; want them accepted", err)
	}
}

// The name, version and quota checks come before compiling: nobody can make
// the platform compile a module it would refuse to publish anyway.
func TestPublishChecksBeforeCompiling(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	if err := e.publishAs(t, e.a, false, testguests.Fixture(t, "loop"), "taken", "1.0.0", nil); err != nil {
		t.Fatal(err)
	}
	modules := e.svc.Runtime.Modules()
	garbage := []byte("\x00asm\x01\x00\x00\x00 not really")
	wantAPIError(t, "b publishing under a's name", e.publishAs(t, e.b, false, garbage, "taken", "2.0.0", nil), 403, "SKILL_NAME_TAKEN")
	wantAPIError(t, "a changing a published version", e.publishAs(t, e.a, false, garbage, "taken", "1.0.0", nil), 409, "VERSION_EXISTS")
	if e.svc.Runtime.Modules() != modules {
		t.Errorf("compiled modules %d → %d; want nothing compiled for refused releases", modules, e.svc.Runtime.Modules())
	}
	wantAPIError(t, "a valid release of garbage", e.publishAs(t, e.a, false, garbage, "taken", "2.0.0", nil), 400, "INVALID_MODULE")
}

// Shipped skills' names, and "publish", are the platform's.
func TestPublishRefusesReservedNames(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	e.svc.Reserve("booking-settlement", "instant-split")
	for _, name := range []string{"booking-settlement", "instant-split", "publish"} {
		wantAPIError(t, "publishing "+name, e.publishAs(t, e.a, true, testguests.Fixture(t, "loop"), name, "1.0.0", nil),
			403, "SKILL_NAME_RESERVED", name)
	}
}

func TestPublishQuota(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	e.svc.Quota = Quota{PublishPerDay: 2, StorageBytes: 1 << 20}
	loop, grow := testguests.Fixture(t, "loop"), testguests.Fixture(t, "grow")
	for _, v := range []string{"1.0.0", "1.0.1"} {
		if err := e.publishAs(t, e.a, false, loop, "daily", v, nil); err != nil {
			t.Fatalf("version %s = %v", v, err)
		}
	}
	err := e.publishAs(t, e.a, false, grow, "daily", "1.0.2", nil)
	wantAPIError(t, "a third version in a day", err, 429, "PUBLISH_QUOTA_EXCEEDED", "2 versions in 24 hours")
	if err != nil {
		if ra := err.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After = %q; want the seconds until a version leaves the window", ra)
		}
		if err.Fields["current"] != int64(2) || err.Fields["limit"] != int64(2) {
			t.Errorf("fields = %v; want current 2, limit 2", err.Fields)
		}
	}
	// Admins are not held to it; other accounts have their own.
	if err := e.publishAs(t, e.a, true, grow, "daily", "1.0.2", nil); err != nil {
		t.Errorf("an admin's third version = %v", err)
	}
	if err := e.publishAs(t, e.b, false, grow, "bees", "1.0.0", nil); err != nil {
		t.Errorf("another account's version = %v", err)
	}

	// Stored bytes: b may keep one more copy of grow's size, not two.
	e.svc.Quota = Quota{PublishPerDay: 100, StorageBytes: int64(len(grow) + len(loop) + 10)}
	if err := e.publishAs(t, e.b, false, loop, "bees", "1.0.1", nil); err != nil {
		t.Fatalf("a module within the storage quota = %v", err)
	}
	wantAPIError(t, "a module past the storage quota", e.publishAs(t, e.b, false, testguests.Fixture(t, "oob"), "bees", "1.0.2", nil),
		429, "PUBLISH_QUOTA_EXCEEDED", "Storage quota")
	if err := e.publishAs(t, e.b, false, loop, "bees", "1.0.3", nil); err != nil {
		t.Errorf("a version reusing a stored module = %v; want it to fit", err)
	}
}

// Modules refused after compiling make no version, yet cost a compile: an
// account gets as many a day as it may publish versions, per node.
func TestPublishBoundsRefusedModules(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	e.svc.Quota = Quota{PublishPerDay: 2}
	forbidden := testguests.Fixture(t, "forbidden")
	for _, v := range []string{"1.0.0", "1.0.1"} {
		wantAPIError(t, "a module with a forbidden import", e.publishAs(t, e.a, false, forbidden, "bad", v, nil), 400, "INVALID_MODULE")
	}
	err := e.publishAs(t, e.a, false, testguests.Fixture(t, "loop"), "bad", "1.0.2", nil)
	wantAPIError(t, "a third module after two refused", err, 429, "PUBLISH_QUOTA_EXCEEDED", "2 refused in 24 hours")
	if err != nil && err.Header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
	if err := e.publishAs(t, e.b, false, testguests.Fixture(t, "loop"), "good", "1.0.0", nil); err != nil {
		t.Errorf("another account's module = %v", err)
	}
}
