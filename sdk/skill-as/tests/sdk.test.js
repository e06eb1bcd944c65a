// The SDK (assembly/) and the test runner (skilltest.js) together, on the
// verbs guest (tests/guests/verbs.ts, built by `npm test`).

import { test } from "node:test";
import assert from "node:assert/strict";
import { load, Host, checkImports } from "../skilltest.js";

const skill = await load(new URL("./guests/verbs.wasm", import.meta.url));

function ok(host, input) {
  const { output, failure } = skill.callJSON(host ?? new Host(), input);
  assert.equal(failure, null, `call ${JSON.stringify(input)} failed: ${JSON.stringify(failure)}`);
  return output;
}

function failed(host, input) {
  const { failure } = typeof input === "string" ? skill.call(host ?? new Host(), input) : skill.callJSON(host ?? new Host(), input);
  assert.notEqual(failure, null, `call ${JSON.stringify(input)} succeeded; want a failure`);
  return failure;
}

test("routes by action and echoes the input object", () => {
  const out = ok(null, { action: "echo", name: "Ada", n: 3 });
  assert.deepEqual(out, { input: { action: "echo", name: "Ada", n: 3 } });
});

test("refuses what the Go SDK's router refuses, with its codes", () => {
  for (const [input, status, code, message] of [
    [`{"action":"nope"}`, 400, "INVALID_ACTION", "Invalid action"],
    [`{"name":"Ada"}`, 400, "INVALID_ACTION", "Invalid action"],
    [`null`, 400, "INVALID_ACTION", "Invalid action"],
    [`{"action":5}`, 400, "INVALID_INPUT", null],
    [`[1,2]`, 400, "INVALID_INPUT", null],
    [`{"action":"echo"`, 400, "INVALID_INPUT", null],
    [``, 400, "INVALID_INPUT", null],
    [`{"action":"echo"} x`, 400, "INVALID_INPUT", null],
  ]) {
    const f = failed(null, input);
    assert.equal(f.status, status, `${input}: ${JSON.stringify(f)}`);
    assert.equal(f.code, code, `${input}: ${JSON.stringify(f)}`);
    if (message) assert.equal(f.message, message);
    else assert.match(f.message, /^Invalid JSON input: /);
  }
});

test("a fresh instance per call forgets globals; one instance keeps them", () => {
  for (let i = 0; i < 3; i++) assert.deepEqual(ok(null, { action: "bump" }), { calls: 1 });
  const inst = skill.instance();
  for (let want = 1; want <= 3; want++) {
    const { output, failure } = inst.callJSON(new Host(), { action: "bump" });
    assert.equal(failure, null);
    assert.equal(output.calls, want);
  }
});

test("KV: a counter lasts across calls of one Host", () => {
  const h = new Host();
  for (let want = 1; want <= 3; want++) assert.deepEqual(ok(h, { action: "count" }), { count: want });
  assert.equal(h.kvString("count"), "3");
});

test("KV: set, list in byte order, get, delete, missing", () => {
  const h = new Host({ kv: { "a/old": "x", other: "y" } });
  const out = ok(h, { action: "kv", set: { "a/2": "two", "a/1": "one", "a/é": "e" }, delete: ["a/old"], prefix: "a/" });
  assert.deepEqual(out.keys, ["a/1", "a/2", "a/é"]);
  assert.deepEqual(out.values, { "a/1": "one", "a/2": "two", "a/é": "e" });
  assert.equal(out.missingIsNull, true);
  assert.equal(h.kv.has("a/old"), false);
  assert.equal(h.kvString("other"), "y");
});

test("KV: the host's refusals are failures with the Go SDK's codes", () => {
  let f = failed(new Host({ kv: null }), { action: "count" });
  assert.deepEqual([f.status, f.code], [500, "CAPABILITY_NOT_GRANTED"]);
  f = failed(new Host({ limits: { maxKVValue: 2 } }), { action: "kv", set: { k: "abc" } });
  assert.deepEqual([f.status, f.code], [500, "VALUE_TOO_LARGE"]);
  f = failed(null, { action: "kv", set: { ["k".repeat(513)]: "v" } });
  assert.deepEqual([f.status, f.code], [500, "INVALID_KEY"]);
  const h = new Host({ kv: { a: "1" }, kvQuota: { keys: 1 } });
  f = failed(h, { action: "kv", set: { b: "2" } });
  assert.deepEqual([f.status, f.code, f.message], [429, "KV_QUOTA_EXCEEDED", "key-value quota exceeded"]);
});

test("a failed read stops later writes (the counter is not reset)", () => {
  // The budget allows the get but not the set: HOST_CALL_LIMIT, and the
  // stored count stays as it was.
  const h = new Host({ kv: { count: "41" }, limits: { maxHostCalls: 1 } });
  const f = failed(h, { action: "count" });
  assert.deepEqual([f.status, f.code], [500, "HOST_CALL_LIMIT"]);
  assert.equal(h.kvString("count"), "41");
});

test("clearErr takes a failure back and the call goes on", () => {
  assert.deepEqual(ok(new Host({ kv: null }), { action: "ignore" }), { cleared: "CAPABILITY_NOT_GRANTED" });
});

