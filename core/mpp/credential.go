package mpp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// MaxCredential bounds a credential header: the spec asks servers to accept
// at least 4 KB; anything past 16 KiB is refused unread.
const MaxCredential = 16 << 10

// Credential is what a client sends back: the challenge it answers, echoed,
// and the method's proof of payment.
type Credential struct {
	Challenge Challenge
	Payload   json.RawMessage
	// Source is the payer's DID (did:pkh:eip155:<chain>:<address>), if given.
	Source string
}

// ErrMalformed: the credential is not base64url JSON of the expected shape.
var ErrMalformed = errors.New("mpp: malformed credential")

// FromHeader returns the Payment credential in h: Payment-Authorization wins,
// so that Authorization may carry an API key beside it; in Authorization the
// first comma-separated "Payment" item is taken. ok is false when there is none.
func FromHeader(h http.Header) (token string, ok bool) {
	for _, name := range []string{"Payment-Authorization", "Authorization"} {
		for _, v := range h.Values(name) {
			for _, item := range strings.Split(v, ",") {
				item = strings.TrimSpace(item)
				scheme, rest, _ := strings.Cut(item, " ")
				if strings.EqualFold(scheme, "Payment") {
					return strings.TrimSpace(rest), true
				}
			}
		}
	}
	return "", false
}

