// Package ai is the AI provider plugin: chat completion over the OpenAI
// chat-completions protocol (OpenAI, OpenRouter, Groq, Gemini, local servers)
// and Anthropic's Messages API, with streaming and tool calling; speech
// synthesis and transcription; a model table with per-1k-token prices and plan
// gating; and the /api/ai/* routes. It serves the gateway ids generate-text,
// agent, tts and stt. A caller's own key (BYOK) for a provider takes precedence.
//
// # Chat input
//
// generate-text, agent and POST /api/ai/chat take
//
//	{"messages": [{"role": "system"|"user"|"assistant"|"tool", "content": "…"}, …],
//	 "prompt" or "message": "…" (shorthand for one user message),
//	 "model", "taskType", "temperature", "top_p", "max_tokens", "systemPrompt",
//	 "tools": [{"name": "…", "description": "…", "parameters": {JSON Schema, "type": "object"}}],
//	 "toolChoice": "auto"|"none"|"required"}
//
// and answer {"id", "model", "provider", "message": {"role": "assistant",
// "content", "toolCalls"?}, "finishReason", "usage", "timestamp"}.
//
// # Tool calling
//
// A tool's name is 1 to 64 letters, digits, _ or -, unique in the request;
// parameters, when given, is a JSON Schema object of "type": "object" (at most
// 64 KiB; absent means no parameters); a request offers at most 128 tools.
// When the model calls tools, message.toolCalls lists them as {"id", "name",
// "arguments"}, arguments being the JSON text the model produced (not checked:
// it may be malformed), and finishReason is "tool_calls". The caller runs the
// tools and sends the conversation back with the assistant message as it came
// ({"role": "assistant", "content", "toolCalls"}) followed by one
// {"role": "tool", "toolCallId", "content", "isError"?} per call. Every call
// must be answered before the next non-tool message, and a tool message must
// answer a call of the assistant message it follows; anything else is a 400
// VALIDATION_ERROR whose "field" names the offending member. Tool definitions,
// call names and arguments, and tool results count toward the plan's prompt
// size cap. Streamed, text arrives as {"delta"} chunks and the final chunk
// carries "toolCalls" when there are any.
package ai
