// Package whatsapptest fakes the WhatsApp Cloud API for tests: a Graph API
// server on loopback that knows phone numbers, records the messages sent
// through it and fails on request, and a Sender that delivers signed
// webhook payloads the way Meta does.
package whatsapptest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// Version is the Graph API version path the fake serves under URL().
const Version = "v21.0"

// SentMessage is one text message the fake took.
type SentMessage struct {
	// ID is the wamid the fake answered with.
	ID string
	// To is the request's recipient, Body its text, ReplyTo the quoted
	// message id (context.message_id; empty when none).
	To, Body, ReplyTo string
	// PreviewURL is text.preview_url as sent.
	PreviewURL bool
}

// Failure is an error the fake answers with instead of serving.
type Failure struct {
	// Times is how many requests fail (at least one).
	Times int
	// Status is the HTTP status (e.g. 400, 429, 500); 0 means 400.
	Status int
	// Code and Subcode are the Graph error's code and error_subcode
	// (0: none); e.g. 131047, 130429, 190.
	Code, Subcode int
	// RetryAfter, when not empty, is sent as the Retry-After header.
	RetryAfter string
}

// Server is a fake Graph API for the Cloud API's phone numbers. It is safe
// for concurrent use and closes with the test.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	numbers  map[string]*number // by phone number id
	requests int
	nextID   int
	changed  chan struct{} // closed and replaced whenever a message is sent
}

type number struct {
	token, display, verified string
	sent                     []SentMessage
	failures                 []Failure
}

// New starts a fake on 127.0.0.1, closed when tb ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{numbers: make(map[string]*number), changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the Graph API base URL including the version path, e.g.
// http://127.0.0.1:41234/v21.0: what the driver's Options.BaseURL takes.
func (s *Server) URL() string { return s.srv.URL + "/" + Version }

// Client is an HTTP client for the fake.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddNumber registers a phone number the access token token may use, with
// its display number (e.g. "+1 555-0100"). Adding an id again replaces its
// token and display number and keeps what it sent.
func (s *Server) AddNumber(token, phoneNumberID, display string) {
	s.AddVerifiedNumber(token, phoneNumberID, display, "")
}

// AddVerifiedNumber is AddNumber with a verified business name.
func (s *Server) AddVerifiedNumber(token, phoneNumberID, display, verifiedName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.numbers[phoneNumberID]
	if n == nil {
		n = &number{}
		s.numbers[phoneNumberID] = n
	}
	n.token, n.display, n.verified = token, display, verifiedName
}

// Sent returns a copy of the messages sent from phoneNumberID, oldest first.
func (s *Server) Sent(phoneNumberID string) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.numbers[phoneNumberID]; n != nil {
		return append([]SentMessage(nil), n.sent...)
	}
	return nil
}

// WaitSent waits until phoneNumberID has sent at least n messages and
// returns them all (as Sent), or returns ctx's error.
func (s *Server) WaitSent(ctx context.Context, phoneNumberID string, n int) ([]SentMessage, error) {
	for {
		s.mu.Lock()
		var sent []SentMessage
		if num := s.numbers[phoneNumberID]; num != nil {
			sent = num.sent
		}
		changed := s.changed
		if len(sent) >= n {
			sent = append([]SentMessage(nil), sent...)
			s.mu.Unlock()
			return sent, nil
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("whatsapptest: waiting for %d messages from %s, %d sent: %w",
				n, phoneNumberID, len(sent), ctx.Err())
		}
	}
}

// FailNext makes the next n authenticated requests for phoneNumberID (a
// send or a metadata read) fail with httpStatus and Graph error graphCode.
func (s *Server) FailNext(phoneNumberID string, n, httpStatus, graphCode int) {
	s.Fail(phoneNumberID, Failure{Times: n, Status: httpStatus, Code: graphCode})
}

// Fail queues f for phoneNumberID's next authenticated requests, after the
// failures already queued. The number must have been added.
func (s *Server) Fail(phoneNumberID string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.numbers[phoneNumberID]
	if n == nil {
		panic("whatsapptest: Fail for a phone number that was not added: " + phoneNumberID)
	}
	f.Times = max(f.Times, 1)
	if f.Status == 0 {
		f.Status = http.StatusBadRequest
	}
	n.failures = append(n.failures, f)
}

// Requests is how many requests the fake has received, any path.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

