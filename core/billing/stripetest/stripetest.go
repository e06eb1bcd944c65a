// Package stripetest runs a real stripe-mock (github.com/stripe/stripe-mock,
// Stripe's official API mock) for tests, and signs webhook payloads the way
// Stripe does.
package stripetest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// Install is the command that installs the pinned stripe-mock.
const Install = "go install github.com/stripe/stripe-mock@v0.203.0"

// Key is an API key stripe-mock accepts.
const Key = "sk_test_stripetest"

// binary finds stripe-mock on PATH, then in $(go env GOPATH)/bin.
func binary() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		gopath = strings.TrimSpace(string(out))
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "stripe-mock")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

var listening = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// Start runs stripe-mock on loopback ports the OS picks, waits until it
// answers, and returns its HTTP base URL; the process is killed when the test
// ends. Without stripe-mock the test is skipped (with the install command), or
// fails when CI=true.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := binary()
	if err != nil {
		msg := "stripe-mock not found on PATH or in $(go env GOPATH)/bin; install it with: " + Install
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() { // keep draining so the mock never blocks on its output
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-exited:
		t.Fatal("stripe-mock exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("stripe-mock did not report its address within 30 s")
	}
	waitReady(t, base)
	return base
}

// waitReady polls until the mock answers an authenticated request.
func waitReady(t testing.TB, base string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/customers", nil)
		req.Header.Set("Authorization", "Bearer "+Key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stripe-mock at %s did not answer: %v", base, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Event builds a webhook event's JSON: id, type, created (unix seconds) and
// the data object.
func Event(id, typ string, created int64, object any) []byte {
	b, err := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "created": created,
		"api_version": "2023-10-16", "livemode": false, "data": map[string]any{"object": object}})
	if err != nil {
		panic(err)
	}
	return b
}

// Sign returns the Stripe-Signature header for payload, signed now with
// secret by stripe-go's webhook.GenerateTestSignedPayload.
func Sign(payload []byte, secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret}).Header
}
