// HTTP through the host (http_fetch): the request and result travel as JSON,
// bodies as base64, as in the Go SDK (sdk/skill/fetch.go).

import * as host from "./host";
import { Failure, CodeSkillError, errnoFailure } from "./errors";
import { Call, readResult } from "./skill";
import { Obj, Kind, Str, parse, encode } from "./json";

/** An HTTP request the host makes on the skill's behalf. */
export class Request {
  /** GET, POST, …; "" means GET. */
  method: string = "GET";
  headers: Map<string, string> = new Map();
  body: Uint8Array | null = null;

  constructor(public url: string) {}

  /** Sets a header; returns the request for chaining. */
  header(name: string, value: string): Request {
    this.headers.set(name, value);
    return this;
  }

  /** Sets the method and a body (a string, sent as UTF-8). */
  send(method: string, body: string): Request {
    this.method = method;
    this.body = Uint8Array.wrap(String.UTF8.encode(body));
    return this;
  }
}

/** The answer to a Request, whatever its status. */
export class Response {
  status: i32 = 0;
  headers: Map<string, string> = new Map();
  body: Uint8Array = new Uint8Array(0);

  /** The body as a string (UTF-8). */
  text(): string {
    return String.UTF8.decodeUnsafe(this.body.dataStart, <usize>this.body.length);
  }
}

export function doFetch(c: Call, req: Request): Response | null {
  const o = new Obj().setString("method", req.method).setString("url", req.url);
  const keys = req.headers.keys();
  if (keys.length > 0) {
    const h = new Obj();
    for (let i = 0; i < keys.length; i++) h.setString(keys[i], req.headers.get(keys[i]));
    o.set("headers", h);
  }
  const body = req.body;
  if (body != null && body.length > 0) o.setString("body", base64Encode(body));
  const b = encode(o);
  const n = host.http_fetch(b.dataStart, <u32>b.length);
  if (n < 0) {
    c.setErr(errnoFailure(n));
    return null;
  }
  const v = parse(readResult(n));
  if (v == null || v.kind != Kind.Object) {
    c.setErr(new Failure(500, CodeSkillError, "skill: fetch: the host's result is not a JSON object"));
    return null;
  }
  const r = changetype<Obj>(v);
  const e = r.getString("error");
  if (e != null && e.length > 0) {
    c.setErr(new Failure(500, CodeSkillError, "skill: fetch " + req.url + ": " + e));
    return null;
  }
  const res = new Response();
  res.status = <i32>r.getInteger("status");
  const h = r.getObj("headers");
  if (h != null) {
    for (let i = 0; i < h.keys.length; i++) {
      const k = h.keys[i];
      const hv = h.get(k);
      if (hv != null && hv.kind == Kind.String) res.headers.set(k, changetype<Str>(hv).value);
    }
  }
  const b64 = r.getString("body");
  if (b64 != null) {
    const d = base64Decode(b64);
    if (d == null) {
      c.setErr(new Failure(500, CodeSkillError, "skill: fetch: the host's body is not base64"));
      return null;
    }
    res.body = d;
  }
  return res;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding, as Go's encoding/json writes []byte. */
export function base64Encode(b: Uint8Array): string {
  const n = b.length;
  let i = 0;
  const out = new Uint8Array(((n + 2) / 3) * 4);
  let o = 0;
  for (; i + 2 < n; i += 3) {
    const v = (<u32>b[i] << 16) | (<u32>b[i + 1] << 8) | <u32>b[i + 2];
    out[o++] = <u8>ALPHABET.charCodeAt((v >> 18) & 63);
    out[o++] = <u8>ALPHABET.charCodeAt((v >> 12) & 63);
    out[o++] = <u8>ALPHABET.charCodeAt((v >> 6) & 63);
    out[o++] = <u8>ALPHABET.charCodeAt(v & 63);
  }
  if (i < n) {
    let v = <u32>b[i] << 16;
    if (i + 1 < n) v |= <u32>b[i + 1] << 8;
    out[o++] = <u8>ALPHABET.charCodeAt((v >> 18) & 63);
    out[o++] = <u8>ALPHABET.charCodeAt((v >> 12) & 63);
    out[o++] = i + 1 < n ? <u8>ALPHABET.charCodeAt((v >> 6) & 63) : 0x3d;
    out[o++] = 0x3d;
  }
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>o);
}

function sextet(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2b) return 62;
  if (c == 0x2f) return 63;
  return -1;
}

/** Decodes standard base64 (padding optional); null when malformed. */
export function base64Decode(s: string): Uint8Array | null {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) == 0x3d) n--;
  if (n % 4 == 1) return null;
  const out = new Uint8Array((n * 3) / 4);
  let o = 0;
  let acc: u32 = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const d = sextet(s.charCodeAt(i));
    if (d < 0) return null;
    acc = (acc << 6) | <u32>d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = <u8>((acc >> bits) & 0xff);
    }
  }
  return out.subarray(0, o);
}
