// Package client is a typed Go client for the Agentbot gateway's REST API:
// accounts and sessions, API keys, gateway calls (JSON and server-sent
// events), skills (listing, publishing, calling), agents and the plugin
// host's status. It is a Go module of its own that needs only the standard
// library (README, "The Go client").
//
//	c, err := client.New("http://127.0.0.1:8080", client.WithAPIKey(os.Getenv("AGENTBOT_KEY")))
//	res, err := c.Call(ctx, "skill:hello", map[string]any{"action": "hello", "name": "Ada"})
//
// Every failure the server answers is an *Error carrying its HTTP status,
// machine-readable code, message, request id and any extra fields:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Status == 402 { … }
//	if client.IsCode(err, client.CodePaymentRequired) { … }
//
// Streams (CallStream, ChatStream) hand events over as they arrive: with
// Next/Event/Err, with the Events iterator, or with Each and a callback.
package client