test("config", () => {
  const h = new Host({ config: { greeting: "hi" } });
  assert.deepEqual(ok(h, { action: "config", key: "greeting" }), { value: "hi" });
  assert.deepEqual(ok(h, { action: "config", key: "none" }), { value: null });
  assert.equal(failed(h, { action: "config", key: "" }).code, "INVALID_KEY");
});

test("log lines at each level", () => {
  const h = new Host();
  ok(h, { action: "log" });
  assert.deepEqual(h.logs, ["debug: a debug line", "info: an info line", "warn: a warn line", "error: an error line"]);
});

test("fetch: request and response travel with base64 bodies", () => {
  let seen;
  const h = new Host({
    fetch: (req) => {
      seen = req;
      return { status: 201, headers: { "Content-Type": "application/json" }, body: `{"ok":true}` };
    },
  });
  const out = ok(h, { action: "fetch", url: "https://api.example.com/x", method: "post", body: "héllo" });
  assert.deepEqual(out, { status: 201, body: `{"ok":true}`, contentType: "application/json" });
  assert.equal(seen.method, "POST");
  assert.equal(seen.url, "https://api.example.com/x");
  assert.equal(seen.headers.Accept, "application/json");
  assert.equal(new TextDecoder().decode(seen.body), "héllo");
});

test("fetch: refused, failed in transit, not granted", () => {
  const h = new Host({ fetch: () => { throw new Error("host not allowed"); } });
  let f = failed(h, { action: "fetch", url: "https://evil.example/" });
  assert.deepEqual([f.status, f.code, f.message], [500, "SKILL_ERROR", "skill: fetch https://evil.example/: host not allowed"]);
  f = failed(null, { action: "fetch", url: "https://api.example.com/" });
  assert.deepEqual([f.status, f.code], [500, "CAPABILITY_NOT_GRANTED"]);
});

test("fail: your code and status; the output is discarded", () => {
  const r = skill.callJSON(new Host(), { action: "fail", code: "AMOUNT_TOO_SMALL", status: 422, message: "at least 1" });
  assert.deepEqual(r, { output: undefined, failure: { status: 422, code: "AMOUNT_TOO_SMALL", message: "at least 1" } });
  assert.deepEqual(failed(null, { action: "fail" }), { status: 400, code: "BAD_REQUEST", message: "you asked for it" });
  // Statuses outside 400–599 become 500, as on the platform.
  assert.equal(failed(null, { action: "fail", code: "X", status: 200, message: "" }).status, 500);
});

test("a thrown error or a bounds check is 500 SKILL_PANIC with its message", () => {
  let f = failed(null, { action: "panic" });
  assert.equal(f.status, 500);
  assert.equal(f.code, "SKILL_PANIC");
  assert.match(f.message, /^panic: boom \(tests\/guests\/verbs\.ts:\d+:\d+\)$/);
  f = failed(null, { action: "panic", bounds: true });
  assert.equal(f.code, "SKILL_PANIC");
  assert.match(f.message, /^panic: Index out of range/);
});

test("the output cap and the host-call budget", () => {
  const h = new Host({ limits: { maxOutput: 100 } });
  assert.equal(ok(h, { action: "big", n: 98 }).length, 98);
  assert.deepEqual(failed(h, { action: "big", n: 99 }), { status: 500, code: "OUTPUT_TOO_LARGE", message: "skill output too large" });
  assert.equal(failed(new Host({ limits: { maxHostCalls: 3 } }), { action: "log" }).code, "HOST_CALL_LIMIT");
});

test("JSON: parse and stringify agree with JavaScript's", () => {
  for (const text of [
    `{"a":[1,-2,2.5,1e3,-0.125,true,false,null],"b":{},"c":[]}`,
    `"esc: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00 é 😀 \\u0001"`,
    `{"dup":1,"dup":2}`,
    `9223372036854775807`,
    `-9223372036854775808`,
    `[[[[[[[[[[1]]]]]]]]]]`,
    ` { "spaced" : [ 1 , 2 ] } `,
  ]) {
    const out = ok(null, { action: "json", text });
    assert.deepEqual(JSON.parse(out.text), JSON.parse(text), text);
  }
  // Integers stay exact past 2^53.
  assert.equal(ok(null, { action: "json", text: "9007199254740993" }).text, "9007199254740993");
  assert.equal(ok(null, { action: "json", text: "-9223372036854775808" }).text, "-9223372036854775808");
  // Control characters are escaped on the way out.
  assert.equal(ok(null, { action: "json", text: `"\\u0001\\n"` }).text, `"\\u0001\\n"`);
  for (const bad of [`{"a":}`, `[1,]`, `01`, `1.`, `-`, `"\u0001"`, `"\\x"`, `tru`, `{"a" 1}`, "[".repeat(300) + "]".repeat(300)]) {
    assert.equal(failed(null, { action: "json", text: bad }).code, "BAD_REQUEST", bad);
  }
});

test("checkImports refuses modules outside the ABI", async () => {
  // (module (import "env" "abort" (func (param i32 i32 i32 i32))) (memory (export "memory") 1))
  const wasm = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 4, 127, 127, 127, 127, 0, 2, 13, 1, 3, 101, 110, 118, 5, 97, 98, 111,
    114, 116, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 109, 101, 109, 111, 114, 121, 2, 0,
  ]);
  const mod = await WebAssembly.compile(wasm);
  assert.throws(() => checkImports(mod), /import "env.abort" is not allowed.*no export "agentbot_run"/);
});
