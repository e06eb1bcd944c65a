package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// skills publish uploads with a progress bar, shows a refusal field by
// field (exit 8), a version already published as a conflict (exit 7), and
// --json prints the release.
func TestSkillsPublish(t *testing.T) {
	se := gatewayServer(t, nil)
	tm := newTerm(t, map[string]string{"AGENTBOT_URL": se.URL, "AGENTBOT_KEY": account(t, se, "ada@example.com")})

	r := publishHello(t, tm, "", "--progress")
	if r.code != 0 || !strings.Contains(r.stdout, "Published hello 1.0.0 (skill:hello)") {
		t.Fatalf("publish = %+v", r)
	}
	if !strings.Contains(r.stderr, "uploading hello.wasm") || !strings.Contains(r.stderr, "100%") {
		t.Errorf("no progress bar reaching 100%%: %q", r.stderr)
	}
	// Another module as the same version (refused before it is compiled).
	wasm, _ := os.ReadFile(filepath.Join(repoRoot, "examples/skill-hello/hello.wasm"))
	other := filepath.Join(t.TempDir(), "hello.wasm")
	writeFile(t, other, string(wasm)+"changed", 0o644)
	r = tm.run("skills", "publish", other, "--manifest", filepath.Join(repoRoot, "examples/skill-hello/manifest.json"))
	if r.code != exitConflict || !strings.Contains(r.stderr, "VERSION_EXISTS") {
		t.Errorf("the same version again = %+v; want exit %d", r, exitConflict)
	}
	if strings.Contains(r.stderr, "uploading") {
		t.Errorf("a progress bar without --progress on a non-terminal: %q", r.stderr)
	}

	r = publishHello(t, tm, `{"name":"greedy","version":"1.0.0","description":"d","category":"examples","limits":{"maxOutputBytes":99999999}}`)
	if r.code != exitRefused {
		t.Fatalf("an over-limit manifest = %+v; want exit %d", r, exitRefused)
	}
	for _, want := range []string{"INVALID_MANIFEST", "\n  field: limits.maxOutputBytes\n", "\n  limit: 1048576\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the refusal does not show %q:\n%s", want, r.stderr)
		}
	}
	r = publishHello(t, tm, `{"name":"greedy","version":"1.0.0","description":"d","category":"examples","limits":{"maxOutputBytes":99999999}}`, "--json")
	e := jsonOf[struct{ Fields map[string]any }](t, result{stdout: r.stderr})
	if e.Fields["field"] != "limits.maxOutputBytes" {
		t.Errorf("--json refusal = %s", r.stderr)
	}

	r = publishHello(t, tm, `{"name":"hello-two","version":"2.0.0","description":"d","category":"examples","actions":["hello"]}`, "--json")
	pub := jsonOf[struct {
		Skill     struct{ Name, Version, SHA256 string }
		GatewayID string
	}](t, r)
	if pub.GatewayID != "skill:hello-two" || pub.Skill.Version != "2.0.0" || len(pub.Skill.SHA256) != 64 {
		t.Errorf("--json release = %+v", pub)
	}
	if l := tm.ok("skills", "list"); !strings.Contains(l.stdout, "hello-two") || !strings.Contains(l.stdout, "2.0.0") {
		t.Errorf("skills list =\n%s", l.stdout)
	}

	tm.expect(exitUsage, "skills", "publish", "/does/not/exist.wasm")
	empty := t.TempDir()
	writeFile(t, filepath.Join(empty, "manifest.json"), `{"name":"unbuilt"}`, 0o644)
	if r := tm.expect(exitUsage, "skills", "publish", empty); !strings.Contains(r.stderr, "skills build") {
		t.Errorf("publishing an unbuilt directory: %q", r.stderr)
	}
}

func TestSkillsNewRefusals(t *testing.T) {
	tm := newTerm(t, nil)
	dir := t.TempDir()
	tm.expect(exitUsage, "skills", "new", "greeter", "--lang", "rust", "--dir", dir)
	tm.expect(exitUsage, "skills", "new", "Bad_Name", "--dir", dir)
	tm.expect(exitUsage, "skills", "new", "greeter", "--sdk", dir, "--dir", dir)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused scaffolds wrote %v", entries)
	}
	tm.expect(exitUsage, "skills", "build", dir)
	tm.expect(exitUsage, "skills", "test", dir)
}

