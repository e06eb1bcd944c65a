// Package tracing is the gateway's OpenTelemetry tracing: a server span per
// request named by its route, a client span per provider plugin call or
// skill call, and the W3C trace context carried to plugins in the gRPC
// metadata (`traceparent`), where sdk/provider.TraceParent reads it. It is
// off (OpenTelemetry's no-op provider) unless an OTLP endpoint is
// configured; see the README's "Operations".
package tracing

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/route"
)

const scope = "github.com/agentbot/gateway"

var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Setup turns tracing on when endpoint (an OTLP/HTTP URL such as
// http://collector:4318) is set, exporting in batches; the standard
// OTEL_EXPORTER_OTLP_* variables refine it. Without an endpoint it installs
// only the propagator, so incoming trace context still reaches plugins.
// The returned function flushes and stops the exporter.
func Setup(ctx context.Context, endpoint, service, version string) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(propagator)
	if endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, err
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", service)}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	res := resource.NewSchemaless(attrs...)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

func tracer() trace.Tracer { return otel.GetTracerProvider().Tracer(scope) }

// initial is OpenTelemetry's global provider before anyone set one: its
// spans record nothing.
var initial = otel.GetTracerProvider()

// off reports that no tracer provider was installed (Setup without an
// endpoint): spans would record nothing, and only a caller's own trace
// context needs carrying to plugins.
func off() bool { return otel.GetTracerProvider() == initial }

func endNothing(error) {}

// Route wraps a route's handler in a server span named "<METHOD> <route>",
// continuing the caller's trace when the request carries one.
func Route(rt route.Route, h http.Handler) http.Handler {
	name := rt.Method + " " + rt.Path
	attrs := []attribute.KeyValue{attribute.String("http.request.method", rt.Method), attribute.String("http.route", rt.Path)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if off() && r.Header.Get("Traceparent") == "" {
			// Nothing to record and no trace to continue: no span, no
			// new context, no copy of the request.
			h.ServeHTTP(w, r)
			return
		}
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer().Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		defer span.End()
		if !span.IsRecording() {
			h.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		rec, ok := w.(*api.StatusRecorder)
		if !ok {
			rec = &api.StatusRecorder{ResponseWriter: w}
			w = rec
		}
		h.ServeHTTP(w, r.WithContext(ctx))
		code := rec.Status
		if code == 0 {
			code = http.StatusOK
		}
		span.SetAttributes(attribute.Int("http.response.status_code", code))
		if code >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(code))
		}
	})
}

// Call starts the client span of a provider plugin or skill call (kind
// "plugin" or "skill") and puts its trace context in the outgoing gRPC
// metadata; end it with the call's error.
func Call(ctx context.Context, kind, id string) (context.Context, func(error)) {
	if off() && !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, endNothing
	}
	ctx, span := tracer().Start(ctx, kind+" "+id, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("agentbot.call.kind", kind), attribute.String("agentbot.call.id", id)))
	if span.SpanContext().IsValid() {
		carrier := propagation.MapCarrier{}
		otel.GetTextMapPropagator().Inject(ctx, carrier)
		pairs := make([]string, 0, 2*len(carrier))
		for k, v := range carrier {
			pairs = append(pairs, k, v)
		}
		ctx = metadata.AppendToOutgoingContext(ctx, pairs...)
	}
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}
