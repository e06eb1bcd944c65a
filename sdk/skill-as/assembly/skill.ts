// The call: input, output, failure, logging, configuration, and the entry
// point agentbot_run that the host calls once per call.

import * as host from "./host";
import {
  Failure, CodeInvalidAction, CodeInvalidInput, CodeNoHandler, CodeOutputTooLarge, CodeSkillPanic,
  ErrnoNotFound, ErrnoOutputFull, errnoFailure,
} from "./errors";
import { Value, Obj, Kind, Str, parse, parseError, encode } from "./json";
import { KV } from "./kv";
import { Request, Response, doFetch } from "./fetch";

/** A log line's severity, as passed to the host's log function. */
export enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

/**
 * Runs one call: returns null to succeed with the output written so far, or
 * a Failure to end the call with it (the output is then discarded).
 */
export type Handler = (c: Call) => Failure | null;

/**
 * One invocation of the skill, valid while its handler runs.
 *
 * Host-facing methods never throw. The first failure of one (a capability not
 * granted, the budget spent, the KV quota, invalid input, a fetch that failed)
 * is kept as `err`; from then on the host-facing methods do nothing and return
 * empty values (null, false, []), so that a value that could not be read is
 * never acted on (a counter is not reset because its read failed), and the
 * call ends with that failure whatever the handler returns. A handler that
 * wants to carry on takes the failure back with `clearErr()`.
 */
export class Call {
  private _input: Uint8Array | null = null;
  private _json: Value | null = null;
  private parsed: bool = false;
  private _err: Failure | null = null;
  private _kv: KV | null = null;

  /** The key-value store, scoped by the platform to the calling user, agent and skill. */
  get kv(): KV {
    let kv = this._kv;
    if (kv == null) {
      kv = new KV(this);
      this._kv = kv;
    }
    return kv;
  }

  /** The first failure of a host-facing method, or null. */
  get err(): Failure | null { return this._err; }

  /** Whether a host-facing method failed. */
  get failed(): bool { return this._err != null; }

  /** Returns the failure kept as err and forgets it, so that the call can go on. */
  clearErr(): Failure | null {
    const f = this._err;
    this._err = null;
    return f;
  }

  /** Keeps f as err unless there already is one; returns false for chaining. */
  setErr(f: Failure): bool {
    if (this._err == null) this._err = f;
    return false;
  }

  /** The call's input, as bytes. */
  input(): Uint8Array {
    let b = this._input;
    if (b == null) {
      const n = host.input_len();
      b = new Uint8Array(max(n, 0));
      if (n > 0) host.input_read(b.dataStart);
      this._input = b;
    }
    return b;
  }

  /** The call's input as a string (UTF-8). */
  inputString(): string {
    const b = this.input();
    return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }

  /**
   * The input parsed as JSON. Input that is not JSON fails the call with 400
   * INVALID_INPUT (see err) and gives null.
   */
  json(): Value | null {
    if (!this.parsed) {
      this.parsed = true;
      this._json = parse(this.input());
      if (this._json == null) this.setErr(new Failure(400, CodeInvalidInput, "Invalid JSON input: " + parseError));
    }
    return this._json;
  }

  /**
   * The input as a JSON object (`{"action": …, …}`). Input that is not one
   * fails the call with 400 INVALID_INPUT and gives an empty object, so that a
   * handler can read fields without checking for null.
   */
  object(): Obj {
    const v = this.json();
    if (v != null && v.kind == Kind.Object) return changetype<Obj>(v);
    if (v != null) this.setErr(new Failure(400, CodeInvalidInput, "Invalid JSON input: not an object"));
    return new Obj();
  }

  /** Appends bytes to the output; false once the output cap is exceeded (the call then fails). */
  output(b: Uint8Array): bool {
    if (this._err != null) return false;
    const n = <i64>host.output_write(b.dataStart, <u32>b.length);
    if (n == 0) return true;
    if (n == ErrnoOutputFull) return this.setErr(new Failure(500, CodeOutputTooLarge, "skill output too large"));
    return this.setErr(errnoFailure(n));
  }

  /** Appends a string to the output, as UTF-8. */
  outputString(s: string): bool {
    return this.output(Uint8Array.wrap(String.UTF8.encode(s)));
  }

  /** Appends the JSON text of v to the output. */
  outputJSON(v: Value): bool {
    return this.output(encode(v));
  }

  /** Sends a line to the platform's log for this skill (with the "log" capability). */
  log(level: Level, msg: string): void {
    const b = String.UTF8.encode(msg);
    host.log(<i32>level, changetype<usize>(b), <u32>b.byteLength);
  }

