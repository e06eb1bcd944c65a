package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// login with a key checks it with the gateway and stores it with mode 0600;
// the other commands then use it. A key the gateway refuses is not stored.
func TestLoginWithAKey(t *testing.T) {
	se := gatewayServer(t, nil)
	key := account(t, se, "ada@example.com")
	tm := newTerm(t, nil)

	r := tm.expect(exitAuth, "login", "--url", se.URL, "--key", "sk_"+strings.Repeat("0", 64))
	if _, err := os.Stat(tm.config); err == nil {
		t.Error("a refused key was stored")
	}
	if !strings.Contains(r.stderr, "INVALID_API_KEY") {
		t.Errorf("stderr = %q; want the gateway's refusal", r.stderr)
	}

	r = tm.ok("login", "--url", se.URL, "--key", key)
	if !strings.Contains(r.stdout, "ada@example.com") || !strings.Contains(r.stdout, tm.config) {
		t.Errorf("login said %q", r.stdout)
	}
	if m := mode(t, tm.config); m != 0o600 {
		t.Errorf("config mode = %04o; want 0600", m)
	}
	if m := mode(t, filepath.Dir(tm.config)); m != 0o700 {
		t.Errorf("config directory mode = %04o; want 0700", m)
	}
	b, _ := os.ReadFile(tm.config)
	if !strings.Contains(string(b), key) || !strings.Contains(string(b), se.URL) {
		t.Errorf("config = %s", b)
	}
	// The stored credential is used: no --url, no --key; and --url naming
	// the same gateway another way.
	if keys := jsonOf[struct{ Keys []struct{ Name string } }](t, tm.ok("keys", "list", "--json")); len(keys.Keys) != 1 {
		t.Errorf("keys = %+v", keys)
	}
	tm.ok("keys", "list", "--url", strings.ToUpper(se.URL)+"/")
	// The stored key goes only to the gateway it was stored for.
	other := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the stored key was sent to another gateway: %s", r.Header.Get("Authorization"))
	}).env["AGENTBOT_URL"]
	if r := tm.expect(exitAuth, "keys", "list", "--url", other); !strings.Contains(r.stderr, "the stored key is for "+se.URL) {
		t.Errorf("another gateway: %q", r.stderr)
	}
	// Logging out forgets a key it did not create, without deleting it.
	tm.ok("logout")
	if _, err := os.Stat(tm.config); err == nil {
		t.Error("logout left the config file")
	}
	tm.env = map[string]string{"AGENTBOT_URL": se.URL, "AGENTBOT_KEY": key}
	tm.ok("keys", "list")
	tm.env = nil
	tm.expect(exitAuth, "keys", "list")
}

// login with an email and password (asked for on stdin) creates a key for
// this machine and stores it, never the password; logout deletes that key.
func TestLoginWithAPasswordCreatesAKey(t *testing.T) {
	se := gatewayServer(t, nil)
	key := account(t, se, "grace@example.com")
	tm := newTerm(t, nil)
	tm.stdin = se.URL + "\n\ngrace@example.com\npassword-grace@example.com\n"
	r := tm.ok("login")
	for _, prompt := range []string{"Gateway URL", "API key", "Email", "Password"} {
		if !strings.Contains(r.stderr, prompt) {
			t.Errorf("login did not ask for the %s: %q", prompt, r.stderr)
		}
	}
	b, _ := os.ReadFile(tm.config)
	if bytes.Contains(b, []byte("password-grace")) || !bytes.Contains(b, []byte(`"keyId"`)) {
		t.Errorf("config = %s; want a created key and no password", b)
	}
	admin := newTerm(t, map[string]string{"AGENTBOT_URL": se.URL, "AGENTBOT_KEY": key})
	names := func() []string {
		var out []string
		for _, k := range jsonOf[struct{ Keys []struct{ Name string } }](t, admin.ok("keys", "list", "--json")).Keys {
			out = append(out, k.Name)
		}
		return out
	}
	if got := names(); len(got) != 2 || !strings.HasPrefix(got[0], "agentbot CLI") {
		t.Errorf("keys after login = %v; want the CLI's key beside the first", got)
	}
	tm.stdin = ""
	r = tm.ok("logout", "--json")
	if out := jsonOf[map[string]bool](t, r); !out["loggedOut"] || !out["keyDeleted"] {
		t.Errorf("logout = %s", r.stdout)
	}
	if got := names(); len(got) != 1 {
		t.Errorf("keys after logout = %v; want the CLI's key deleted", got)
	}

	// --password-stdin, no prompts.
	tm.stdin = "password-grace@example.com\n"
	tm.ok("login", "--url", se.URL, "--email", "grace@example.com", "--password-stdin")
	tm.stdin = "wrong\n"
	tm.expect(exitAuth, "login", "--url", se.URL, "--email", "grace@example.com", "--password-stdin")
	tm.expect(exitUsage, "login", "--url", se.URL, "--password-stdin")
}

// A credentials file that group or others may read is neither written nor
// used: login refuses before creating anything, and so does every command.
func TestLoginRefusesAReadableFile(t *testing.T) {
	se := gatewayServer(t, nil)
	key := account(t, se, "ada@example.com")
	tm := newTerm(t, nil)
	writeFile(t, tm.config, `{"server":"http://example.invalid","apiKey":"sk_old"}`, 0o644)
	tm.stdin = "password-ada@example.com\n"
	r := tm.expect(exitAuth, "login", "--url", se.URL, "--email", "ada@example.com", "--password-stdin")
	if !strings.Contains(r.stderr, "readable by group or others") || !strings.Contains(r.stderr, "0644") {
		t.Errorf("stderr = %q", r.stderr)
	}
	if b, _ := os.ReadFile(tm.config); string(b) != `{"server":"http://example.invalid","apiKey":"sk_old"}` || mode(t, tm.config) != 0o644 {
		t.Errorf("the refused file changed: %s", b)
	}
	admin := newTerm(t, map[string]string{"AGENTBOT_URL": se.URL, "AGENTBOT_KEY": key})
	if keys := jsonOf[struct{ Keys []any }](t, admin.ok("keys", "list", "--json")); len(keys.Keys) != 1 {
		t.Errorf("a refused login created a key: %v", keys.Keys)
	}
	r = tm.expect(exitAuth, "keys", "list")
	if !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("keys list with a readable config: %q", r.stderr)
	}
	// Group-writable is refused too; 0600 is fine.
	os.Chmod(tm.config, 0o620)
	tm.expect(exitAuth, "login", "--url", se.URL, "--key", key)
	os.Chmod(tm.config, 0o600)
	tm.ok("login", "--url", se.URL, "--key", key)
	// logout removes an exposed file (without using its key).
	os.Chmod(tm.config, 0o640)
	tm.ok("logout")
	if _, err := os.Stat(tm.config); err == nil {
		t.Error("logout left an exposed config file")
	}
}

// Without --credentials or AGENTBOT_CREDENTIALS, credentials live in the user's config
// directory.
func TestCredentialsPathDefault(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	c := &cli{getenv: func(string) string { return "" }}
	want, _ := os.UserConfigDir()
	if p, err := c.credentialsPath(); err != nil || p != filepath.Join(want, "agentbot", "config.json") {
		t.Errorf("credentialsPath() = %q, %v", p, err)
	}
	c.getenv = func(k string) string {
		if k == "AGENTBOT_CREDENTIALS" {
			return "/elsewhere.json"
		}
		return ""
	}
	if p, _ := c.credentialsPath(); p != "/elsewhere.json" {
		t.Errorf("with AGENTBOT_CREDENTIALS: %q", p)
	}
}
