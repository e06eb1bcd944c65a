package provider

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// TraceParent is the W3C trace context (`traceparent`, e.g.
// "00-<trace id>-<parent span id>-01") the gateway sent with this call, or ""
// when it sent none (tracing is off, or the caller's trace is not sampled).
// A plugin that traces with OpenTelemetry continues the gateway's trace
// from it: propagation.TraceContext{}.Extract with a carrier holding it.
func TraceParent(ctx context.Context) string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ""
	}
	if v := md.Get("traceparent"); len(v) > 0 {
		return v[0]
	}
	return ""
}