// ParseCredential decodes the token of an "Authorization: Payment <token>" header.
func ParseCredential(token string) (*Credential, error) {
	if token == "" || len(token) > MaxCredential {
		return nil, fmt.Errorf("%w: empty or larger than %d bytes", ErrMalformed, MaxCredential)
	}
	raw, err := b64.DecodeString(strings.TrimRight(token, "="))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	var w struct {
		Challenge *struct {
			ID          string          `json:"id"`
			Realm       string          `json:"realm"`
			Method      string          `json:"method"`
			Intent      string          `json:"intent"`
			Request     json.RawMessage `json:"request"`
			Description string          `json:"description"`
			Digest      string          `json:"digest"`
			Expires     string          `json:"expires"`
			Opaque      json.RawMessage `json:"opaque"`
			Header      string          `json:"header"`
		} `json:"challenge"`
		Payload json.RawMessage `json:"payload"`
		Source  string          `json:"source"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("%w: not JSON of the credential's shape", ErrMalformed)
	}
	ch := w.Challenge
	if ch == nil || ch.ID == "" || ch.Realm == "" || ch.Method == "" || ch.Intent == "" || len(ch.Request) == 0 {
		return nil, fmt.Errorf("%w: the challenge needs id, realm, method, intent and request", ErrMalformed)
	}
	if len(w.Payload) == 0 || w.Payload[0] != '{' {
		return nil, fmt.Errorf("%w: payload must be an object", ErrMalformed)
	}
	c := &Credential{Payload: w.Payload, Source: w.Source, Challenge: Challenge{ID: ch.ID, Realm: ch.Realm,
		Method: ch.Method, Intent: ch.Intent, Description: ch.Description, Digest: ch.Digest, Expires: ch.Expires,
		CredentialHeader: ch.Header}}
	if c.Challenge.Request, err = b64Param(ch.Request); err != nil {
		return nil, fmt.Errorf("%w: request: %v", ErrMalformed, err)
	}
	if len(ch.Opaque) > 0 && string(ch.Opaque) != "null" {
		if c.Challenge.Opaque, err = b64Param(ch.Opaque); err != nil {
			return nil, fmt.Errorf("%w: opaque: %v", ErrMalformed, err)
		}
	}
	return c, nil
}

// b64Param reads a request/opaque member: a base64url string, or (from
// legacy clients) the object itself, encoded here.
func b64Param(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil || s == "" {
			return "", errors.New("must be a non-empty string")
		}
		return s, nil
	}
	if len(v) > 0 && v[0] == '{' {
		canon, err := Canonical(v)
		if err != nil {
			return "", err
		}
		return b64.EncodeToString(canon), nil
	}
	return "", errors.New("must be a base64url string")
}

// DecodeRequest decodes a challenge's request parameter into v.
func (c *Challenge) DecodeRequest(v any) error {
	raw, err := b64.DecodeString(strings.TrimRight(c.Request, "="))
	if err != nil {
		return errors.New("request is not base64url")
	}
	return json.Unmarshal(raw, v)
}

// ExpiresAt parses the challenge's expiry; ok is false when it is absent or
// not RFC 3339.
func (c *Challenge) ExpiresAt() (t time.Time, ok bool) {
	t, err := time.Parse(time.RFC3339Nano, c.Expires)
	return t, err == nil
}

// Receipt is the Payment-Receipt a successful paid response carries.
type Receipt struct {
	Method    string `json:"method"`
	Reference string `json:"reference"`
	Status    string `json:"status"`
	Timestamp string `json:"timestamp"`
}

// Encode renders the receipt as its header value (base64url JSON).
func (r Receipt) Encode() string {
	b, _ := json.Marshal(r)
	return b64.EncodeToString(b)
}

// DecodeReceipt reads a Payment-Receipt header value.
func DecodeReceipt(v string) (*Receipt, error) {
	raw, err := b64.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		return nil, errors.New("mpp: receipt is not base64url")
	}
	var r Receipt
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, errors.New("mpp: receipt is not JSON")
	}
	return &r, nil
}

// ParseChallenges reads the Payment challenges of WWW-Authenticate values
// (one per value, or several joined by commas, as fetch joins repeated
// headers). Other schemes are skipped.
func ParseChallenges(values []string) ([]Challenge, error) {
	var out []Challenge
	for _, v := range values {
		p := &authParser{s: v}
		for {
			scheme, params, ok, err := p.next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if !strings.EqualFold(scheme, "Payment") {
				continue
			}
			out = append(out, Challenge{ID: params["id"], Realm: params["realm"], Method: params["method"],
				Intent: params["intent"], Request: params["request"], Expires: params["expires"],
				Digest: params["digest"], Opaque: params["opaque"], Description: params["description"],
				CredentialHeader: params["header"]})
		}
	}
	return out, nil
}

// authParser reads `scheme k=v, k="v", scheme2 k=v` (RFC 9110 §11.6.1).
type authParser struct {
	s string
	i int
}

func (p *authParser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

func (p *authParser) token() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" \t,=\"", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

// next reads one challenge: its scheme and parameters.
func (p *authParser) next() (string, map[string]string, bool, error) {
	p.skip()
	if p.i >= len(p.s) {
		return "", nil, false, nil
	}
	scheme := p.token()
	if scheme == "" {
		return "", nil, false, fmt.Errorf("mpp: bad WWW-Authenticate at %d", p.i)
	}
	params := map[string]string{}
	for {
		save := p.i
		p.skip()
		k := p.token()
		j := p.i
		for j < len(p.s) && p.s[j] == ' ' {
			j++
		}
		if k == "" || j >= len(p.s) || p.s[j] != '=' {
			p.i = save // the next scheme, or the end
			return scheme, params, true, nil
		}
		p.i = j + 1
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
		var v string
		if p.i < len(p.s) && p.s[p.i] == '"' {
			p.i++
			var b strings.Builder
			for ; p.i < len(p.s) && p.s[p.i] != '"'; p.i++ {
				if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
					p.i++
				}
				b.WriteByte(p.s[p.i])
			}
			if p.i >= len(p.s) {
				return "", nil, false, errors.New("mpp: unterminated quoted string in WWW-Authenticate")
			}
			p.i++
			v = b.String()
		} else {
			v = p.token()
		}
		params[strings.ToLower(k)] = v
	}
}

// Problem is an RFC 9457 problem for a payment failure.
type Problem struct {
	Code   string // e.g. "invalid-challenge"
	Status int
	Detail string
}

// ProblemTitles are the titles of the problem types this package answers with.
var ProblemTitles = map[string]string{
	"payment-required":     "Payment Required",
	"malformed-credential": "Malformed Credential",
	"invalid-challenge":    "Invalid Challenge",
	"payment-expired":      "Payment Expired",
	"invalid-payload":      "Invalid Payload",
	"verification-failed":  "Verification Failed",
	"payment-insufficient": "Payment Insufficient",
	"method-unsupported":   "Method Unsupported",
	"bad-request":          "Bad Request",
}

// ProblemType is the problem's type URI.
func ProblemType(code string) string { return "https://paymentauth.org/problems/" + code }

func (p *Problem) Error() string { return "mpp: " + p.Code + ": " + p.Detail }
