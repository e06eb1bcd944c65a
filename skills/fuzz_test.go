package skills

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// Fuzz targets for what a publisher uploads: the manifest, and the whole
// multipart publish request through the real handler. `make fuzz` runs each
// for longer; plain `go test` replays the seeds and testdata/fuzz.

// trapWasm is the smallest module the ABI accepts: it exports memory and an
// agentbot_run that traps (sdk/skill/internal/testguests/testdata/trap.wat).
const trapWasm = "\x00asm\x01\x00\x00\x00\x01\x05\x01\x60\x00\x01\x7f\x03\x02\x01\x00\x05\x03\x01\x00\x01" +
	"\x07\x19\x02\x06memory\x02\x00\x0cagentbot_run\x00\x00\x0a\x05\x01\x03\x00\x00\x0b"

func manifestSeeds(f *testing.F) [][]byte {
	out := [][]byte{
		[]byte(`{"name":"hello","version":"1.0.0","description":"Says hello","category":"tools"}`),
		[]byte(`{"name":"hello","version":"1.2.3-beta.1+abc","description":"d","category":"tools","icon":"👋","price":"0.01",` +
			`"actions":["hello","count_all"],"capabilities":["kv","http","log","config"],"http":{"hosts":["api.example.com","127.0.0.1"]},` +
			`"limits":{"timeoutMs":500,"memoryMb":16,"maxOutputBytes":1000,"maxHostCalls":10},"config":{"k":"v"}}`),
		[]byte(`{"name":"hello","version":"1.0.0","description":"d","category":"tools","price":"100.000001"}`),
		[]byte(`{"name":"hello","version":"1.0.0","description":"d","category":"tools","entry":"main"}`),
		[]byte(`{"name":"hello","version":"1.0.0","description":"d","category":"tools","limits":{"timeoutMs":-1}}`),
		[]byte(`[1]`),
	}
	paths, _ := filepath.Glob("shipped/*/manifest.json")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzParseManifest: an accepted manifest is one JSON object, satisfies every
// rule of validate, and reads back the same after being written out again.
func FuzzParseManifest(f *testing.F) {
	for _, b := range manifestSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("ParseManifest(%q) accepted input that is not one JSON value", b)
		}
		if err := m.validate(); err != nil {
			t.Fatalf("ParseManifest(%q) = %+v, which validate refuses: %v", b, m, err)
		}
		if p := m.PriceMicroUSD(); p < 0 || p > maxPriceMicro {
			t.Fatalf("ParseManifest(%q): price %d micro-USD", b, p)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseManifest(again)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("ParseManifest(%q) = %+v; written out as %s it reads %+v, %v", b, m, again, back, err)
		}
	})
}

// publishEnv is the publish handler over a fresh SQLite store and runtime,
// called as one signed-in user.
type publishEnv struct {
	h    func(*http.Request) *httptest.ResponseRecorder
	user string
}

func newPublishEnv(f *testing.F) *publishEnv {
	st := storetest.Open(f, storetest.SQLite(f))
	u, err := st.CreateUser(context.Background(), store.NewUser{Email: "pub@example.com", Name: "Pub", PasswordHash: "h"})
	if err != nil {
		f.Fatal(err)
	}
	rt, err := New(context.Background(), Config{Log: quiet})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rt.Close(context.Background()) })
	// Quotas high enough that fuzzing keeps reaching the compiler: after 20
	// refused modules in a day, the default answers 429 to everything.
	svc := &Service{Store: st, Runtime: rt, Log: quiet, Quota: Quota{PublishPerDay: 1 << 30, StorageBytes: 1 << 40}}
	handle := api.Adapter{Log: quiet}.Handle(svc.Publish)
	p := &auth.Principal{UserID: u.ID, Email: "pub@example.com", Role: "user", Method: auth.MethodAPIKey}
	return &publishEnv{user: u.ID, h: func(r *http.Request) *httptest.ResponseRecorder {
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		w := httptest.NewRecorder()
		handle(w, r, nil)
		return w
	}}
}

// check fails unless w is a 201 or the contract's JSON error with a 4xx status.
func (e *publishEnv) check(t *testing.T, w *httptest.ResponseRecorder, what string) {
	t.Helper()
	switch w.Code {
	case http.StatusCreated:
		return
	case 400, 403, 409, 413, 415, 429:
	default:
		t.Fatalf("publish %s = %d %s; want 201 or 400, 403, 409, 413, 415, 429", what, w.Code, w.Body.Bytes())
	}
	var body struct{ Error, Code string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" || body.Code == "" {
		t.Fatalf("publish %s = %d %q; want the JSON error shape", what, w.Code, w.Body.Bytes())
	}
}

