// Package chain is a small EVM JSON-RPC client: the handful of eth_ methods
// the gateway needs (chain id, calls, code, raw transactions, receipts) over
// HTTP, each bounded in time and in response size. It also checks any
// Ethereum signature, EOA or smart wallet, with one deployless call
// (ValidSignature). Types and hashing come from core/evm; RATIONALE.md ("EVM:
// our own small code, not go-ethereum") says why this is not go-ethereum's
// ethclient.
package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Client's bounds.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxResponse = 4 << 20
)

// Client calls one JSON-RPC endpoint (EVM_RPC_URL). The zero value is not
// usable; set URL. Safe for concurrent use.
type Client struct {
	URL string
	// HTTP sends the requests; http.DefaultClient when nil.
	HTTP *http.Client
	// Timeout bounds each call (DefaultTimeout when zero), on top of ctx.
	Timeout time.Duration
	// MaxResponse bounds a response body in bytes (DefaultMaxResponse when zero).
	MaxResponse int64

	id      atomic.Uint64
	chainMu sync.Mutex
	chainID uint64 // cached by ChainID once known
}

// New returns a client of url with the default bounds.
func New(url string) *Client { return &Client{URL: url} }

// Error is an error the node answered with (a JSON-RPC error object). A
// reverted eth_call carries the revert data in Data (code 3 on most nodes).
type Error struct {
	Code    int
	Message string
	Data    []byte
}

func (e *Error) Error() string {
	if len(e.Data) > 0 {
		return fmt.Sprintf("chain: rpc error %d: %s (data 0x%x)", e.Code, e.Message, e.Data)
	}
	return fmt.Sprintf("chain: rpc error %d: %s", e.Code, e.Message)
}

// Reverted reports whether the node refused a call because the code it ran
// reverted, rather than for a reason of its own (a quota, a bad request).
func (e *Error) Reverted() bool {
	return e.Code == 3 || strings.Contains(strings.ToLower(e.Message), "revert")
}

// ErrUnavailable wraps every failure to get an answer: the node could not be
// reached, timed out, answered with an HTTP error, or sent something that is
// not a JSON-RPC response. A node's own error answer is an *Error instead.
var ErrUnavailable = errors.New("chain: node unavailable")

type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// Call invokes method with params and decodes the result into result (which
// may be nil to ignore it).
func (c *Client) Call(ctx context.Context, result any, method string, params ...any) error {
	if c.URL == "" {
		return fmt.Errorf("%w: no RPC URL configured", ErrUnavailable)
	}
	if params == nil {
		params = []any{}
	}
	id := c.id.Add(1)
	body, err := json.Marshal(request{JSONRPC: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		return err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, method, redact(err, c.URL))
	}
	defer resp.Body.Close()
	limit := c.MaxResponse
	if limit <= 0 {
		limit = DefaultMaxResponse
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("%w: %s: reading the answer: %v", ErrUnavailable, method, redact(err, c.URL))
	}
	if int64(len(raw)) > limit {
		return fmt.Errorf("%w: %s: the answer exceeds %d bytes", ErrUnavailable, method, limit)
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil || r.JSONRPC != "2.0" {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%w: %s: HTTP %d", ErrUnavailable, method, resp.StatusCode)
		}
		return fmt.Errorf("%w: %s: not a JSON-RPC response", ErrUnavailable, method)
	}
	if string(r.ID) != strconv.FormatUint(id, 10) {
		return fmt.Errorf("%w: %s: answer to another request (id %s)", ErrUnavailable, method, r.ID)
	}
	if r.Error != nil {
		e := &Error{Code: r.Error.Code, Message: r.Error.Message}
		var data string
		if json.Unmarshal(r.Error.Data, &data) == nil {
			e.Data, _ = decodeHex(data)
		}
		return e
	}
	if result == nil {
		return nil
	}
	if len(r.Result) == 0 {
		return fmt.Errorf("%w: %s: no result", ErrUnavailable, method)
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return fmt.Errorf("%w: %s: unexpected result: %v", ErrUnavailable, method, err)
	}
	return nil
}

// redact removes the URL (which may carry an API key in its path or query)
// from a transport error.
func redact(err error, url string) string {
	return strings.ReplaceAll(err.Error(), url, "<rpc>")
}
