package x402

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets for the headers clients send (PAYMENT-SIGNATURE, X-PAYMENT)
// and the matching of the requirement they echo. `make fuzz` runs each for
// longer; plain `go test` replays the seeds and testdata/fuzz.

// officialSeeds are the headers @x402/core made (testdata/headers.json).
func officialSeeds(f *testing.F) official {
	raw, err := os.ReadFile("testdata/headers.json")
	if err != nil {
		f.Fatal(err)
	}
	var o official
	if err := json.Unmarshal(raw, &o); err != nil {
		f.Fatal(err)
	}
	return o
}

// FuzzDecodeHeader: a header is refused with ErrHeader unless it is strict
// standard base64 of JSON; what is accepted re-encodes to a header that
// decodes to the same payload, and encoding is stable from then on.
func FuzzDecodeHeader(f *testing.F) {
	o := officialSeeds(f)
	for _, s := range []string{o.PaymentSignature, o.PaymentRequired, o.PaymentResponse, "e30=", "e30", "", "!!!",
		"eyJ4NDAyVmVyc2lvbiI6Mn0=", "eyJ4NDAyVmVyc2lvbiI6Mn0", "eyJ4NDAyVmVyc2lvbiI6Mn0==", "e30=\n", "e3-_",
		base64.StdEncoding.EncodeToString([]byte(`{"x402Version":2,"payload":null,"accepted":{"extra":{"a":[1,{"b":null}]}},"extensions":{"x":1e300}}`))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p PaymentPayload
		err := DecodeHeader(s, &p)
		if err != nil {
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("DecodeHeader(%q) = %v; want nil or ErrHeader", s, err)
			}
			return
		}
		if len(s) > MaxHeaderSize {
			t.Fatalf("DecodeHeader accepted %d bytes; the limit is %d", len(s), MaxHeaderSize)
		}
		raw, err := base64.RawStdEncoding.Strict().DecodeString(trimPad(s))
		if err != nil || !json.Valid(raw) {
			t.Fatalf("DecodeHeader(%q) accepted something that is not strict base64 of JSON (%v)", s, err)
		}
		h1, err := EncodeHeader(p)
		if err != nil {
			t.Fatalf("EncodeHeader(%+v) = %v", p, err)
		}
		var p2 PaymentPayload
		if err := DecodeHeader(h1, &p2); err != nil {
			t.Fatalf("DecodeHeader(EncodeHeader(%+v)) = %v", p, err)
		}
		h2, err := EncodeHeader(p2)
		if err != nil || h2 != h1 {
			t.Fatalf("EncodeHeader is not stable: %q then %q (%v)", h1, h2, err)
		}
		if !p.Accepted.Matches(p2.Accepted) || !p2.Accepted.Matches(p.Accepted) {
			t.Fatalf("the echoed requirement %+v no longer matches itself after a round trip (%+v)", p.Accepted, p2.Accepted)
		}
	})
}

func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// FuzzMatches: the requirement a client echoes (any JSON) matches the one
// advertised only if every core field is equal and every advertised extra is
// present with an equal value; every requirement read from JSON matches itself.
func FuzzMatches(f *testing.F) {
	advertised := Requirements{Scheme: "exact", Network: "eip155:84532", Amount: "10000",
		Asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", PayTo: "0x742d35Cc6634C0532925a3b844Bc454e4438f44e",
		MaxTimeoutSeconds: 300, Extra: map[string]any{"name": "USDC", "version": "2"}}
	good, _ := json.Marshal(advertised)
	f.Add(good)
	f.Add([]byte(`{"scheme":"exact","network":"eip155:84532","amount":"10000","asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e",` +
		`"payTo":"0x742d35Cc6634C0532925a3b844Bc454e4438f44e","maxTimeoutSeconds":300,"extra":{"name":"USDC","version":"2","x":[1.5]}}`))
	f.Add([]byte(`{"scheme":"exact","amount":"010000","maxTimeoutSeconds":3e2,"extra":{"version":2}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var echoed Requirements
		if json.Unmarshal(doc, &echoed) != nil {
			return
		}
		if !echoed.Matches(echoed) {
			t.Fatalf("%s does not match itself", doc)
		}
		if !advertised.Matches(echoed) {
			return
		}
		core := echoed
		core.Extra = advertised.Extra
		if !reflect.DeepEqual(core, advertised) {
			t.Fatalf("Matches accepted %+v for %+v", echoed, advertised)
		}
		for k, v := range advertised.Extra {
			if got, ok := echoed.Extra[k].(string); !ok || got != v {
				t.Fatalf("Matches accepted extra %q = %#v; advertised %#v", k, echoed.Extra[k], v)
			}
		}
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzFacilitatorSettle answers /settle with any status and body: the client
// returns a SettleResponse only for a JSON object with a boolean "success"
// (and never a success with an error status), and its errors quote neither
// the facilitator's URL (which may carry a token) nor its answer.
func FuzzFacilitatorSettle(f *testing.F) {
	f.Add(200, []byte(`{"success":true,"transaction":"0xabc","network":"eip155:84532","payer":"0x1"}`))
	f.Add(402, []byte(`{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"}`))
	f.Add(500, []byte(`{"success":true}`))
	f.Add(200, []byte(`{"success":"yes","transaction":"secret-answer"}`))
	f.Add(502, []byte(`<html>secret-answer</html>`))
	f.Add(200, []byte(`{"success":false,"transaction":7}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		fac := &Facilitator{URL: "https://facilitator.test/tok_secret/", HTTP: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Body: io.NopCloser(bytes.NewReader(body)), Header: http.Header{}, Request: r}, nil
		})}}
		resp, err := fac.Settle(context.Background(), PaymentPayload{X402Version: 2}, Requirements{Scheme: "exact"})
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "tok_secret") || (len(body) > 8 && strings.Contains(msg, string(body))) {
				t.Fatalf("Settle error %q quotes the URL or the answer %q", msg, body)
			}
			return
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) != nil {
			t.Fatalf("Settle accepted %q, not a JSON object", body)
		}
		if v := string(bytes.TrimSpace(fields["success"])); v != "true" && v != "false" {
			t.Fatalf("Settle accepted %q without a boolean success", body)
		}
		if resp.Success && (status < 200 || status > 299) {
			t.Fatalf("Settle(HTTP %d %q) = success", status, body)
		}
	})
}
