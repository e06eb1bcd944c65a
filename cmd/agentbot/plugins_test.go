package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func digestOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

type entry struct {
	Name, Path, SHA256, Timeout string
	Config                      json.RawMessage
}

func readEntries(t *testing.T, file string) []entry {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var es []entry
	if err := json.Unmarshal(b, &es); err != nil {
		t.Fatalf("%s: %v\n%s", file, err, b)
	}
	return es
}

// plugins add writes the binary's digest and absolute path; adding it again
// after a rebuild updates that entry and keeps the others.
func TestPluginsAdd(t *testing.T) {
	tm := newTerm(t, nil)
	dir := t.TempDir()
	bin := filepath.Join(dir, "greet")
	writeFile(t, bin, "#!/bin/sh\necho v1\n", 0o755)
	file := filepath.Join(dir, "plugins.json")
	writeFile(t, file, `[{"name": "ai", "path": "/opt/agentbot-ai", "sha256": "`+strings.Repeat("a", 64)+`", "config": {"upstreams": {}}}]`, 0o640)

	r := tm.ok("plugins", "add", bin, "--file", file, "--timeout", "5s")
	if !strings.Contains(r.stdout, "Added greet") {
		t.Errorf("plugins add said %q", r.stdout)
	}
	es := readEntries(t, file)
	if len(es) != 2 || es[0].Name != "ai" || string(es[0].Config) != `{"upstreams":{}}` {
		t.Fatalf("entries = %+v; want ai kept", es)
	}
	if g := es[1]; g.Name != "greet" || g.Path != bin || g.SHA256 != digestOf([]byte("#!/bin/sh\necho v1\n")) || g.Timeout != "5s" || g.Config != nil {
		t.Errorf("greet = %+v", es[1])
	}
	if mode(t, file) != 0o640 {
		t.Errorf("mode = %04o; want the file's own 0640 kept", mode(t, file))
	}

	writeFile(t, bin, "#!/bin/sh\necho v2\n", 0o755)
	out := jsonOf[struct {
		SHA256  string
		Updated bool
	}](t, tm.ok("plugins", "add", bin, "--file", file, "--name", "greet", "--json"))
	es = readEntries(t, file)
	if !out.Updated || len(es) != 2 || es[1].SHA256 != digestOf([]byte("#!/bin/sh\necho v2\n")) || out.SHA256 != es[1].SHA256 || es[1].Timeout != "5s" {
		t.Errorf("after a rebuild: %+v, %+v", out, es)
	}
	// Its own name, and a config.
	tm.ok("plugins", "add", bin, "--file", file, "--name", "greet-two", "--config", `{"greeting":"hi"}`)
	if es = readEntries(t, file); len(es) != 3 || string(es[2].Config) != `{"greeting":"hi"}` {
		t.Errorf("entries = %+v", es)
	}
	// A new file.
	fresh := filepath.Join(dir, "fresh.json")
	tm.ok("plugins", "add", bin, "--file", fresh)
	if es = readEntries(t, fresh); len(es) != 1 || mode(t, fresh) != 0o600 {
		t.Errorf("a new file: %+v, mode %04o", es, mode(t, fresh))
	}

	before, _ := os.ReadFile(file)
	noexec := filepath.Join(dir, "data.txt")
	writeFile(t, noexec, "x", 0o644)
	tm.expect(exitUsage, "plugins", "add", noexec, "--file", file)
	tm.expect(exitUsage, "plugins", "add", filepath.Join(dir, "missing"), "--file", file)
	tm.expect(exitUsage, "plugins", "add", bin, "--file", file, "--timeout", "soon")
	broken := filepath.Join(dir, "broken.json")
	writeFile(t, broken, `{"not": "an array"}`, 0o600)
	tm.expect(exitFailure, "plugins", "add", bin, "--file", broken)
	if b, _ := os.ReadFile(broken); string(b) != `{"not": "an array"}` {
		t.Errorf("a refused file changed: %s", b)
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Error("refused adds changed the plugins file")
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".*")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// plugins status calls GET /api/admin/plugins (a fake: the route is not in
// the gateway's table yet) and shows each plugin's state.
func TestPluginsStatus(t *testing.T) {
	var admin bool
	tm := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/admin/plugins" || r.Header.Get("Authorization") != "Bearer sk_fake" {
			w.WriteHeader(404)
			io.WriteString(w, `{"error":"No route","code":"NOT_FOUND"}`)
			return
		}
		if !admin {
			w.WriteHeader(403)
			io.WriteString(w, `{"error":"Admin access required","code":"ADMIN_REQUIRED"}`)
			return
		}
		io.WriteString(w, `{"plugins":[{"name":"ai","up":true,"pid":4242,"restarts":0,"breaker":"closed"},`+
			`{"name":"echo","up":false,"restarts":3,"breaker":"open","error":"plugin exited: exit status 2"}]}`)
	})
	tm.expect(exitAuth, "plugins", "status")
	admin = true
	r := tm.ok("plugins", "status")
	for _, want := range []string{"NAME", "ai", "up", "4242", "echo", "down", "open", "plugin exited: exit status 2"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plugins status does not show %q:\n%s", want, r.stdout)
		}
	}
	st := jsonOf[struct {
		Plugins []struct {
			Name     string
			Restarts int
		}
	}](t, tm.ok("plugins", "status", "--json"))
	if len(st.Plugins) != 2 || st.Plugins[1].Restarts != 3 {
		t.Errorf("--json = %+v", st)
	}
	tm.env["AGENTBOT_KEY"] = "sk_other" // the fake answers 404, like a gateway without the route
	if r := tm.expect(exitNotFound, "plugins", "status"); !strings.Contains(r.stderr, "/api/admin/plugins") {
		t.Errorf("a gateway without the route: %q", r.stderr)
	}
}

// plugins new makes a provider module whose providertest test passes as
// generated.
func TestPluginsNewPassesItsOwnTest(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a gRPC plugin module (slow); skipped with -short")
	}
	tm := newTerm(t, nil)
	parent := t.TempDir()
	r := tm.ok("plugins", "new", "greet", "--dir", parent)
	if !strings.Contains(r.stdout, "go test ./...") {
		t.Errorf("plugins new said %q", r.stdout)
	}
	tm.expect(exitUsage, "plugins", "new", "greet", "--dir", parent) // not into a directory that is there
	cmd := exec.Command("go", "test", "-count=1", "./...")
	cmd.Dir = filepath.Join(parent, "greet")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test in the scaffold: %v\n%s", err, out)
	}
	cmd = exec.Command("go", "vet", "./...")
	cmd.Dir = filepath.Join(parent, "greet")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet in the scaffold: %v\n%s", err, out)
	}
}