// The same path in AssemblyScript: npm installs the kit and assemblyscript,
// the scaffold's node test passes, and the module it builds is tiny and
// isolated per call (cheap to start).
func TestSkillNewTestBuildPublishCallAS(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages (slow); skipped with -short")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("npm is missing (CI=true)")
		}
		t.Skip("npm is missing")
	}
	se := gatewayServer(t, nil)
	tm := newTerm(t, map[string]string{"AGENTBOT_URL": se.URL, "AGENTBOT_KEY": account(t, se, "as@example.com")})
	parent := t.TempDir()
	tm.ok("skills", "new", "as-greeter", "--lang", "as", "--dir", parent)
	dir := filepath.Join(parent, "as-greeter")
	if r := tm.ok("skills", "test", dir); !strings.Contains(r.stdout+r.stderr, "# fail 0") {
		t.Errorf("skills test printed %q", r.stdout)
	}
	built := jsonOf[struct {
		Module string
		Bytes  int64
	}](t, tm.ok("skills", "build", dir, "--json"))
	if built.Module != filepath.Join(dir, "as-greeter.wasm") || built.Bytes < 1000 || built.Bytes > 200<<10 {
		t.Errorf("skills build = %+v", built)
	}
	tm.ok("skills", "publish", dir)
	r := tm.ok("gateway", "call", "skill:as-greeter", "--input", `{"action":"hello","name":"Ada"}`)
	if !strings.Contains(r.stdout, `"greeting": "Hello, Ada!"`) {
		t.Errorf("the published skill answered %q", r.stdout)
	}
}

// The whole path of a skill author: new, test, build, publish, call.
func TestSkillNewTestBuildPublishCall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a skill for wasip1 (slow); skipped with -short")
	}
	se := gatewayServer(t, nil)
	tm := newTerm(t, map[string]string{"AGENTBOT_URL": se.URL, "AGENTBOT_KEY": account(t, se, "ada@example.com")})
	parent := t.TempDir()
	made := jsonOf[struct {
		Dir   string
		Kit   string
		Files []string
	}](t, tm.ok("skills", "new", "greeter", "--dir", parent, "--json"))
	dir := filepath.Join(parent, "greeter")
	if made.Dir != dir || len(made.Files) != 6 || !strings.HasSuffix(made.Kit, filepath.Join("sdk", "skill")) {
		t.Errorf("skills new = %+v", made)
	}
	if r := tm.ok("skills", "test", dir); !strings.Contains(r.stdout, "ok") {
		t.Errorf("skills test printed %q", r.stdout)
	}
	built := jsonOf[struct {
		Module string
		Bytes  int64
		SHA256 string
	}](t, tm.ok("skills", "build", dir, "--json"))
	if built.Module != filepath.Join(dir, "greeter.wasm") || built.Bytes < 1000 || len(built.SHA256) != 64 {
		t.Errorf("skills build = %+v", built)
	}
	tm.ok("skills", "publish", dir)
	r := tm.ok("gateway", "call", "skill:greeter", "--input", `{"action":"hello","name":"Ada"}`)
	if !strings.Contains(r.stdout, `"greeting": "Hello, Ada!"`) {
		t.Errorf("the published skill answered %q", r.stdout)
	}
	if r := tm.ok("gateway", "call", "skill:greeter", "--input", `{"action":"count"}`); !strings.Contains(r.stdout, `"count": 1`) {
		t.Errorf("count answered %q", r.stdout)
	}
	// A broken skill fails its test with exit 1.
	main := filepath.Join(dir, "main.go")
	src, _ := os.ReadFile(main)
	writeFile(t, main, strings.Replace(string(src), `"Hello, "`, `"Bye, "`, 1), 0o644)
	tm.expect(exitFailure, "skills", "test", dir)
}
