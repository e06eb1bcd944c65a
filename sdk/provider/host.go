package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// StartOptions say how to start a plugin process.
type StartOptions struct {
	// Path is the plugin binary.
	Path string
	// SHA256 is the binary's expected digest; a mismatch refuses the start.
	SHA256 []byte
	Args   []string
	// Env is added to the plugin's environment (which is otherwise empty of
	// the gateway's secrets: only PATH, HOME and TMPDIR pass through).
	Env []string
	// Log receives the plugin's stderr and go-plugin's own messages.
	Log *slog.Logger
	// StartTimeout bounds the handshake (5 s when zero).
	StartTimeout time.Duration
}

// Process is a running plugin.
type Process struct {
	c      *plugin.Client
	client *Client
	once   sync.Once
}

// ErrChecksum means the plugin binary is not the one the configuration names.
var ErrChecksum = errors.New("plugin binary checksum mismatch")

// Start launches the plugin at o.Path after checking its SHA-256, with mutual
// TLS on the connection.
func Start(ctx context.Context, o StartOptions) (*Process, error) {
	if len(o.SHA256) != sha256.Size {
		return nil, fmt.Errorf("plugin %s: a SHA-256 checksum is required", o.Path)
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	cmd := exec.Command(o.Path, o.Args...)
	cmd.Env = append(minimalEnv(), o.Env...)
	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          plugin.PluginSet{pluginName: &grpcPlugin{}},
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: o.SHA256, Hash: sha256.New()},
		AutoMTLS:         true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     timeout,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: &logWriter{log: log}, Level: hclog.Info}),
		SyncStdout:       io.Discard,
		SyncStderr:       &logWriter{log: log},
	})
	rpc, err := c.Client()
	if err != nil {
		c.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, fmt.Errorf("%w: %s", ErrChecksum, o.Path)
		}
		return nil, fmt.Errorf("start plugin %s: %w", o.Path, err)
	}
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		c.Kill()
		return nil, fmt.Errorf("start plugin %s: %w", o.Path, err)
	}
	return &Process{c: c, client: raw.(*Client)}, nil
}

// Client is the connection to the plugin.
func (p *Process) Client() *Client { return p.client }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool { return p.c.Exited() }

// Pid is the plugin's process id (0 if unknown).
func (p *Process) Pid() int {
	if rc := p.c.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Kill stops the plugin: gracefully, then by force after two seconds.
func (p *Process) Kill() { p.once.Do(p.c.Kill) }

// minimalEnv keeps the gateway's secrets out of plugins: configuration reaches
// them through Configure, explicitly.
func minimalEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ"} {
		if v, ok := lookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// logWriter forwards a plugin's log lines to slog.
type logWriter struct {
	log *slog.Logger
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			break
		}
		if line = strings.TrimSpace(line); line != "" {
			w.log.Info("plugin", "line", line)
		}
	}
	return len(b), nil
}