// FuzzPublish uploads any manifest and module, as a well-formed multipart
// form: the answer is 201 only for a valid manifest and an ABI module, and a
// 4xx JSON error otherwise, never a 5xx.
func FuzzPublish(f *testing.F) {
	for _, b := range manifestSeeds(f) {
		f.Add(b, []byte(trapWasm), false)
	}
	f.Add(manifestSeeds(f)[0], []byte("\x00asm garbage"), true)
	f.Add(manifestSeeds(f)[1], []byte{}, false)
	e := newPublishEnv(f)
	f.Fuzz(func(t *testing.T, manifest, module []byte, manifestAsFile bool) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if manifestAsFile {
			fw, _ := mw.CreateFormFile("manifest", "manifest.json")
			fw.Write(manifest)
		} else {
			mw.WriteField("manifest", string(manifest))
		}
		fw, _ := mw.CreateFormFile("module", "skill.wasm")
		fw.Write(module)
		mw.Close()
		r := httptest.NewRequest(http.MethodPost, "/api/skills/publish", &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		w := e.h(r)
		e.check(t, w, fmt.Sprintf("(manifest %q, %d-byte module)", manifest, len(module)))
		if w.Code == http.StatusCreated {
			m, err := ParseManifest(manifest)
			if err != nil {
				t.Fatalf("publish accepted manifest %q: %v", manifest, err)
			}
			var out struct{ GatewayID string }
			if json.Unmarshal(w.Body.Bytes(), &out) != nil || out.GatewayID != IDPrefix+m.Name {
				t.Fatalf("publish answered %s; want gatewayId %s", w.Body.Bytes(), IDPrefix+m.Name)
			}
		}
	})
}

// FuzzPublishMultipart sends any body as multipart/form-data with a fixed
// boundary: malformed forms, missing parts and stray parts are 4xx JSON errors.
func FuzzPublishMultipart(f *testing.F) {
	const boundary = "fuzzboundary"
	part := func(name, filename, content string) string {
		disp := `form-data; name="` + name + `"`
		if filename != "" {
			disp += `; filename="` + filename + `"`
		}
		return "--" + boundary + "\r\nContent-Disposition: " + disp + "\r\n\r\n" + content + "\r\n"
	}
	m := string(manifestSeeds(f)[0])
	f.Add([]byte(part("manifest", "", m) + part("module", "s.wasm", trapWasm) + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("module", "s.wasm", trapWasm) + part("manifest", "m.json", m) + part("other", "", "x") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("manifest", "", m) + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("manifest", "", m) + part("module", "s.wasm", trapWasm)))
	f.Add([]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"module\"\r\n\r\n\x00asm"))
	f.Add([]byte("--" + boundary + "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + boundary + "--"))
	f.Add([]byte{})
	e := newPublishEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/skills/publish", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		e.check(t, e.h(r), fmt.Sprintf("%q", truncate(body)))
	})
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// FuzzFetchURL: a URL the sandbox lets a skill fetch is http(s), carries no
// credentials, names a host both the manifest and the operator allow, and
// still names that host once net/http has re-serialised it for the request.
func FuzzFetchURL(f *testing.F) {
	for _, s := range []string{"https://api.example.com/v1?q=1", "http://API.EXAMPLE.COM:8080/", "http://127.0.0.1/x",
		"https://user:pw@api.example.com/", "https://api.example.com@evil.example/", "https://evil.example#@api.example.com",
		"https://api.example.com\\@evil.example/", "https://api.example.com%2eevil.example/", "https://[::1]/", "file:///etc/passwd",
		"//api.example.com/x", "https://api.example.com./", "HTTPS://api.example.com/"} {
		f.Add(s)
	}
	allowed := []string{"api.example.com", "127.0.0.1"}
	fe := FetchPolicy{AllowHosts: allowed}.Fetcher(allowed).(*fetcher)
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil || fe.checkURL(u) != nil {
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || !slices.Contains(allowed, strings.ToLower(u.Hostname())) {
			t.Fatalf("checkURL(%q) allowed scheme %q, user %v, host %q", raw, u.Scheme, u.User, u.Hostname())
		}
		req, err := http.NewRequest("GET", u.String(), nil)
		if err != nil {
			return // refused before any connection
		}
		if !strings.EqualFold(req.URL.Hostname(), u.Hostname()) {
			t.Fatalf("checkURL(%q) checked host %q, but the request goes to %q", raw, u.Hostname(), req.URL.Hostname())
		}
	})
}
