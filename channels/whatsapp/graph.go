package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentbot/gateway/channels"
)

// maxReply bounds how much of a Graph API answer is read.
const maxReply = 64 << 10

// Graph API error codes the driver tells apart. The Cloud API answers
// errors as {"error": {"message", "type", "code", "error_subcode",
// "error_data": {"details"}, "fbtrace_id"}}.
const (
	codeUnknown         = 1      // "an unknown error occurred": temporary
	codeService         = 2      // the service is temporarily unavailable
	codeAppRateLimit    = 4      // the app made too many calls
	codePermission      = 10     // the token lacks a permission
	codeInvalidParam    = 100    // invalid parameter; subcode 33: no such object
	codeOAuth           = 190    // the access token is invalid or expired
	codePermissionAlt   = 200    // a permission error of another family
	codeWABARateLimit   = 80007  // the business account's rate limit
	codeThroughput      = 130429 // the number's messages-per-second throughput
	codeGeneric         = 131000 // "something went wrong": temporary
	codeUnavailable     = 131016 // the service is overloaded
	codeServerDown      = 133004 // the server is temporarily unavailable
	codeRecipientSender = 131021 // the recipient is the sender
	codeUndeliverable   = 131026 // the recipient cannot receive the message
	codeNotAllowed      = 131030 // the recipient is not in a test number's allowed list
	codeReEngagement    = 131047 // more than 24 hours since the user's last message
	codeSpamRateLimit   = 131048 // the number is throttled for spam
	codePairRateLimit   = 131056 // too many messages to one user

	subcodeNoObject = 33 // with codeInvalidParam: the id names nothing the token sees
)

// Default waits when a rate limit comes without a Retry-After header.
const (
	defaultRetry = 2 * time.Second
	// pairRetry: Meta lets a number send about one message every six
	// seconds to the same user once it has hit the pair limit.
	pairRetry = 6 * time.Second
	maxRetry  = time.Hour
)

// graphError is the Graph API's error object.
type graphError struct {
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode"`
	FBTraceID string `json:"fbtrace_id"`
	Data      struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

// reply is one Graph API answer.
type reply struct {
	status int
	header http.Header
	body   []byte
	// err is the answer's error object; its Code is 0 when the body had none.
	err graphError
}

// call makes one Graph API request as token. A transport failure is the
// context's error (wrapped) when ctx ended, else a *channels.Error with
// channels.CodeUnavailable; any HTTP answer is a reply for the caller to
// judge.
func (d *Driver) call(ctx context.Context, method, path, token string, body any) (reply, error) {
	op := method + " " + strings.SplitN(path, "?", 2)[0]
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return reply{}, fmt.Errorf("whatsapp: %s: encode: %w", op, err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return reply{}, errorf(channels.CodeUnavailable, false, "whatsapp: %s: %v", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return reply{}, fmt.Errorf("whatsapp: %s: %w", op, ctx.Err())
		}
		return reply{}, errorf(channels.CodeUnavailable, false, "whatsapp: %s: %v", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		if ctx.Err() != nil {
			return reply{}, fmt.Errorf("whatsapp: %s: read answer: %w", op, ctx.Err())
		}
		return reply{}, errorf(channels.CodeUnavailable, false, "whatsapp: %s: read answer: %v", op, err)
	}
	rep := reply{status: resp.StatusCode, header: resp.Header, body: raw}
	if rep.status >= 300 {
		var env struct {
			Error *graphError `json:"error"`
		}
		if json.Unmarshal(raw, &env) == nil && env.Error != nil {
			rep.err = *env.Error
		}
	}
	return rep, nil
}

// describe renders a failed answer for people and logs: Graph's code,
// message and details, and the trace id Meta's support asks for.
func (r reply) describe(op string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "whatsapp: %s: HTTP %d", op, r.status)
	if e := r.err; e.Code != 0 {
		fmt.Fprintf(&b, ", Graph error %d", e.Code)
		if e.Subcode != 0 {
			fmt.Fprintf(&b, "/%d", e.Subcode)
		}
		if e.Message != "" {
			b.WriteString(": " + clean(e.Message))
		}
		if e.Data.Details != "" {
			b.WriteString(" (" + clean(e.Data.Details) + ")")
		}
		if e.FBTraceID != "" {
			b.WriteString(" [fbtrace_id " + clean(e.FBTraceID) + "]")
		}
	}
	return b.String()
}

// clean keeps at most 300 bytes of s and drops control characters: Graph's
// text ends up in logs and in answers to people.
func clean(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0xfffd {
			return -1
		}
		return r
	}, s)
}

// retryAfter is how long the answer asks to wait: its Retry-After header
// (seconds or an HTTP date) when present, else def; at least a second and
// at most an hour.
func (r reply) retryAfter(def time.Duration) time.Duration {
	d := def
	if v := strings.TrimSpace(r.header.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			d = time.Duration(min(max(s, 0), int64(maxRetry/time.Second))) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = time.Until(t)
		}
	}
	return min(max(d, time.Second), maxRetry)
}

// transient reports whether a Graph error code says the failure is Meta's
// and passing.
func transient(code int) bool {
	switch code {
	case codeUnknown, codeService, codeGeneric, codeUnavailable, codeServerDown:
		return true
	}
	return false
}

// rateLimited reports whether a Graph error code is a rate limit.
func rateLimited(code int) bool {
	switch code {
	case codeAppRateLimit, codeWABARateLimit, codeThroughput, codeSpamRateLimit, codePairRateLimit:
		return true
	}
	return false
}
