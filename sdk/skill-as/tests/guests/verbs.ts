// A test guest that exercises every verb of the SDK; the SDK's tests
// (tests/*.test.js) and the gateway's (skills/, internal/e2e) call it.
// Build: npm run build:guests (in sdk/skill-as).

import {
  Call, Failure, Level, route, fail, badRequest, Obj, Arr, Str, Kind, Value, Request, parseString, stringify,
} from "../../assembly/index";
export { agentbot_run } from "../../assembly/index";

// A package-level counter: it survives between calls only on a pooled instance.
let calls: i64 = 0;

route()
  .on("echo", echo)
  .on("bump", bump)
  .on("count", count)
  .on("kv", kv)
  .on("config", config)
  .on("log", log)
  .on("fetch", fetchIt)
  .on("fail", failIt)
  .on("panic", panic)
  .on("big", big)
  .on("json", roundTrip)
  .on("ignore", ignoreErr);

// echo: the input object back, under "input".
function echo(c: Call): Failure | null {
  c.outputJSON(new Obj().set("input", c.object()));
  return null;
}

// bump: the number of calls this instance has served.
function bump(c: Call): Failure | null {
  calls++;
  c.outputJSON(new Obj().setInteger("calls", calls));
  return null;
}

// count: a counter in KV, as examples/skill-hello-as.
function count(c: Call): Failure | null {
  const v = c.kv.getString("count");
  const n = (v == null ? 0 : I64.parseInt(v)) + 1;
  c.kv.setString("count", n.toString());
  c.outputJSON(new Obj().setInteger("count", n));
  return null;
}

// kv: set "set" pairs, delete "delete" keys, then list "prefix" and get each.
function kv(c: Call): Failure | null {
  const in_ = c.object();
  const set = in_.getObj("set");
  if (set != null) {
    for (let i = 0; i < set.keys.length; i++) {
      const k = set.keys[i];
      const v = set.getString(k);
      c.kv.setString(k, v == null ? "" : v);
    }
  }
  const del = in_.getArr("delete");
  if (del != null) {
    for (let i = 0; i < del.length; i++) {
      const s = del.at(i)!;
      if (s.kind == Kind.String) c.kv.delete(changetype<Str>(s).value);
    }
  }
  const prefix = in_.getString("prefix");
  const keys = c.kv.list(prefix == null ? "" : prefix);
  const got = new Obj();
  for (let i = 0; i < keys.length; i++) {
    const v = c.kv.getString(keys[i]);
    if (v != null) got.setString(keys[i], v);
  }
  const missing = c.kv.get("no such key");
  c.outputJSON(new Obj().set("keys", strings(keys)).set("values", got).setBool("missingIsNull", missing == null));
  return null;
}

function strings(a: string[]): Arr {
  const out = new Arr();
  for (let i = 0; i < a.length; i++) out.pushString(a[i]);
  return out;
}

// config: the value of "key", or null.
function config(c: Call): Failure | null {
  const k = c.object().getString("key");
  const v = c.config(k == null ? "" : k);
  const o = new Obj();
  if (v == null) o.setNull("value");
  else o.setString("value", v);
  c.outputJSON(o);
  return null;
}

// log: one line at each level.
function log(c: Call): Failure | null {
  c.log(Level.Debug, "a debug line");
  c.log(Level.Info, "an info line");
  c.log(Level.Warn, "a warn line");
  c.log(Level.Error, "an error line");
  c.outputString("{}");
  return null;
}

// fetch: {"url", "method"?, "body"?} → {"status", "body", "contentType"}.
function fetchIt(c: Call): Failure | null {
  const in_ = c.object();
  const req = new Request(in_.getString("url")!).header("Accept", "application/json");
  const body = in_.getString("body");
  if (body != null) req.send(in_.getString("method")!, body);
  const res = c.fetch(req);
  if (res == null) return c.err;
  const ct = res.headers.has("Content-Type") ? res.headers.get("Content-Type") : "";
  c.outputJSON(new Obj().setInteger("status", res.status).setString("body", res.text()).setString("contentType", ct));
  return null;
}

// fail: {"code", "status", "message"} → that failure; without a code, 400 BAD_REQUEST.
function failIt(c: Call): Failure | null {
  const in_ = c.object();
  c.outputString("{\"discarded\":true}");
  const code = in_.getString("code");
  if (code == null) return badRequest("you asked for it");
  return fail(code, <i32>in_.getInteger("status", 500), in_.getString("message")!);
}

// panic: throws, as a bug would.
function panic(c: Call): Failure | null {
  const a = new Array<i32>(1);
  if (c.object().getBool("bounds")) {
    c.outputString(a[5].toString()); // out of bounds: aborts
  }
  throw new Error("boom");
}

// big: {"n"} → a string of n "x" (the output cap).
function big(c: Call): Failure | null {
  const n = <i32>c.object().getInteger("n");
  c.outputString("\"" + "x".repeat(n) + "\"");
  return null;
}

// json: parses "text" and answers its canonical form, or the parse error.
function roundTrip(c: Call): Failure | null {
  const text = c.object().getString("text");
  const v: Value | null = parseString(text == null ? "" : text);
  if (v == null) return badRequest("not JSON");
  c.outputJSON(new Obj().setString("text", stringify(v)).set("value", v));
  return null;
}

// ignore: a KV call without the capability, its failure cleared, then output.
function ignoreErr(c: Call): Failure | null {
  c.kv.get("k");
  const f = c.clearErr();
  c.outputJSON(new Obj().setString("cleared", f == null ? "" : f.code));
  return null;
}
