// Package loop owns the agent run loop: one user message in, a bounded
// sequence of model calls and tool calls, and an Outcome out.
//
// The loop is a pure engine. It speaks to the model, the tools and the stored
// conversation only through the small interfaces Model, Toolbox and
// Transcript, which the caller wires to the AI provider, the skills runtime
// (with its payment step) and the database.
//
// # Rules
//
//   - Every run is bounded: model round trips (Limits.MaxRoundTrips), a
//     wall-clock deadline, a spend budget in micro-USD checked before every
//     model call and every tool call, a per-tool timeout, and a cap on
//     identical tool calls. Hitting a limit ends the run as an error with its
//     code (CodeRoundTripsExceeded, …); what was stored so far stays stored.
//   - Every tool call the model emitted gets exactly one result, also when the
//     tool times out, panics, the run is cancelled or a limit is hit mid-turn.
//     An assistant message and all its results reach the Transcript in one
//     Append call, so a stored conversation never holds half a tool exchange.
//   - The calls of one assistant message run concurrently (Limits.Concurrency
//     at a time); results are emitted and stored in call order.
//   - Events (Event) are emitted synchronously and in order; their JSON is
//     what SSE and WebSocket clients receive.
package loop