  /** The configuration value of key for this installation, or null when unset. */
  config(key: string): string | null {
    if (this._err != null) return null;
    const k = String.UTF8.encode(key);
    const n = host.config_get(changetype<usize>(k), <u32>k.byteLength);
    if (n == ErrnoNotFound) return null;
    if (n < 0) {
      this.setErr(errnoFailure(n));
      return null;
    }
    const b = readResult(n);
    return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }

  /**
   * Asks the host to make an HTTP request (the "http" capability, to the
   * manifest's hosts only). Any HTTP status is a Response; a request the host
   * refused or that failed in transit fails the call with 500 SKILL_ERROR
   * (see err) and gives null.
   */
  fetch(req: Request): Response | null {
    if (this._err != null) return null;
    return doFetch(this, req);
  }
}

/** Copies the pending result of n bytes announced by the last host call. */
export function readResult(n: i64): Uint8Array {
  const b = new Uint8Array(<i32>n);
  host.result_read(b.dataStart);
  return b;
}

/** Routes calls by the input's "action" field; see route. */
export class Router {
  private table: Map<string, Handler> = new Map();

  /** Handles action with h. */
  on(action: string, h: Handler): Router {
    this.table.set(action, h);
    return this;
  }

  dispatch(c: Call): Failure | null {
    const v = c.json();
    if (v == null) return c.err;
    if (v.kind == Kind.Null) return invalidAction();
    if (v.kind != Kind.Object) return new Failure(400, CodeInvalidInput, "Invalid JSON input: not an object");
    const a = changetype<Obj>(v).get("action");
    if (a == null) return invalidAction();
    if (a.kind != Kind.String) return new Failure(400, CodeInvalidInput, "Invalid JSON input: action is not a string");
    const name = changetype<Str>(a).value;
    if (!this.table.has(name)) return invalidAction();
    return this.table.get(name)(c);
  }
}

function invalidAction(): Failure {
  return new Failure(400, CodeInvalidAction, "Invalid action");
}

let handler: Handler | null = null;
let router: Router | null = null;
let registered = false;
let inCall = false;
let aborting = false;

/** Registers the skill's handler. Call it once, at the top level of your entry file. */
export function handle(h: Handler): void {
  if (registered) abort("skill: handle or route called twice");
  registered = true;
  handler = h;
}

/**
 * Registers a router that dispatches on the input's "action" field: an input
 * that is not a JSON object fails with 400 INVALID_INPUT, a missing or unknown
 * action with 400 INVALID_ACTION "Invalid action".
 *
 *     route().on("hello", hello).on("count", count);
 */
export function route(): Router {
  if (registered) abort("skill: handle or route called twice");
  registered = true;
  const r = new Router();
  router = r;
  return r;
}

/**
 * The module's entry point for one call: re-export it from your entry file,
 * `export { agentbot_run } from "@agentbot/skill-as";`. It runs the handler
 * and reports the outcome to the host: 0 for success, 1 after recording the
 * failure with the host's fail.
 */
export function agentbot_run(): i32 {
  const c = new Call();
  inCall = true;
  let f: Failure | null = null;
  if (router != null) {
    f = router!.dispatch(c);
  } else if (handler != null) {
    f = handler!(c);
  } else {
    f = new Failure(500, CodeNoHandler, "the skill registered no handler");
  }
  if (c.err != null) f = c.err;
  inCall = false;
  if (f == null) return 0;
  report(f);
  return 1;
}

function report(f: Failure): void {
  const code = String.UTF8.encode(f.code);
  const msg = String.UTF8.encode(f.message);
  host.fail(f.status, changetype<usize>(code), <u32>code.byteLength, changetype<usize>(msg), <u32>msg.byteLength);
}

/**
 * The module's abort (build with `--use abort=…/skill/skillAbort`, as the
 * SDK's asconfig.json does): a thrown error, a failed assertion, a bounds or
 * null check. During a call it records 500 SKILL_PANIC with the message and
 * where, as the Go SDK does for a panic, then traps; the host answers with
 * that failure and discards the instance.
 */
export function skillAbort(message: string | null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  if (inCall && !aborting) {
    aborting = true; // an abort while reporting one (out of memory) just traps
    let m = "panic: " + (message != null ? message : "abort");
    if (fileName != null) m += " (" + fileName + ":" + line.toString() + ":" + column.toString() + ")";
    report(new Failure(500, CodeSkillPanic, m));
  }
  unreachable();
}
