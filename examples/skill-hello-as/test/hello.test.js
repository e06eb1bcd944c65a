// Runs the built module (npm run build) against fake host capabilities, as
// the platform would run it: @agentbot/skill-as/skilltest.

import { test } from "node:test";
import assert from "node:assert/strict";
import { load, Host } from "@agentbot/skill-as/skilltest";

const skill = await load(new URL("../build/hello.wasm", import.meta.url));

test("hello", () => {
  const { output, failure } = skill.callJSON(new Host(), { action: "hello", name: "Ada" });
  assert.equal(failure, null);
  assert.deepEqual(output, { greeting: "Hello, Ada!" });

  assert.equal(skill.callJSON(new Host(), { action: "hello" }).failure?.code, "BAD_REQUEST");
  assert.equal(skill.callJSON(new Host(), { action: "bye" }).failure?.code, "INVALID_ACTION");
});

test("count", () => {
  const host = new Host(); // its KV lasts across calls, like the platform's
  for (let want = 1; want <= 3; want++) {
    const { output, failure } = skill.callJSON(host, { action: "count" });
    assert.equal(failure, null);
    assert.equal(output.count, want);
  }
  assert.equal(host.kvString("count"), "3");
});
