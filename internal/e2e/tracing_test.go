package e2e

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A gateway call traced end to end, into an in-memory exporter: the route's
// server span, the plugin call's client span under it, and the plugin
// receiving that span as its parent in the gRPC metadata.
func TestTraceFromGatewayCallToPlugin(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); tp.Shutdown(context.Background()) })

	e := start(t, nil)
	c, _ := e.user(t, "traced@example.com", "solo")
	exp.Reset()
	// The caller's own trace is continued.
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := c.Do("POST", "/api/v1/gateway", map[string]any{"x": 1}, "X-Plugin-Id", "test-trace", "traceparent", parent).Expect(t, 200, "")

	spans := exp.GetSpans()
	var server, client *tracetest.SpanStub
	for i := range spans {
		switch s := &spans[i]; {
		case s.Name == "POST /api/v1/gateway" && s.SpanKind == trace.SpanKindServer:
			server = s
		case s.Name == "plugin test-trace" && s.SpanKind == trace.SpanKindClient:
			client = s
		}
	}
	if server == nil || client == nil {
		names := []string{}
		for _, s := range spans {
			names = append(names, s.Name)
		}
		t.Fatalf("spans = %v; want the route's server span and the plugin call's client span", names)
	}
	if server.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || server.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("server span trace %s parent %s; want the caller's", server.SpanContext.TraceID(), server.Parent.SpanID())
	}
	if client.Parent.SpanID() != server.SpanContext.SpanID() || client.SpanContext.TraceID() != server.SpanContext.TraceID() {
		t.Errorf("the plugin span is not the server span's child")
	}
	want := "00-" + client.SpanContext.TraceID().String() + "-" + client.SpanContext.SpanID().String() + "-01"
	if !strings.Contains(string(r.Body), want) {
		t.Errorf("the plugin received %s; want the client span's context %s", r.Body, want)
	}
}
