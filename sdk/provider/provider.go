// Package provider is the SDK for Agentbot provider plugins: programs that the
// gateway starts, supervises and calls to serve gateway ids such as
// "generate-text" or "render-mcp", and optionally REST routes such as
// /api/ai/models.
//
// # Writing a provider
//
// Implement Provider (and, if you stream or serve routes, Streamer and
// HTTPHandler), then call Serve from main:
//
//	func main() { provider.Serve(&myProvider{}) }
//
// Build the binary, point the gateway at it with its SHA-256, and the gateway
// does the rest: it authenticates and rate-limits callers, takes payment,
// deadlines every call, and restarts the plugin if it dies.
//
// # Protocol version 1
//
// The wire protocol is gRPC over hashicorp/go-plugin with mutual TLS, versioned
// by ProtocolVersion. Within a version it only grows: new fields and new
// optional interfaces, so older plugins keep working. Every method takes a
// context that carries the gateway's deadline for the call.
//
// Failures the caller should see (bad input, an upstream's 429, a model the
// caller's plan excludes) travel inside the response as *Error; a returned Go
// error means the plugin itself failed and is reported as 502.
package provider

import (
	"context"
	"encoding/json"
	"fmt"
)

// ProtocolVersion is the provider protocol's version. A test keeps it equal to
// the "protocol_version" comment of internal/pb/provider.proto.
const ProtocolVersion = 1

// Provider is what every plugin implements.
type Provider interface {
	// Metadata describes the plugin: the gateway ids it serves and its routes.
	Metadata(ctx context.Context, req *MetadataRequest) (*MetadataResponse, error)
	// Invoke runs one call of a capability.
	Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResponse, error)
}

// Configurer is implemented by providers that take configuration. The gateway
// calls Configure after every start, before any other call but Metadata.
type Configurer interface {
	Configure(ctx context.Context, req *ConfigureRequest) (*ConfigureResponse, error)
}

// Streamer is implemented by providers with streaming capabilities.
type Streamer interface {
	// InvokeStream runs a call and sends its output as chunks, each delivered to
	// the client as soon as it is sent.
	InvokeStream(ctx context.Context, req *InvokeRequest, stream ChunkStream) error
}

// ChunkStream carries a streaming call's output to the gateway.
type ChunkStream interface {
	Send(c *Chunk) error
}

// HTTPHandler is implemented by providers that declare Routes.
type HTTPHandler interface {
	HandleHTTP(ctx context.Context, req *HTTPRequest, w HTTPResponseWriter) error
}

// HTTPResponseWriter writes a route's response: WriteHeader once, then any
// number of Writes, each forwarded (and flushed) to the client at once.
type HTTPResponseWriter interface {
	WriteHeader(status int, headers map[string]string) error
	Write(body []byte) error
}

// MetadataRequest asks a plugin to describe itself.
type MetadataRequest struct{}

// MetadataResponse describes a plugin.
type MetadataResponse struct {
	Name         string
	Version      string
	Capabilities []Capability
	Routes       []Route
	// ProtocolVersion is filled in by Serve.
	ProtocolVersion int
}

// Capability is one gateway id the plugin serves.
type Capability struct {
	// ID is the gateway id, e.g. "generate-text".
	ID          string
	Description string
	// Streaming capabilities accept "stream": true and are called with InvokeStream.
	Streaming bool
	// PriceMicroUSD is the suggested price per call in millionths of a US
	// dollar; the operator's configuration has the last word.
	PriceMicroUSD int64
}

// Route is a REST route the plugin serves, e.g. GET /api/ai/models/:provider
// (httprouter syntax). The gateway authenticates callers unless Public is set.
type Route struct {
	Method string
	Path   string
	Public bool
}

// ConfigureRequest carries the plugin's configuration as the operator wrote it.
type ConfigureRequest struct {
	Config json.RawMessage
}

// ConfigureResponse reports a configuration problem in Error.
type ConfigureResponse struct {
	Error *Error
}

// Caller is who a call is for, as the gateway authenticated them.
type Caller struct {
	UserID             string
	Email              string
	Admin              bool
	Plan               string
	SubscriptionStatus string
	// Credentials are the caller's own upstream keys (BYOK), by provider name.
	Credentials map[string]string
	RequestID   string
}

// InvokeRequest is one call of a capability.
type InvokeRequest struct {
	Capability string
	// Input is the JSON body of the gateway call, without "plugin".
	Input  json.RawMessage
	Caller Caller
}

// Usage is what a call consumed, for the usage record and billing.
type Usage struct {
	InputTokens  int64
	OutputTokens int64
	CostMicroUSD int64
	Model        string
}

// InvokeResponse is a call's result: Output (JSON) or Error.
type InvokeResponse struct {
	Output json.RawMessage
	Usage  Usage
	Error  *Error
}

// Chunk is one piece of a streaming call's output. A chunk with Error ends the
// stream with that error; Usage may arrive on any chunk, typically the last.
type Chunk struct {
	Data  json.RawMessage
	Usage *Usage
	Error *Error
}

// Error is a failure the caller should see, rendered by the gateway as
// {"error": Message, "code": Code, ...Fields} with HTTP status Status.
type Error struct {
	Status  int
	Code    string
	Message string
	// Fields are extra JSON members (e.g. "allowedModels").
	Fields map[string]any
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Errorf builds an *Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// HTTPRequest is a request to one of the plugin's Routes.
type HTTPRequest struct {
	Method string
	// Path is the request path; Params holds the route's named parameters.
	Path    string
	Query   string
	Params  map[string]string
	Headers map[string]string
	Body    []byte
	Caller  Caller
}
