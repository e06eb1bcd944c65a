package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/agentbot/gateway/sdk/client"
)

// defaultURL is the gateway `make run` serves.
const defaultURL = "http://127.0.0.1:8080"

// credentials are what `agentbot login` stores: the gateway and an API key.
type credentials struct {
	Server string `json:"server"`
	APIKey string `json:"apiKey"`
	Email  string `json:"email,omitempty"`
	// KeyID is set when login created the key (signing in with email and
	// password); logout then deletes it on the server.
	KeyID string `json:"keyId,omitempty"`
}

// credentialsPath is --credentials, else AGENTBOT_CREDENTIALS, else
// agentbot/config.json in the user's config directory.
func (c *cli) credentialsPath() (string, error) {
	if c.configPath != "" {
		return c.configPath, nil
	}
	if p := c.getenv("AGENTBOT_CREDENTIALS"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory (%w): set AGENTBOT_CREDENTIALS or --credentials", err)
	}
	return filepath.Join(dir, "agentbot", "config.json"), nil
}

// errExposed: a credentials file others may read is neither used nor
// written.
var errExposed = errors.New("readable by group or others")

// checkPrivate refuses a credentials file whose mode lets group or others
// read or write it (where file modes mean that).
func checkPrivate(path string, info fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s is %w (mode %04o): refusing to keep an API key in it; chmod 600 it, or remove it and log in again",
			path, errExposed, perm)
	}
	return nil
}

// loadCredentials reads the credentials file; a missing file is no
// credentials (nil, nil).
func (c *cli) loadCredentials() (*credentials, string, error) {
	path, err := c.credentialsPath()
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, nil
	}
	if err != nil {
		return nil, path, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, path, err
	}
	if err := checkPrivate(path, info); err != nil {
		return nil, path, err
	}
	var cr credentials
	if err := json.NewDecoder(f).Decode(&cr); err != nil {
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	return &cr, path, nil
}

// checkWritable tells, before anything is created on the server, whether
// saveCredentials would refuse path.
func checkWritable(path string) error {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return checkPrivate(path, info)
}

// saveCredentials writes cr to path with mode 0600, atomically (a temporary
// file in the same directory, renamed over it). It refuses an existing file
// that group or others may read, and a file system that does not keep the
// mode.
func saveCredentials(path string, cr *credentials) error {
	if err := checkWritable(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cr, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".config-*.json") // created 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	info, err := tmp.Stat()
	if err == nil {
		err = checkPrivate(path, info)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// target is the gateway and key the API commands use: --url and --key,
// then AGENTBOT_URL and AGENTBOT_KEY, then the credentials file; the URL
// defaults to defaultURL. The stored key goes only to the gateway it was
// stored for: with another URL, storedFor names that gateway and key is "".
func (c *cli) target() (url, key, storedFor string, err error) {
	url, key = first(c.url, c.getenv("AGENTBOT_URL")), first(c.key, c.getenv("AGENTBOT_KEY"))
	if key == "" {
		cr, _, err := c.loadCredentials()
		if err != nil {
			return "", "", "", withCode(exitAuth, err)
		}
		switch {
		case cr == nil:
		case url == "" || sameServer(url, cr.Server):
			url, key = first(url, cr.Server), cr.APIKey
		default:
			storedFor = cr.Server
		}
	}
	return first(url, defaultURL), key, storedFor, nil
}

// sameServer compares two gateway URLs, ignoring case in the scheme and
// host and a trailing slash.
func sameServer(a, b string) bool {
	norm := func(s string) string {
		u, err := neturl.Parse(strings.TrimRight(s, "/"))
		if err != nil {
			return s
		}
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		return u.String()
	}
	return norm(a) == norm(b)
}

// api returns a client for the target gateway; needKey refuses to go on
// without a key.
func (c *cli) api(needKey bool) (*client.Client, error) {
	url, key, storedFor, err := c.target()
	if err != nil {
		return nil, err
	}
	if needKey && key == "" {
		if storedFor != "" {
			return nil, withCode(exitAuth, fmt.Errorf("not logged in to %s (the stored key is for %s): give --key, or run agentbot login --url %s", url, storedFor, url))
		}
		return nil, withCode(exitAuth, errors.New("not logged in: run agentbot login, or set AGENTBOT_KEY"))
	}
	return c.newClient(url, key)
}

func (c *cli) newClient(url, key string) (*client.Client, error) {
	opts := []client.Option{client.WithUserAgent("agentbot-cli/" + version)}
	if key != "" {
		opts = append(opts, client.WithAPIKey(key))
	}
	if c.hc != nil {
		opts = append(opts, client.WithHTTPClient(c.hc))
	}
	cl, err := client.New(url, opts...)
	return cl, withCode(exitUsage, err)
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
