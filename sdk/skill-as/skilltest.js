// skilltest: runs a skill's .wasm in Node.js against fake host capabilities,
// through the host functions of skill ABI v1 ("agentbot:skill/v1") with the
// platform's semantics: the same result codes, limits (output cap, host-call
// budget, value and key sizes, log allowance), pending results, failure
// precedence, and a fresh instance per call. It mirrors the Go harness
// (sdk/skill/skilltest) for authors whose project is an npm package:
//
//   import { test } from "node:test";
//   import assert from "node:assert/strict";
//   import { load, Host } from "@agentbot/skill-as/skilltest";
//
//   const skill = await load(new URL("../build/hello.wasm", import.meta.url));
//   test("hello", () => {
//     const { output, failure } = skill.callJSON(new Host(), { action: "hello", name: "Ada" });
//     assert.equal(failure, null);
//     assert.equal(output.greeting, "Hello, Ada!");
//   });
//
// What it cannot do: interrupt a call at a deadline (a call runs to its end)
// or cap a module's memory; the platform does both.

import { readFile } from "node:fs/promises";

/** The import module of ABI v1. */
export const ABI_MODULE = "agentbot:skill/v1";

// Negative results of host functions (sdk/skill/abi).
export const ErrnoNotFound = -1;
export const ErrnoOutputFull = -1;
export const ErrnoHostCallLimit = -2;
export const ErrnoNotGranted = -3;
export const ErrnoHostFailure = -4;
export const ErrnoInvalid = -5;
export const ErrnoTooLarge = -6;
export const ErrnoQuota = -7;

/** The longest KV key, KV list prefix or config key, in bytes. */
export const MAX_KEY_LEN = 512;

/** The platform's default limits of a call (zero or missing Host.limits fields take them). */
export const DEFAULT_LIMITS = Object.freeze({
  maxOutput: 1 << 20,
  maxHostCalls: 10_000,
  maxKVValue: 100 << 10,
  maxLogBytes: 64 << 10,
});

const MAX_CODE_LEN = 64;
const MAX_MESSAGE_LEN = 4 << 10;
const LEVELS = ["debug", "info", "warn", "error"];

/**
 * What the platform would grant a call, with fakes that tests preset and
 * inspect. Reuse one Host across calls to keep its KV, as the platform does.
 */
export class Host {
  /**
   * @param {object} [opts]
   * @param {Map<string, Uint8Array|string>|Record<string,string>|null} [opts.kv] the KV store's
   *   contents; null: the "kv" capability is not granted. Default: an empty store.
   * @param {Record<string,string>} [opts.config] the installation's configuration
   * @param {(req: {method: string, url: string, headers: Record<string,string>, body: Uint8Array}) =>
   *   {status: number, headers?: Record<string,string>, body?: Uint8Array|string}} [opts.fetch]
   *   answers the skill's HTTP requests (throw to fail one in transit); missing: "http" not granted
   * @param {{keys?: number}} [opts.kvQuota] refuse kv_set past this many keys (ErrnoQuota)
   * @param {{maxOutput?: number, maxHostCalls?: number, maxKVValue?: number, maxLogBytes?: number}} [opts.limits]
   */
  constructor(opts = {}) {
    if (opts.kv === null) {
      this.kv = null;
    } else {
      this.kv = new Map();
      const init = opts.kv instanceof Map ? opts.kv : Object.entries(opts.kv ?? {});
      for (const [k, v] of init) this.kv.set(k, toBytes(v));
    }
    this.config = { ...(opts.config ?? {}) };
    this.fetch = opts.fetch ?? null;
    this.kvQuota = opts.kvQuota ?? null;
    this.limits = { ...DEFAULT_LIMITS };
    for (const [k, v] of Object.entries(opts.limits ?? {})) if (v > 0) this.limits[k] = v;
    /** The skill's log lines, "level: message". */
    this.logs = [];
  }

  /** The KV value of key as a string, or undefined. */
  kvString(key) {
    const v = this.kv?.get(key);
    return v === undefined ? undefined : new TextDecoder().decode(v);
  }
}

/**
 * Compiles a module (a path, URL or bytes) and checks it is an ABI v1 skill:
 * it imports only functions of agentbot:skill/v1 (the platform also serves
 * WASI, which AssemblyScript skills do not need and this runner does not
 * serve), exports memory and agentbot_run, and is no command module.
 * @returns {Promise<Skill>}
 */
