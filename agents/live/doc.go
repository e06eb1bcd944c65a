// Package live owns an agent's live channel: the WebSocket at the agent's
// websocketUrl, and the Hub that carries the agent's run events to every
// socket of that agent on every gateway node.
//
// A run may start on any node (HTTP chat, a heartbeat, a socket), so its
// events go through a Hub: MemoryHub within one process, RedisHub (Redis
// pub/sub) across nodes. A subscriber that falls behind is never waited for:
// it gets DroppedEvent and its stream ends, and its client reconnects.
//
// The socket is opened with the agent's instance token (Tokens), checked
// before the upgrade. Frames are JSON text. The server sends
//
//	{"type":"connected","agentId":"…"}          first
//	…the agent's events, as published…
//	{"type":"pong"}                              for a ping
//	{"type":"error","code":"…","error":"…"}      for a refused or failed frame
//
// and the client sends
//
//	{"type":"chat","message":"…","topic":"…"}  topic optional; runs Chatter.Chat
//	{"type":"ping"}
//
// An error frame leaves the socket open. Close codes: StatusMessageTooBig
// for a frame over Limits.MaxFrame, StatusTryAgainLater after DroppedEvent,
// StatusGoingAway on shutdown.
package live
