// Runs cases through skilltest.js and prints what each call did, as JSON, for
// the gateway's test that holds skilltest to the platform's host
// (internal/e2e, TestASTestRunnerAgreesWithThePlatform):
//
//   node tests/conformance.mjs module.wasm cases.json
//
// A case is {input, kv?, noKV?, config?, limits?, kvQuota?, fetch?}; fetch is
// {status, headers, body} to answer every request, or {error} to fail it.
// Each result is {output, failure, kv, logs}.

import { readFile } from "node:fs/promises";
import { load, Host } from "../skilltest.js";

const [wasmPath, casesPath] = process.argv.slice(2);
const skill = await load(wasmPath);
const cases = JSON.parse(await readFile(casesPath, "utf8"));
const results = cases.map((c) => {
  const host = new Host({
    kv: c.noKV ? null : c.kv ?? {},
    config: c.config ?? {},
    limits: c.limits ?? {},
    kvQuota: c.kvQuota,
    fetch: c.fetch === undefined ? undefined : () => {
      if (c.fetch.error) throw new Error(c.fetch.error);
      return c.fetch;
    },
  });
  const { output, failure } = skill.call(host, c.input);
  const kv = {};
  for (const [k, v] of host.kv ?? []) kv[k] = new TextDecoder().decode(v);
  return { output: output === null ? null : new TextDecoder().decode(output), failure, kv, logs: host.logs };
});
process.stdout.write(JSON.stringify(results));
