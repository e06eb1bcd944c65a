// Package mpp implements the server side of the Machine Payments Protocol's
// "Payment" HTTP authentication scheme (draft-httpauth-payment, as the npm
// mppx 0.11.0 reference implements it): challenges whose id is an HMAC over
// their terms, so that issuing one needs no storage and verifying one proves
// this server issued it with exactly these terms.
package mpp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"
)

// Challenge is one offer in a WWW-Authenticate: Payment header.
type Challenge struct {
	ID     string
	Realm  string
	Method string // e.g. "evm"
	Intent string // e.g. "charge"
	// Request is base64url (no padding) of the RFC 8785 JSON of the terms.
	Request     string
	Expires     string // RFC 3339; "" when absent
	Digest      string
	Opaque      string // base64url of a JCS string map; "" when absent
	Description string // display only: not bound by the id
	// CredentialHeader names the request header the client must send its credential in
	// (mppx's extension: "Payment-Authorization" lets Authorization keep an
	// API key); "" or "Authorization" is the default. Bound by the id.
	CredentialHeader string
}

// PaymentAuthorization is the credential header for callers whose
// Authorization header is taken by their own credentials.
const PaymentAuthorization = "Payment-Authorization"

// customHeader reports whether c names a credential header other than the default.
func (c *Challenge) customHeader() bool {
	return c.CredentialHeader != "" && !strings.EqualFold(c.CredentialHeader, "Authorization")
}

var b64 = base64.RawURLEncoding

// EncodeRequest returns the challenge's request parameter for terms (any JSON
// value): base64url of its canonical form.
func EncodeRequest(terms any) (string, error) {
	c, err := CanonicalValue(terms)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(c), nil
}

// ComputeID is base64url(HMAC-SHA256(secret, realm|method|intent|request|expires|digest|opaque)),
// with the credential header's name in a slot before opaque when it is not
// the default (as mppx binds it).
func ComputeID(secret []byte, c *Challenge) string {
	slots := []string{c.Realm, c.Method, c.Intent, c.Request, c.Expires, c.Digest}
	if c.customHeader() {
		slots = append(slots, c.CredentialHeader)
	}
	slots = append(slots, c.Opaque)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strings.Join(slots, "|")))
	return b64.EncodeToString(m.Sum(nil))
}

// Issuer makes and checks challenges with one secret.
type Issuer struct {
	Secret []byte
	Realm  string
	TTL    time.Duration // 5 minutes when zero
	Now    func() time.Time
}

// ErrSecret: the secret is shorter than 32 bytes.
var ErrSecret = errors.New("mpp: the secret must be at least 32 bytes")

// Issue makes a challenge for method/intent with the given terms.
func (is Issuer) Issue(method, intent string, terms any, description string) (*Challenge, error) {
	return is.IssueFor("", method, intent, terms, description)
}

// IssueFor is Issue with the credential header the client must use ("" for
// Authorization).
func (is Issuer) IssueFor(header, method, intent string, terms any, description string) (*Challenge, error) {
	if len(is.Secret) < 32 {
		return nil, ErrSecret
	}
	req, err := EncodeRequest(terms)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if is.Now != nil {
		now = is.Now
	}
	ttl := is.TTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	c := &Challenge{Realm: is.Realm, Method: method, Intent: intent, Request: req,
		Expires: now().UTC().Add(ttl).Format("2006-01-02T15:04:05.000Z07:00"), Description: description, CredentialHeader: header}
	c.ID = ComputeID(is.Secret, c)
	return c, nil
}

// Verify reports whether an echoed challenge was issued by this secret with
// exactly these terms. The echoed request is re-canonicalised first, as mppx
// does, so that a client re-encoding it cannot break the check.
func (is Issuer) Verify(c *Challenge) bool {
	if len(is.Secret) < 32 || c.ID == "" {
		return false
	}
	echo := *c
	if raw, err := b64.DecodeString(c.Request); err == nil {
		if canon, err := Canonical(raw); err == nil {
			echo.Request = b64.EncodeToString(canon)
		}
	}
	want := ComputeID(is.Secret, &echo)
	return hmac.Equal([]byte(want), []byte(c.ID))
}

// Header renders the challenge as a WWW-Authenticate value, every parameter
// quoted, in mppx's order.
func (c *Challenge) Header() string {
	var b strings.Builder
	b.WriteString("Payment ")
	param := func(k, v string, first bool) {
		if !first {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v))
		b.WriteString(`"`)
	}
	param("id", c.ID, true)
	param("realm", c.Realm, false)
	param("method", c.Method, false)
	param("intent", c.Intent, false)
	param("request", c.Request, false)
	if c.Description != "" {
		param("description", c.Description, false)
	}
	if c.Digest != "" {
		param("digest", c.Digest, false)
	}
	if c.Expires != "" {
		param("expires", c.Expires, false)
	}
	if c.customHeader() {
		param("header", c.CredentialHeader, false)
	}
	if c.Opaque != "" {
		param("opaque", c.Opaque, false)
	}
	return b.String()
}