export async function load(wasm) {
  const bytes = wasm instanceof Uint8Array ? wasm : await readFile(wasm);
  const mod = await WebAssembly.compile(bytes);
  checkImports(mod);
  return new Skill(mod, bytes.length);
}

/** Throws an Error naming every way mod is not an ABI v1 skill. */
export function checkImports(mod) {
  const errs = [];
  for (const imp of WebAssembly.Module.imports(mod)) {
    const name = `${imp.module}.${imp.name}`;
    if (imp.kind === "memory") {
      errs.push(`import "${name}": skills may not import memory`);
    } else if (imp.module !== ABI_MODULE) {
      errs.push(`import "${name}" is not allowed: skills may import only ${ABI_MODULE}` +
        (imp.module === "env" ? " (build with the SDK's asconfig.json: it maps abort to the SDK)" : ""));
    } else if (imp.kind !== "function" || !(imp.name in HOST_FUNCS)) {
      errs.push(`import "${name}" is not a function of ${ABI_MODULE}`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
  if (exports.get("memory") !== "memory") errs.push(`no export "memory"`);
  if (exports.get("agentbot_run") !== "function") errs.push(`no export "agentbot_run"`);
  if (exports.has("_start")) errs.push(`exports "_start": build a reactor, not a command`);
  if (errs.length > 0) throw new Error(`skilltest: not a ${ABI_MODULE} skill: ${errs.join("; ")}`);
}

/** A compiled skill module. */
export class Skill {
  constructor(mod, size) {
    this.module = mod;
    /** The module's size in bytes. */
    this.size = size;
  }

  /**
   * A new instance (its _initialize run), for tests of what an instance keeps
   * between calls; call() uses a fresh one every time, as the platform does
   * for skills with "isolation": "fresh".
   */
  instance() {
    return new Instance(this.module);
  }

  /**
   * Runs the skill once on input (bytes or a string) in a fresh instance.
   * @returns {{output: Uint8Array|null, failure: {status: number, code: string, message: string}|null}}
   */
  call(host, input) {
    return this.instance().call(host, input);
  }

  /**
   * Runs the skill on the JSON of value; on success output is the parsed
   * output (a test fails on output that is not JSON).
   * @returns {{output: any, failure: {status: number, code: string, message: string}|null}}
   */
  callJSON(host, value) {
    return this.instance().callJSON(host, value);
  }
}

/** One instance of a skill; it serves calls one after another. */
export class Instance {
  constructor(mod) {
    this.call_ = null; // the call being served; host functions trap outside one
    this.crashed = false;
    const imports = {};
    for (const [name, fn] of Object.entries(HOST_FUNCS)) {
      imports[name] = (...args) => {
        const c = this.call_;
        if (c === null) throw new Error(`${ABI_MODULE}.${name} called outside a call`);
        return fn(c, ...args);
      };
    }
    this.instance = new WebAssembly.Instance(mod, { [ABI_MODULE]: imports });
    this.memory = this.instance.exports.memory;
    this.instance.exports._initialize?.();
  }

  /** Runs one call; see Skill.call. An instance that trapped is unusable. */
  call(host, input = new Uint8Array(0)) {
    if (this.crashed) throw new Error("skilltest: this instance trapped; take a new one");
    host ??= new Host();
    const c = new Call(host, this, toBytes(input));
    this.call_ = c;
    let rc;
    try {
      rc = this.instance.exports.agentbot_run();
    } catch (err) {
      this.crashed = true;
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      // As the platform: a failure the module recorded before trapping (the
      // SDK's abort) is the answer; otherwise the call crashed.
      return { output: null, failure: c.limitFailure() ?? c.failure ?? crashed(err) };
    } finally {
      this.call_ = null;
    }
    return c.result(rc);
  }

  /** See Skill.callJSON. */
  callJSON(host, value) {
    const { output, failure } = this.call(host, JSON.stringify(value));
    if (failure !== null) return { output: undefined, failure };
    const text = new TextDecoder().decode(output);
    try {
      return { output: text === "" ? null : JSON.parse(text), failure: null };
    } catch (err) {
      throw new Error(`skilltest: the skill's output is not JSON: ${text.slice(0, 200)}`);
    }
  }
}

function crashed(err) {
  const reason = /unreachable/.test(err.message) ? "trap (unreachable)" : /memory/.test(err.message) ? "out of memory or memory fault" : "trap";
  return { status: 502, code: "SKILL_CRASHED", message: `The skill crashed: ${reason}` };
}

/** The state of one call, as sdk/skill/abi's Call. */
class Call {
  constructor(host, inst, input) {
    this.host = host;
    this.inst = inst;
    this.input = input;
    this.limits = host.limits;
    this.output = [];
    this.outputLen = 0;
    this.outputFull = false;
    this.overBudget = false;
    this.hostCalls = 0;
    this.logBytes = 0;
    this.failure = null;
    this.pending = null;
  }

  mem() {
    return new Uint8Array(this.inst.memory.buffer);
  }

  read(ptr, n) {
    ptr >>>= 0;
    n >>>= 0;
    const m = this.mem();
    if (ptr + n > m.length) throw new WebAssembly.RuntimeError(`guest memory [${ptr}, ${ptr}+${n}) out of range`);
    return m.slice(ptr, ptr + n);
  }

  write(ptr, b) {
    ptr >>>= 0;
    const m = this.mem();
    if (ptr + b.length > m.length) throw new WebAssembly.RuntimeError(`guest memory [${ptr}, ${ptr}+${b.length}) out of range`);
    m.set(b, ptr);
  }

  setResult(b) {
    this.pending = b;
    return BigInt(b.length);
  }

  limitFailure() {
    if (this.outputFull) return { status: 500, code: "OUTPUT_TOO_LARGE", message: "skill output too large" };
    if (this.overBudget) return { status: 500, code: "HOST_CALL_LIMIT", message: "host call limit exceeded" };
    return null;
  }

  result(rc) {
    const f = this.limitFailure() ?? this.failure ??
      (rc !== 0 ? { status: 500, code: "SKILL_FAILED", message: "skill failed" } : null);
    if (f !== null) return { output: null, failure: f };
    const out = new Uint8Array(this.outputLen);
    let off = 0;
    for (const part of this.output) {
      out.set(part, off);
      off += part.length;
    }
    return { output: out, failure: null };
  }
}

/** key reads a key or prefix; null when too long (or empty and !emptyOK). */
function key(c, ptr, n, emptyOK) {
  n >>>= 0;
  if (n > MAX_KEY_LEN || (n === 0 && !emptyOK)) return null;
  return validUTF8(c.read(ptr, n));
}

// budgeted wraps a host function that counts against the budget; over it,
// the function returns ErrnoHostCallLimit (of its result type) and the call
// fails with HOST_CALL_LIMIT. keepsPending: the pending result survives.
function budgeted(fn, result, keepsPending = false) {
  return (c, ...args) => {
    if (!keepsPending) c.pending = null;
    if (c.hostCalls >= c.limits.maxHostCalls) {
      c.overBudget = true;
      if (result === "i32") return ErrnoHostCallLimit;
      if (result === "i64") return BigInt(ErrnoHostCallLimit);
      return undefined;
    }
    c.hostCalls++;
    return fn(c, ...args);
  };
}

const HOST_FUNCS = {
  input_len: (c) => c.input.length,
  input_read: (c, ptr) => c.write(ptr, c.input),
  output_write: budgeted((c, ptr, n) => {
    n >>>= 0;
    if (c.outputFull || c.outputLen + n > c.limits.maxOutput) {
      c.outputFull = true;
      return ErrnoOutputFull;
    }
    c.output.push(c.read(ptr, n));
    c.outputLen += n;
    return 0;
  }, "i32", true),
  fail: (c, status, codePtr, codeLen, msgPtr, msgLen) => {
    if (status < 400 || status > 599) status = 500;
    const code = validUTF8(c.read(codePtr, Math.min(codeLen >>> 0, MAX_CODE_LEN)));
    const message = validUTF8(c.read(msgPtr, Math.min(msgLen >>> 0, MAX_MESSAGE_LEN)));
    c.failure = { status, code: code === "" ? "SKILL_FAILED" : code, message };
  },
  log: budgeted((c, level, ptr, n) => {
    level = Math.min(Math.max(level, 0), 3);
    const room = c.limits.maxLogBytes - c.logBytes;
    if (room <= 0) return;
    n = Math.min(n >>> 0, room);
    c.logBytes += n;
    c.host.logs.push(`${LEVELS[level]}: ${validUTF8(c.read(ptr, n))}`);
  }, "void"),
  result_read: (c, ptr) => {
    c.write(ptr, c.pending ?? new Uint8Array(0));
    c.pending = null;
  },
  kv_get: budgeted((c, kptr, klen) => {
    if (c.host.kv === null) return BigInt(ErrnoNotGranted);
    const k = key(c, kptr, klen, false);
    if (k === null) return BigInt(ErrnoInvalid);
    const v = c.host.kv.get(k);
    return v === undefined ? BigInt(ErrnoNotFound) : c.setResult(v);
  }, "i64"),
  kv_set: budgeted((c, kptr, klen, vptr, vlen) => {
    if (c.host.kv === null) return ErrnoNotGranted;
    const k = key(c, kptr, klen, false);
    if (k === null) return ErrnoInvalid;
    if ((vlen >>> 0) > c.limits.maxKVValue) return ErrnoTooLarge;
    const quota = c.host.kvQuota?.keys;
    if (quota !== undefined && !c.host.kv.has(k) && c.host.kv.size >= quota) return ErrnoQuota;
    c.host.kv.set(k, c.read(vptr, vlen));
    return 0;
  }, "i32"),
  kv_delete: budgeted((c, kptr, klen) => {
    if (c.host.kv === null) return ErrnoNotGranted;
    const k = key(c, kptr, klen, false);
    if (k === null) return ErrnoInvalid;
    c.host.kv.delete(k);
    return 0;
  }, "i32"),
  kv_list: budgeted((c, pptr, plen) => {
    if (c.host.kv === null) return BigInt(ErrnoNotGranted);
    const prefix = key(c, pptr, plen, true);
    if (prefix === null) return BigInt(ErrnoInvalid);
    const keys = [...c.host.kv.keys()].filter((k) => k.startsWith(prefix)).sort(compareBytes);
    return c.setResult(new TextEncoder().encode(JSON.stringify(keys)));
  }, "i64"),
  http_fetch: budgeted((c, ptr, n) => {
    if (c.host.fetch === null) return BigInt(ErrnoNotGranted);
    return c.setResult(new TextEncoder().encode(JSON.stringify(fetchResult(c.host.fetch, c.read(ptr, n)))));
  }, "i64"),
  config_get: budgeted((c, kptr, klen) => {
    const k = key(c, kptr, klen, false);
    if (k === null) return BigInt(ErrnoInvalid);
    if (!Object.hasOwn(c.host.config, k)) return BigInt(ErrnoNotFound);
    return c.setResult(new TextEncoder().encode(String(c.host.config[k])));
  }, "i64"),
};

// fetchResult runs one http_fetch against the host's fake and returns the
// JSON result: {status, headers, body (base64)} or {error}.
function fetchResult(fetch, raw) {
  let req;
  try {
    req = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (err) {
    return { error: `invalid request: ${err.message}` };
  }
  if (typeof req !== "object" || req === null || typeof req.url !== "string" || req.url === "") {
    return { error: "invalid request: no url" };
  }
  let res;
  try {
    res = fetch({
      method: (req.method || "GET").toUpperCase(),
      url: req.url,
      headers: req.headers ?? {},
      body: req.body ? new Uint8Array(Buffer.from(req.body, "base64")) : new Uint8Array(0),
    });
  } catch (err) {
    return { error: err.message };
  }
  if (!res) return { error: "no response" };
  return {
    status: res.status ?? 200,
    headers: res.headers ?? {},
    body: Buffer.from(toBytes(res.body ?? new Uint8Array(0))).toString("base64"),
  };
}

function toBytes(v) {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return new TextEncoder().encode(v);
  throw new TypeError("skilltest: want a string or a Uint8Array");
}

// compareBytes orders strings by their UTF-8 bytes, as the platform's store.
function compareBytes(a, b) {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// validUTF8 decodes b, dropping invalid sequences (Go's strings.ToValidUTF8(s, "")).
function validUTF8(b) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    // Drop the invalid sequences below.
  }
  let out = "";
  let i = 0;
  const dec = new TextDecoder("utf-8", { fatal: true });
  while (i < b.length) {
    const n = seqLen(b, i);
    if (n > 0) {
      out += dec.decode(b.subarray(i, i + n));
      i += n;
    } else {
      i++;
    }
  }
  return out;
}

// seqLen is the length of the valid UTF-8 sequence at b[i], or 0.
function seqLen(b, i) {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (j) => j < b.length && (b[j] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return i + 2 < b.length && b[i + 1] >= lo && b[i + 1] <= hi && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return i + 3 < b.length && b[i + 1] >= lo && b[i + 1] <= hi && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}
