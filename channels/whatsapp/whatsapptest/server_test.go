package whatsapptest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testToken  = "EAAGtesttoken0123456789"
	testNumber = "106540352242922"
)

// call makes one request to the fake and decodes its JSON answer.
func call(t *testing.T, s *Server, method, path, tok string, body any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		buf, _ := json.Marshal(body)
		rd = bytes.NewReader(buf)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, s.URL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: the answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func graphCode(out map[string]any) float64 {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return c
}

func text(to, body string) map[string]any {
	return map[string]any{"messaging_product": "whatsapp", "to": to, "type": "text", "text": map[string]any{"body": body}}
}

func TestServerAuth(t *testing.T) {
	s := New(t)
	s.AddVerifiedNumber(testToken, testNumber, "+1 555-0100", "Acme")
	s.AddNumber("EAAGothertoken0123456789", "222222222", "+1 555-0199")

	status, out := call(t, s, "GET", "/"+testNumber+"?fields=display_phone_number,verified_name", testToken, nil)
	if status != 200 || out["display_phone_number"] != "+1 555-0100" || out["verified_name"] != "Acme" || out["id"] != testNumber {
		t.Errorf("GET the number = %d %v", status, out)
	}
	if status, out := call(t, s, "GET", "/"+testNumber, "EAAGwrong", nil); status != 401 || graphCode(out) != 190 {
		t.Errorf("GET with an unknown token = %d %v; want 401 and code 190", status, out)
	}
	if status, out := call(t, s, "GET", "/"+testNumber, "EAAGothertoken0123456789", nil); status != 400 || graphCode(out) != 100 {
		t.Errorf("GET with another number's token = %d %v; want 400 and code 100", status, out)
	}
	if status, out := call(t, s, "POST", "/999/messages", testToken, text("1", "x")); status != 400 || graphCode(out) != 100 {
		t.Errorf("POST for an unknown number = %d %v; want 400 and code 100", status, out)
	}
	if n := len(s.Sent(testNumber)) + len(s.Sent("222222222")); n != 0 {
		t.Errorf("refused requests sent %d messages", n)
	}
}

func TestServerSend(t *testing.T) {
	s := New(t)
	s.AddNumber(testToken, testNumber, "+1 555-0100")
	msg := text("447700900123", "hello")
	msg["context"] = map[string]string{"message_id": "wamid.IN1"}
	status, out := call(t, s, "POST", "/"+testNumber+"/messages", testToken, msg)
	if status != 200 {
		t.Fatalf("POST messages = %d %v", status, out)
	}
	sent := s.Sent(testNumber)
	if len(sent) != 1 || sent[0].To != "447700900123" || sent[0].Body != "hello" || sent[0].ReplyTo != "wamid.IN1" ||
		!strings.HasPrefix(sent[0].ID, "wamid.") {
		t.Errorf("Sent = %+v", sent)
	}
	if ids, _ := out["messages"].([]any); len(ids) != 1 || ids[0].(map[string]any)["id"] != sent[0].ID {
		t.Errorf("answer %v does not carry the recorded id %s", out, sent[0].ID)
	}

	for _, bad := range []map[string]any{
		text("", "x"), text("1", ""), text("1", strings.Repeat("x", 4097)),
		{"messaging_product": "sms", "to": "1", "type": "text", "text": map[string]any{"body": "x"}},
	} {
		if status, out := call(t, s, "POST", "/"+testNumber+"/messages", testToken, bad); status != 400 || graphCode(out) != 100 {
			t.Errorf("POST %v = %d %v; want 400 and code 100", bad, status, out)
		}
	}
	if n := len(s.Sent(testNumber)); n != 1 {
		t.Errorf("Sent has %d messages after refusals; want 1", n)
	}
}

func TestServerFail(t *testing.T) {
	s := New(t)
	s.AddNumber(testToken, testNumber, "+1 555-0100")
	s.FailNext(testNumber, 2, 400, 131047)
	s.Fail(testNumber, Failure{Status: 429, Code: 130429, RetryAfter: "3"})
	for i, want := range []float64{131047, 131047, 130429} {
		if status, out := call(t, s, "POST", "/"+testNumber+"/messages", testToken, text("1", "x")); graphCode(out) != want || status/100 != 4 {
			t.Errorf("request %d = %d %v; want code %v", i+1, status, out, want)
		}
	}
	if status, _ := call(t, s, "POST", "/"+testNumber+"/messages", testToken, text("1", "x")); status != 200 {
		t.Errorf("request after the failures = %d; want 200", status)
	}
	if n := len(s.Sent(testNumber)); n != 1 {
		t.Errorf("Sent has %d messages; want only the one after the failures", n)
	}
}

func TestWaitSent(t *testing.T) {
	s := New(t)
	s.AddNumber(testToken, testNumber, "+1 555-0100")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 3 {
			buf, _ := json.Marshal(text("1", "x"))
			req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL()+"/"+testNumber+"/messages", bytes.NewReader(buf))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	sent, err := s.WaitSent(ctx, testNumber, 3)
	wg.Wait()
	if err != nil || len(sent) < 3 {
		t.Fatalf("WaitSent = %d messages, %v; want 3", len(sent), err)
	}

	short, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	if _, err := s.WaitSent(short, testNumber, 4); err == nil {
		t.Error("WaitSent for a message never sent returned nil")
	}
}

func TestSign(t *testing.T) {
	// HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
	const want = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got := Sign("key", []byte("The quick brown fox jumps over the lazy dog")); got != want {
		t.Errorf("Sign = %s; want %s", got, want)
	}
}

func TestMessagePayload(t *testing.T) {
	at := time.Unix(1772357400, 0)
	var p Payload
	if err := json.Unmarshal(MessagePayload(testNumber, "447700900123", "Ada", "wamid.ID1", "hi", at), &p); err != nil {
		t.Fatal(err)
	}
	v := p.Entry[0].Changes[0].Value
	m := v.Messages[0]
	if p.Object != "whatsapp_business_account" || p.Entry[0].Changes[0].Field != "messages" ||
		v.Metadata.PhoneNumberID != testNumber || v.Contacts[0].WaID != "447700900123" || v.Contacts[0].Profile.Name != "Ada" ||
		m.From != "447700900123" || m.ID != "wamid.ID1" || m.Timestamp != "1772357400" || m.Type != "text" || m.Text.Body != "hi" {
		t.Errorf("MessagePayload = %+v", p)
	}
}
