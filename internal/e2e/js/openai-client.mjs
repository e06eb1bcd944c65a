// Runs the unmodified official `openai` npm client against the gateway's
// OpenAI-compatible surface. Usage: node openai-client.mjs <baseURL> <sk_ key>
// Prints one JSON line with what it saw; exits non-zero on any failure.
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

const models = await client.models.list();
const chat = await client.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "from the openai client" }],
});

const stream = await client.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "stream please" }],
  stream: true,
  stream_options: { include_usage: true },
});
let text = "";
let chunks = 0;
let usage = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.choices[0]?.delta?.content) text += chunk.choices[0].delta.content;
  if (chunk.usage) usage = chunk.usage;
}

let denied = null;
try {
  await new OpenAI({ baseURL, apiKey: "sk_" + "0".repeat(64), maxRetries: 0 }).chat.completions.create({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "x" }],
  });
} catch (err) {
  denied = { status: err.status, name: err.constructor.name };
}

console.log(JSON.stringify({
  models: models.data.map((m) => m.id),
  chat: chat.choices[0].message.content,
  chatUsage: chat.usage,
  streamText: text,
  streamChunks: chunks,
  streamUsage: usage,
  denied,
}));