var (
	versionPath = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/([0-9]+)(/messages)?$`)
	bearer      = regexp.MustCompile(`^Bearer (\S+)$`)
)

// serve routes GET /vN.M/{id} and POST /vN.M/{id}/messages.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()

	m := versionPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		graphError(w, http.StatusBadRequest, 100, 0, "", "Unknown path components: "+r.URL.Path)
		return
	}
	id, messages := m[1], m[2] != ""
	if messages && r.Method != http.MethodPost || !messages && r.Method != http.MethodGet {
		graphError(w, http.StatusBadRequest, 100, 0, "", "Unsupported "+strings.ToLower(r.Method)+" request")
		return
	}

	// Decide under the lock; answer outside it.
	var (
		tokenKnown, ours  bool
		fail              *Failure
		display, verified string
	)
	a := bearer.FindStringSubmatch(r.Header.Get("Authorization"))
	s.mu.Lock()
	n := s.numbers[id]
	if a != nil {
		for _, num := range s.numbers {
			tokenKnown = tokenKnown || num.token == a[1]
		}
		ours = n != nil && n.token == a[1]
	}
	if ours {
		display, verified = n.display, n.verified
		if len(n.failures) > 0 {
			f := n.failures[0]
			fail = &f
			if n.failures[0].Times--; n.failures[0].Times == 0 {
				n.failures = n.failures[1:]
			}
		}
	}
	s.mu.Unlock()

	switch {
	case !tokenKnown:
		graphError(w, http.StatusUnauthorized, 190, 0, "", "Invalid OAuth access token - Cannot parse access token")
	case !ours:
		// Meta's answer when a valid token may not use the id.
		graphError(w, http.StatusBadRequest, 100, 33, "", fmt.Sprintf(
			"Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation",
			strings.ToLower(r.Method), id))
	case fail != nil:
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		details := ""
		if fail.Code == 131047 {
			details = "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
		}
		graphError(w, fail.Status, fail.Code, fail.Subcode, details, messageFor(fail.Code))
	case messages:
		s.send(w, r, id)
	default:
		writeJSON(w, http.StatusOK, map[string]string{"id": id, "display_phone_number": display, "verified_name": verified})
	}
}

// send takes one text message.
func (s *Server) send(w http.ResponseWriter, r *http.Request, id string) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		graphError(w, http.StatusBadRequest, 100, 0, "", "Content-Type must be application/json")
		return
	}
	var req struct {
		MessagingProduct string `json:"messaging_product"`
		RecipientType    string `json:"recipient_type"`
		To               string `json:"to"`
		Type             string `json:"type"`
		Text             *struct {
			Body       string `json:"body"`
			PreviewURL bool   `json:"preview_url"`
		} `json:"text"`
		Context *struct {
			MessageID string `json:"message_id"`
		} `json:"context"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "", "Invalid parameter: malformed JSON")
		return
	}
	var problem string
	switch {
	case req.MessagingProduct != "whatsapp":
		problem = "messaging_product must be whatsapp"
	case req.RecipientType != "" && req.RecipientType != "individual":
		problem = "recipient_type must be individual"
	case req.To == "":
		problem = "to is required"
	case req.Type != "text":
		problem = "this fake takes text messages only"
	case req.Text == nil || req.Text.Body == "":
		problem = "text.body is required"
	case utf8.RuneCountInString(req.Text.Body) > 4096:
		problem = "text.body is longer than 4096 characters"
	case req.Context != nil && req.Context.MessageID == "":
		problem = "context.message_id is required"
	}
	if problem != "" {
		graphError(w, http.StatusBadRequest, 100, 0, "", "(#100) Invalid parameter: "+problem)
		return
	}
	sm := SentMessage{To: req.To, Body: req.Text.Body, PreviewURL: req.Text.PreviewURL}
	if req.Context != nil {
		sm.ReplyTo = req.Context.MessageID
	}
	s.mu.Lock()
	s.nextID++
	sm.ID = "wamid.fake" + strconv.Itoa(s.nextID)
	s.numbers[id].sent = append(s.numbers[id].sent, sm)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": strings.TrimPrefix(req.To, "+")}},
		"messages":          []map[string]string{{"id": sm.ID}},
	})
}

// messageFor is Meta's title for the Graph error codes tests inject.
func messageFor(code int) string {
	switch code {
	case 4:
		return "(#4) Application request limit reached"
	case 100:
		return "(#100) Invalid parameter"
	case 190:
		return "Invalid OAuth access token - Cannot parse access token"
	case 80007:
		return "(#80007) Rate limit issues"
	case 130429:
		return "(#130429) Rate limit hit"
	case 131000:
		return "(#131000) Something went wrong"
	case 131021:
		return "(#131021) Recipient cannot be sender"
	case 131026:
		return "(#131026) Message undeliverable"
	case 131030:
		return "(#131030) Recipient phone number not in allowed list"
	case 131047:
		return "(#131047) Re-engagement message"
	case 131048:
		return "(#131048) Spam rate limit hit"
	case 131056:
		return "(#131056) (Business Account, Consumer Account) pair rate limit hit"
	}
	return fmt.Sprintf("(#%d) An error occurred", code)
}

// graphError answers the Graph API's error object.
func graphError(w http.ResponseWriter, status, code, subcode int, details, message string) {
	e := map[string]any{
		"message":    message,
		"type":       "OAuthException",
		"code":       code,
		"fbtrace_id": "AfakeTraceID",
	}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if details != "" {
		e["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": details}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		panic(err) // the fake's own values always encode
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf)
}
