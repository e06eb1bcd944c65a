package chaintest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Node runs a script of internal/chain/js with node (so it sees the packages
// the lockfile pins), with stdin as its input, and returns what it printed.
// Without node or the installed packages the test is skipped (failed under
// CI=true); a script that fails fails the test.
func Node(t testing.TB, script string, stdin []byte, args ...string) []byte {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		Missing(t, "node not found on PATH")
	}
	root, err := Root()
	if err != nil {
		Missing(t, err.Error())
	}
	dir := filepath.Join(root, jsDir)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "viem")); err != nil {
		Missing(t, "the npm packages are not installed: run `npm ci` in "+jsDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	return out
}
