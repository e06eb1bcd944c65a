package x402

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Facilitator is a client of an x402 facilitator's HTTP API (e.g.
// https://x402.org/facilitator). Credentials a facilitator needs (an API key
// header) belong in HTTP's Transport; they never appear in errors, and
// neither do the URL or the facilitator's answer.
type Facilitator struct {
	URL  string       // base URL; /verify, /settle and /supported are appended
	HTTP *http.Client // nil: a client with a 90 s timeout, as @x402/core's
}

// maxResponse bounds a facilitator answer that is read.
const maxResponse = 1 << 20

// request is the body of /verify and /settle.
type request struct {
	X402Version         int            `json:"x402Version"`
	PaymentPayload      PaymentPayload `json:"paymentPayload"`
	PaymentRequirements Requirements   `json:"paymentRequirements"`
}

// Verify asks the facilitator whether p is a valid payment for r, without
// settling it. A rejection is a *VerifyResponse with IsValid false, whatever
// the HTTP status; an error means the facilitator gave no usable answer.
func (f *Facilitator) Verify(ctx context.Context, p PaymentPayload, r Requirements) (*VerifyResponse, error) {
	var out VerifyResponse
	ok, err := f.call(ctx, "verify", request{Version, p, r}, "isValid", &out)
	if err != nil {
		return nil, err
	}
	if !ok && out.IsValid {
		return nil, errors.New("x402: facilitator verify: isValid true with an error status")
	}
	return &out, nil
}

// Settle asks the facilitator to execute p for r (broadcast the transfer). A
// failure it reports is a *SettleResponse with Success false, whatever the
// HTTP status; an error means no usable answer, and the payment's fate is
// then unknown.
func (f *Facilitator) Settle(ctx context.Context, p PaymentPayload, r Requirements) (*SettleResponse, error) {
	var out SettleResponse
	ok, err := f.call(ctx, "settle", request{Version, p, r}, "success", &out)
	if err != nil {
		return nil, err
	}
	if !ok && out.Success {
		return nil, errors.New("x402: facilitator settle: success true with an error status")
	}
	return &out, nil
}

// Supported fetches the kinds of payment the facilitator handles.
func (f *Facilitator) Supported(ctx context.Context) (*Supported, error) {
	var out Supported
	ok, err := f.call(ctx, "supported", nil, "kinds", &out)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("x402: facilitator supported: error status")
	}
	return &out, nil
}

// call sends body (GET when nil) to path and decodes the answer into out when
// it is a JSON object with the boolean or array key. It reports whether the
// status was 2xx; a non-2xx answer without key is an error.
func (f *Facilitator) call(ctx context.Context, path string, body any, key string, out any) (ok bool, err error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("x402: facilitator "+path+": "+format, args...)
	}
	base := strings.TrimRight(f.URL, "/")
	if base == "" {
		return false, fail("no URL configured")
	}
	method, rd := http.MethodGet, io.Reader(nil)
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return false, fail("encode request: %w", err)
		}
		method, rd = http.MethodPost, bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+"/"+path, rd)
	if err != nil {
		return false, fail("invalid URL") // the parse error would quote the URL
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")

	client := f.HTTP
	if client == nil {
		client = &http.Client{Timeout: 90 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry a token
		}
		return false, fail("%w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return false, fail("read answer: %w", err)
	}
	if len(raw) > maxResponse {
		return false, fail("answer larger than %d bytes", maxResponse)
	}
	ok = resp.StatusCode >= 200 && resp.StatusCode < 300

	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || !hasKey(fields, key) {
		if !ok {
			return false, fail("HTTP %d", resp.StatusCode)
		}
		return false, fail("answer (HTTP %d) is not a JSON object with %q", resp.StatusCode, key)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return false, fail("answer (HTTP %d) has a malformed field: %w", resp.StatusCode, err)
	}
	return ok, nil
}

// hasKey reports whether fields[key] is a boolean (isValid, success) or an
// array (kinds).
func hasKey(fields map[string]json.RawMessage, key string) bool {
	v := bytes.TrimSpace(fields[key])
	return string(v) == "true" || string(v) == "false" || len(v) > 0 && v[0] == '['
}
