package chain

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/evm"
)

// stub answers each JSON-RPC request with answer(method, params), echoing
// the id; a nil answer leaves the body to write.
func stub(t *testing.T, answer func(method string, params []json.RawMessage) string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", 400)
			return
		}
		body := answer(req.Method, req.Params)
		io.WriteString(w, strings.ReplaceAll(body, `"id":ID`, `"id":`+string(req.ID)))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCallResults(t *testing.T) {
	var calls atomic.Int32
	s := stub(t, func(method string, params []json.RawMessage) string {
		calls.Add(1)
		switch method {
		case "eth_chainId":
			return `{"jsonrpc":"2.0","id":ID,"result":"0x2105"}`
		case "eth_call":
			var p map[string]string
			json.Unmarshal(params[0], &p)
			if _, hasTo := p["to"]; hasTo || p["data"] != "0x01ff" || string(params[1]) != `"latest"` {
				return `{"jsonrpc":"2.0","id":ID,"error":{"code":-32602,"message":"unexpected params"}}`
			}
			return `{"jsonrpc":"2.0","id":ID,"result":"0x00000000000000000000000000000000000000000000000000000000000000ff"}`
		case "eth_getCode":
			return `{"jsonrpc":"2.0","id":ID,"result":"0x"}`
		case "eth_getBalance":
			return `{"jsonrpc":"2.0","id":ID,"result":"0xde0b6b3a7640000"}`
		case "eth_getTransactionReceipt":
			return `{"jsonrpc":"2.0","id":ID,"result":null}`
		}
		return `{"jsonrpc":"2.0","id":ID,"error":{"code":-32601,"message":"method not found"}}`
	})
	c := New(s.URL)
	ctx := context.Background()
	for range 3 {
		if id, err := c.ChainID(ctx); err != nil || id != 8453 {
			t.Fatalf("ChainID = %d, %v; want 8453", id, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("ChainID asked the node %d times; want once (it is remembered)", n)
	}
	out, err := c.CallContract(ctx, Msg{Data: []byte{1, 0xff}}, "")
	if err != nil || len(out) != 32 || out[31] != 0xff {
		t.Errorf("CallContract = %x, %v; want 32 bytes ending in ff", out, err)
	}
	if code, err := c.Code(ctx, evm.Address{1}, ""); err != nil || len(code) != 0 {
		t.Errorf("Code = %x, %v; want empty", code, err)
	}
	if b, err := c.Balance(ctx, evm.Address{1}, ""); err != nil || b.String() != "1000000000000000000" {
		t.Errorf("Balance = %v, %v; want 1e18", b, err)
	}
	if _, err := c.TransactionReceipt(ctx, [32]byte{}); !errors.Is(err, ErrPending) {
		t.Errorf("TransactionReceipt(unknown) error = %v; want ErrPending", err)
	}
	var e *Error
	if err := c.Call(ctx, nil, "eth_nope"); !errors.As(err, &e) || e.Code != -32601 || e.Reverted() {
		t.Errorf("unknown method: error = %v; want an *Error -32601 that is not a revert", err)
	}
}

func TestCallFailures(t *testing.T) {
	big := `{"jsonrpc":"2.0","id":ID,"result":"0x` + strings.Repeat("00", 600) + `"}`
	cases := []struct {
		name, body string
		client     func(c *Client)
	}{
		{"too large", big, func(c *Client) { c.MaxResponse = 1000 }},
		{"not JSON", `<html>bad gateway</html>`, nil},
		{"no jsonrpc member", `{"id":ID,"result":"0x1"}`, nil},
		{"another id", `{"jsonrpc":"2.0","id":999999,"result":"0x1"}`, nil},
		{"no result", `{"jsonrpc":"2.0","id":ID}`, nil},
		{"result of another type", `{"jsonrpc":"2.0","id":ID,"result":{"a":1}}`, nil},
		{"not hex", `{"jsonrpc":"2.0","id":ID,"result":"0xzz"}`, nil},
	}
	for _, tc := range cases {
		s := stub(t, func(string, []json.RawMessage) string { return tc.body })
		c := New(s.URL)
		if tc.client != nil {
			tc.client(c)
		}
		if _, err := c.CallContract(context.Background(), Msg{}, ""); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: error = %v; want ErrUnavailable", tc.name, err)
		}
	}
	if _, err := New("").ChainID(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no URL: error = %v; want ErrUnavailable", err)
	}
}

func TestTimeoutAndRedaction(t *testing.T) {
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer s.Close()
	defer close(release)
	c := &Client{URL: s.URL + "/v2/SECRETKEY", Timeout: 50 * time.Millisecond}
	start := time.Now()
	_, err := c.ChainID(context.Background())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("error = %v; want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a 50ms timeout took %v", d)
	}
	if strings.Contains(err.Error(), "SECRETKEY") {
		t.Errorf("error %q shows the RPC URL (which may hold an API key)", err)
	}
}

func TestValidSignatureAnswers(t *testing.T) {
	cases := []struct {
		name, body string
		valid      bool
		unavail    bool
	}{
		{"valid", `{"jsonrpc":"2.0","id":ID,"result":"0x01"}`, true, false},
		{"invalid", `{"jsonrpc":"2.0","id":ID,"result":"0x00"}`, false, false},
		{"reverted", `{"jsonrpc":"2.0","id":ID,"error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}}`, false, false},
		{"reverted, other code", `{"jsonrpc":"2.0","id":ID,"error":{"code":-32000,"message":"Execution Reverted"}}`, false, false},
		{"quota", `{"jsonrpc":"2.0","id":ID,"error":{"code":-32005,"message":"daily request count exceeded"}}`, false, true},
		{"odd answer", `{"jsonrpc":"2.0","id":ID,"result":"0x0101"}`, false, true},
	}
	for _, tc := range cases {
		var data string
		s := stub(t, func(_ string, params []json.RawMessage) string {
			var p map[string]string
			json.Unmarshal(params[0], &p)
			data = p["data"]
			return tc.body
		})
		ok, err := New(s.URL).ValidSignature(context.Background(), evm.Address{1}, [32]byte{2}, []byte{3})
		if ok != tc.valid || (err != nil) != tc.unavail {
			t.Errorf("%s: ValidSignature = %v, %v; want %v, error %v", tc.name, ok, err, tc.valid, tc.unavail)
		}
		if want := evm.ValidatorCallData(evm.Address{1}, [32]byte{2}, []byte{3}); data != "0x"+hex.EncodeToString(want) {
			t.Errorf("%s: the call's data is not the validator call", tc.name)
		}
	}
}
