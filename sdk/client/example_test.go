package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/agentbot/gateway/sdk/client"
)

// exampleGateway stands in for a gateway: a skill call, a stream, a refusal.
func exampleGateway() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Plugin-Id") {
		case "skill:hello":
			io.WriteString(w, `{"plugin":"skill:hello","result":{"greeting":"Hello, Ada!"},"payment":{"method":"free"}}`)
		case "generate-text":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"delta\":\"Hello\"}\n\ndata: {\"delta\":\", world\"}\n\n")
			io.WriteString(w, "event: usage\ndata: {\"usage\":{\"outputTokens\":3}}\n\ndata: [DONE]\n\n")
		default:
			w.WriteHeader(http.StatusPaymentRequired)
			io.WriteString(w, `{"error":"payment_required","code":"PAYMENT_REQUIRED","request_id":"r1","stripe":{"amount":"0.01"}}`)
		}
	}))
}

func ExampleClient_Call() {
	srv := exampleGateway()
	defer srv.Close()
	c, _ := client.New(srv.URL, client.WithAPIKey("sk_…"))
	res, err := c.Call(context.Background(), "skill:hello", map[string]any{"action": "hello", "name": "Ada"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", res.Result)
	// Output: {"greeting":"Hello, Ada!"}
}

func ExampleClient_CallStream() {
	srv := exampleGateway()
	defer srv.Close()
	c, _ := client.New(srv.URL, client.WithAPIKey("sk_…"))
	s, err := c.CallStream(context.Background(), "generate-text", map[string]any{"prompt": "Say hello"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for ev, err := range s.Events() {
		if err != nil {
			fmt.Println("failed:", err)
			return
		}
		fmt.Printf("%q %s\n", ev.Name, ev.Data)
	}
	// Output:
	// "" {"delta":"Hello"}
	// "" {"delta":", world"}
	// "usage" {"usage":{"outputTokens":3}}
}

func ExampleError() {
	srv := exampleGateway()
	defer srv.Close()
	c, _ := client.New(srv.URL, client.WithAPIKey("sk_…"))
	_, err := c.Call(context.Background(), "generate-text-pro", nil)
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.RequestID, e.Fields["stripe"])
	}
	fmt.Println(client.IsCode(err, client.CodePaymentRequired))
	// Output:
	// 402 PAYMENT_REQUIRED r1 map[amount:0.01]
	// true
}
