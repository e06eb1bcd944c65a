package x402

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	testReq = Requirements{Scheme: "exact", Network: "eip155:84532", Amount: "10000",
		Asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", PayTo: "0x742d35Cc6634C0532925a3b844Bc454e4438f44e",
		MaxTimeoutSeconds: 300, Extra: map[string]any{"name": "USDC", "version": "2"}}
	testPayload = PaymentPayload{X402Version: 2, Resource: &Resource{URL: "http://gw/x"}, Accepted: testReq,
		Payload: json.RawMessage(`{"signature":"0xsig","authorization":{"from":"0x7099","to":"0x742d","value":"10000","validAfter":"0","validBefore":"9","nonce":"0x01"}}`)}
)

// facilitatorServer answers path with status and body after checking that
// the request is what @x402/core's HTTPFacilitatorClient sends.
func facilitatorServer(t *testing.T, path string, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			t.Errorf("request path = %q; want %q", r.URL.Path, path)
		}
		if path == "/supported" {
			if r.Method != http.MethodGet {
				t.Errorf("%s method = %s; want GET", path, r.Method)
			}
		} else {
			checkBody(t, r)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func checkBody(t *testing.T, r *http.Request) {
	t.Helper()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s, Content-Type %q; want POST application/json", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("request body %s: %v", raw, err)
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	if len(keys) != 3 || string(body["x402Version"]) != "2" || body["paymentPayload"] == nil || body["paymentRequirements"] == nil {
		t.Errorf("request body = %s; want exactly x402Version 2, paymentPayload, paymentRequirements", raw)
	}
	var p PaymentPayload
	var req Requirements
	if err := json.Unmarshal(body["paymentPayload"], &p); err != nil || !reflect.DeepEqual(p, testPayload) {
		t.Errorf("paymentPayload = %s (%v); want %+v", body["paymentPayload"], err, testPayload)
	}
	if err := json.Unmarshal(body["paymentRequirements"], &req); err != nil || !reflect.DeepEqual(req, testReq) {
		t.Errorf("paymentRequirements = %s (%v); want %+v", body["paymentRequirements"], err, testReq)
	}
	// The payload's scheme fields travel as JSON, not as an escaped string.
	var pp map[string]json.RawMessage
	json.Unmarshal(body["paymentPayload"], &pp)
	if !strings.HasPrefix(string(pp["payload"]), `{"signature"`) {
		t.Errorf("paymentPayload.payload = %s; want the raw object", pp["payload"])
	}
}

func TestFacilitatorVerify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   *VerifyResponse
	}{
		{"valid", 200, `{"isValid":true,"payer":"0x7099"}`, &VerifyResponse{IsValid: true, Payer: "0x7099"}},
		{"invalid with 200", 200, `{"isValid":false,"invalidReason":"invalid_exact_evm_signature"}`,
			&VerifyResponse{InvalidReason: "invalid_exact_evm_signature"}},
		{"invalid with 400", 400, `{"isValid":false,"invalidReason":"invalid_exact_evm_payload_authorization_value_mismatch","invalidMessage":"m","payer":"0x7099","extra":{}}`,
			&VerifyResponse{InvalidReason: "invalid_exact_evm_payload_authorization_value_mismatch", InvalidMessage: "m", Payer: "0x7099"}},
		{"null optional fields", 200, `{"isValid":false,"invalidReason":null}`, &VerifyResponse{}},
		{"valid with 500", 500, `{"isValid":true}`, nil},
		{"500 text", 500, `upstream exploded`, nil},
		{"502 JSON without isValid", 502, `{"error":"bad gateway"}`, nil},
		{"200 empty object", 200, `{}`, nil},
		{"200 not JSON", 200, `<html>`, nil},
		{"200 isValid not a bool", 200, `{"isValid":"true"}`, nil},
		{"200 field of a wrong type", 200, `{"isValid":true,"payer":5}`, nil},
		{"200 array", 200, `[{"isValid":true}]`, nil},
	} {
		srv := facilitatorServer(t, "/verify", tc.status, tc.body)
		f := &Facilitator{URL: srv.URL + "/", HTTP: srv.Client()} // a trailing slash is fine
		got, err := f.Verify(context.Background(), testPayload, testReq)
		if tc.want == nil {
			if err == nil {
				t.Errorf("Verify(%s) = %+v, nil; want an error", tc.name, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Verify(%s) = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestFacilitatorSettle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   *SettleResponse
	}{
		{"success", 200, `{"success":true,"transaction":"0xabc","network":"eip155:84532","payer":"0x7099","amount":"10000"}`,
			&SettleResponse{Success: true, Transaction: "0xabc", Network: "eip155:84532", Payer: "0x7099", Amount: "10000"}},
		{"failure with 402", 402, `{"success":false,"errorReason":"invalid_exact_evm_nonce_already_used","transaction":"","network":"eip155:84532"}`,
			&SettleResponse{ErrorReason: "invalid_exact_evm_nonce_already_used", Network: "eip155:84532"}},
		{"success with 500", 500, `{"success":true,"transaction":"0xabc","network":"eip155:84532"}`, nil},
		{"no success field", 200, `{"transaction":"0xabc"}`, nil},
		{"503 empty", 503, ``, nil},
	} {
		srv := facilitatorServer(t, "/settle", tc.status, tc.body)
		f := &Facilitator{URL: srv.URL} // nil HTTP: the default client
		got, err := f.Settle(context.Background(), testPayload, testReq)
		if tc.want == nil {
			if err == nil {
				t.Errorf("Settle(%s) = %+v, nil; want an error", tc.name, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Settle(%s) = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestFacilitatorSupported(t *testing.T) {
	srv := facilitatorServer(t, "/supported", 200,
		`{"kinds":[{"x402Version":2,"scheme":"exact","network":"eip155:84532"},{"x402Version":1,"scheme":"exact","network":"base-sepolia","extra":{"a":1}}],"extensions":[],"signers":{"eip155:*":["0xF00"]}}`)
	f := &Facilitator{URL: srv.URL, HTTP: srv.Client()}
	got, err := f.Supported(context.Background())
	want := &Supported{Kinds: []SupportedKind{{X402Version: 2, Scheme: "exact", Network: "eip155:84532"},
		{X402Version: 1, Scheme: "exact", Network: "base-sepolia", Extra: map[string]any{"a": 1.0}}},
		Extensions: []string{}, Signers: map[string][]string{"eip155:*": {"0xF00"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Supported() = %+v, %v; want %+v", got, err, want)
	}
	for _, tc := range []struct {
		status int
		body   string
	}{{429, `{"kinds":[]}`}, {200, `{}`}, {200, `{"kinds":{}}`}} {
		srv := facilitatorServer(t, "/supported", tc.status, tc.body)
		f := &Facilitator{URL: srv.URL, HTTP: srv.Client()}
		if got, err := f.Supported(context.Background()); err == nil {
			t.Errorf("Supported(HTTP %d %s) = %+v, nil; want an error", tc.status, tc.body, got)
		}
	}
}

func TestFacilitatorBoundedAnswer(t *testing.T) {
	huge := `{"isValid":true,"payer":"` + strings.Repeat("a", maxResponse) + `"}`
	srv := facilitatorServer(t, "/verify", 200, huge)
	f := &Facilitator{URL: srv.URL, HTTP: srv.Client()}
	if got, err := f.Verify(context.Background(), testPayload, testReq); err == nil {
		t.Errorf("Verify(%d-byte answer) = %+v, nil; want an error", len(huge), got)
	}
}

func TestFacilitatorContextDeadline(t *testing.T) {
	// Handlers read the body (so that the server notices the client leaving)
	// and then stall until the client goes or the test ends.
	done := make(chan struct{})
	stall := func(r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stall(r) }))
	defer srv.Close()
	f := &Facilitator{URL: srv.URL, HTTP: srv.Client()}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.Settle(ctx, testPayload, testReq)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Settle(past deadline) = %v; want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Settle returned after %v; want about 50ms", d)
	}

	// A deadline that expires while the answer is being read is honoured too.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		io.WriteString(w, `{"isValid":`)
		w.(http.Flusher).Flush()
		stall(r)
	}))
	defer slow.Close()
	defer close(done) // first, so that stalled handlers return before Close waits for them
	f = &Facilitator{URL: slow.URL, HTTP: slow.Client()}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if got, err := f.Verify(ctx, testPayload, testReq); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("Verify(body stalls past deadline) = %+v, %v after %v; want a prompt error", got, err, time.Since(start))
	}
}

// Errors name neither the URL (which may hold a token) nor the answer.
func TestFacilitatorErrorsHoldNoSecrets(t *testing.T) {
	const secret = "s3cr3t"
	srv := facilitatorServer(t, "/"+secret+"/verify", 500, `{"error":"`+secret+`"}`)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	for name, f := range map[string]*Facilitator{
		"HTTP 500":     {URL: strings.Replace(srv.URL, "http://", "http://user:"+secret+"@", 1) + "/" + secret, HTTP: srv.Client()},
		"refused":      {URL: closedURL + "/" + secret + "?key=" + secret},
		"invalid URL":  {URL: "http://h/%zz" + secret},
		"bad scheme":   {URL: "ftp://" + secret + ".example/"},
		"empty URL":    {URL: ""},
		"control char": {URL: "http://h/\x7f" + secret},
	} {
		_, err := f.Verify(context.Background(), testPayload, testReq)
		if err == nil {
			t.Errorf("Verify(%s) = nil error; want one", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Verify(%s) error %q contains the secret", name, err)
		}
	}
}
