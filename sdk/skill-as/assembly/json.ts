// A small JSON document model for skills: parse bytes into Values, build
// Values, and encode them back to UTF-8 bytes. It does what a skill's input
// and output need (RFC 8259, integers kept exact as i64) and nothing more, so
// a module stays a few kilobytes and needs no compiler transform.

/** The kind of a JSON value. */
export enum Kind {
  Null,
  Bool,
  Integer,
  Float,
  String,
  Array,
  Object,
}

/** Any JSON value. Check `kind` (or the `is*` getters) before casting. */
export abstract class Value {
  constructor(public readonly kind: Kind) {}

  get isNull(): bool { return this.kind == Kind.Null; }
  get isObject(): bool { return this.kind == Kind.Object; }
  get isArray(): bool { return this.kind == Kind.Array; }
  get isString(): bool { return this.kind == Kind.String; }
  /** An Integer or a Float. */
  get isNumber(): bool { return this.kind == Kind.Integer || this.kind == Kind.Float; }
  get isBool(): bool { return this.kind == Kind.Bool; }

  /** This value's JSON text. */
  toString(): string { return stringify(this); }
}

/** JSON null. */
export class Null extends Value {
  constructor() { super(Kind.Null); }
}

/** true or false. */
export class Bool extends Value {
  constructor(public value: bool) { super(Kind.Bool); }
}

/** A number written without a fraction or exponent that fits an i64. */
export class Integer extends Value {
  constructor(public value: i64) { super(Kind.Integer); }
}

/** Any other number. NaN and infinities are written as null. */
export class Float extends Value {
  constructor(public value: f64) { super(Kind.Float); }
}

/** A string. */
export class Str extends Value {
  constructor(public value: string) { super(Kind.String); }
}

/** An array. */
export class Arr extends Value {
  items: Value[] = [];
  constructor() { super(Kind.Array); }

  get length(): i32 { return this.items.length; }
  /** The item at i, or null past the end. */
  at(i: i32): Value | null { return i >= 0 && i < this.items.length ? this.items[i] : null; }
  push(v: Value): Arr { this.items.push(v); return this; }
  pushString(s: string): Arr { return this.push(new Str(s)); }
  pushInteger(n: i64): Arr { return this.push(new Integer(n)); }
}

/** An object; keys keep their first insertion order. */
export class Obj extends Value {
  keys: string[] = [];
  private values: Map<string, Value> = new Map();
  constructor() { super(Kind.Object); }

  has(key: string): bool { return this.values.has(key); }

  /** The value of key, or null when missing. */
  get(key: string): Value | null {
    return this.values.has(key) ? this.values.get(key) : null;
  }

  /** The string at key, or null when missing or not a string. */
  getString(key: string): string | null {
    const v = this.get(key);
    return v != null && v.kind == Kind.String ? changetype<Str>(v).value : null;
  }

  /** The number at key as an i64 (floats truncated), or fallback. */
  getInteger(key: string, fallback: i64 = 0): i64 {
    const v = this.get(key);
    if (v == null) return fallback;
    if (v.kind == Kind.Integer) return changetype<Integer>(v).value;
    if (v.kind == Kind.Float) {
      const f = changetype<Float>(v).value;
      return isFinite(f) ? <i64>f : fallback;
    }
    return fallback;
  }

  /** The number at key as an f64, or fallback. */
  getFloat(key: string, fallback: f64 = 0): f64 {
    const v = this.get(key);
    if (v == null) return fallback;
    if (v.kind == Kind.Integer) return <f64>changetype<Integer>(v).value;
    if (v.kind == Kind.Float) return changetype<Float>(v).value;
    return fallback;
  }

  /** The boolean at key, or fallback. */
  getBool(key: string, fallback: bool = false): bool {
    const v = this.get(key);
    return v != null && v.kind == Kind.Bool ? changetype<Bool>(v).value : fallback;
  }

  /** The object at key, or null. */
  getObj(key: string): Obj | null {
    const v = this.get(key);
    return v != null && v.kind == Kind.Object ? changetype<Obj>(v) : null;
  }

  /** The array at key, or null. */
  getArr(key: string): Arr | null {
    const v = this.get(key);
    return v != null && v.kind == Kind.Array ? changetype<Arr>(v) : null;
  }

  set(key: string, v: Value): Obj {
    if (!this.values.has(key)) this.keys.push(key);
    this.values.set(key, v);
    return this;
  }
  setString(key: string, s: string): Obj { return this.set(key, new Str(s)); }
  setInteger(key: string, n: i64): Obj { return this.set(key, new Integer(n)); }
  setFloat(key: string, f: f64): Obj { return this.set(key, new Float(f)); }
  setBool(key: string, b: bool): Obj { return this.set(key, new Bool(b)); }
  setNull(key: string): Obj { return this.set(key, new Null()); }

  /** Removes key; true if it was there. */
  delete(key: string): bool {
    if (!this.values.has(key)) return false;
    this.values.delete(key);
    this.keys.splice(this.keys.indexOf(key), 1);
    return true;
  }
}

/** The deepest nesting of arrays and objects parse accepts. */
export const MAX_DEPTH: i32 = 256;

/** Why the last parse failed, or "" after a success. */
export let parseError: string = "";

/**
 * Parses UTF-8 JSON text. It returns null when the text is not one JSON value
 * (then `parseError` says why). Invalid UTF-8 in strings becomes U+FFFD.
 */
export function parse(bytes: Uint8Array): Value | null {
  const p = new Parser(bytes);
  const v = p.document();
  parseError = p.err;
  return v;
}

/** Parses JSON text held in a string. */
export function parseString(text: string): Value | null {
  return parse(Uint8Array.wrap(String.UTF8.encode(text)));
}

/** The JSON text of v. */
export function stringify(v: Value): string {
  const b = encode(v);
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
}

/** The JSON text of v as UTF-8 bytes. */
export function encode(v: Value): Uint8Array {
  const w = new Writer();
  w.value(v);
  return w.bytes();
}

class Parser {
  pos: i32 = 0;
  err: string = "";
  depth: i32 = 0;

  constructor(public b: Uint8Array) {}

  document(): Value | null {
    this.space();
    const v = this.value();
    if (v == null) return null;
    this.space();
    if (this.pos < this.b.length) return this.fail("data after the value");
    return v;
  }

  fail(msg: string): Value | null {
    if (this.err.length == 0) this.err = msg + " at offset " + this.pos.toString();
    return null;
  }

  space(): void {
    const b = this.b;
    while (this.pos < b.length) {
      const c = b[this.pos];
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }

  literal(word: string, v: Value): Value | null {
    for (let i = 0; i < word.length; i++) {
      if (this.pos + i >= this.b.length || <i32>this.b[this.pos + i] != word.charCodeAt(i)) {
        return this.fail("invalid literal");
      }
    }
    this.pos += word.length;
    return v;
  }

  value(): Value | null {
    if (this.pos >= this.b.length) return this.fail("unexpected end of input");
    const c = this.b[this.pos];
    switch (c) {
      case 0x7b: return this.object(); // {
      case 0x5b: return this.array(); // [
      case 0x22: { // "
        const s = this.string();
        return s == null ? null : new Str(s);
      }
      case 0x74: return this.literal("true", new Bool(true));
      case 0x66: return this.literal("false", new Bool(false));
      case 0x6e: return this.literal("null", new Null());
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return this.fail("unexpected character");
  }

  object(): Value | null {
    if (++this.depth > MAX_DEPTH) return this.fail("nesting too deep");
    this.pos++; // {
    const o = new Obj();
    this.space();
    if (this.pos < this.b.length && this.b[this.pos] == 0x7d) {
      this.pos++;
      this.depth--;
      return o;
    }
    while (true) {
      this.space();
      if (this.pos >= this.b.length || this.b[this.pos] != 0x22) return this.fail("expected a string key");
      const k = this.string();
      if (k == null) return null;
      this.space();
      if (this.pos >= this.b.length || this.b[this.pos] != 0x3a) return this.fail("expected ':'");
      this.pos++;
      this.space();
      const v = this.value();
      if (v == null) return null;
      o.set(k, v);
      this.space();
      if (this.pos >= this.b.length) return this.fail("unexpected end of input");
      const c = this.b[this.pos++];
      if (c == 0x7d) break; // }
      if (c != 0x2c) { this.pos--; return this.fail("expected ',' or '}'"); }
    }
    this.depth--;
    return o;
  }

  array(): Value | null {
    if (++this.depth > MAX_DEPTH) return this.fail("nesting too deep");
    this.pos++; // [
    const a = new Arr();
    this.space();
    if (this.pos < this.b.length && this.b[this.pos] == 0x5d) {
      this.pos++;
      this.depth--;
      return a;
    }
    while (true) {
      this.space();
      const v = this.value();
      if (v == null) return null;
      a.push(v);
      this.space();
      if (this.pos >= this.b.length) return this.fail("unexpected end of input");
      const c = this.b[this.pos++];
      if (c == 0x5d) break; // ]
      if (c != 0x2c) { this.pos--; return this.fail("expected ',' or ']'"); }
    }
    this.depth--;
    return a;
  }

  digits(): i32 {
    const start = this.pos;
    while (this.pos < this.b.length && this.b[this.pos] >= 0x30 && this.b[this.pos] <= 0x39) this.pos++;
    return this.pos - start;
  }

  number(): Value | null {
    const b = this.b;
    const start = this.pos;
    if (b[this.pos] == 0x2d) this.pos++;
    if (this.pos >= b.length) return this.fail("invalid number");
    if (b[this.pos] == 0x30) {
      this.pos++;
    } else if (this.digits() == 0) {
      return this.fail("invalid number");
    }
    let integer = true;
    if (this.pos < b.length && b[this.pos] == 0x2e) { // .
      this.pos++;
      if (this.digits() == 0) return this.fail("invalid number");
      integer = false;
    }
    if (this.pos < b.length && (b[this.pos] == 0x65 || b[this.pos] == 0x45)) { // e E
      this.pos++;
      if (this.pos < b.length && (b[this.pos] == 0x2b || b[this.pos] == 0x2d)) this.pos++;
      if (this.digits() == 0) return this.fail("invalid number");
      integer = false;
    }
    if (integer) {
      // Exact when it fits an i64; otherwise a float, as JavaScript would.
      const neg = b[start] == 0x2d;
      let n: u64 = 0;
      let fits = true;
      const limit: u64 = neg ? <u64>9223372036854775808 : <u64>9223372036854775807;
      for (let i = neg ? start + 1 : start; i < this.pos; i++) {
        const d = <u64>(b[i] - 0x30);
        if (n > (limit - d) / 10) { fits = false; break; }
        n = n * 10 + d;
      }
      if (fits) return new Integer(neg ? -(<i64>n) : <i64>n);
    }
    const text = String.UTF8.decodeUnsafe(b.dataStart + <usize>start, <usize>(this.pos - start));
    return new Float(F64.parseFloat(text));
  }

  // string reads a string starting at its opening quote.
  string(): string | null {
    const b = this.b;
    this.pos++; // "
    let parts: string[] | null = null;
    let run = this.pos;
    while (true) {
      if (this.pos >= b.length) { this.fail("unterminated string"); return null; }
      const c = b[this.pos];
      if (c == 0x22) break;
      if (c < 0x20) { this.fail("control character in string"); return null; }
      if (c != 0x5c) { this.pos++; continue; }
      // An escape: keep the run before it, then the escaped character.
      if (parts == null) parts = [];
      parts.push(String.UTF8.decodeUnsafe(b.dataStart + <usize>run, <usize>(this.pos - run)));
      this.pos++;
      if (this.pos >= b.length) { this.fail("unterminated string"); return null; }
      const e = b[this.pos++];
      switch (e) {
        case 0x22: parts.push("\""); break;
        case 0x5c: parts.push("\\"); break;
        case 0x2f: parts.push("/"); break;
        case 0x62: parts.push("\b"); break;
        case 0x66: parts.push("\f"); break;
        case 0x6e: parts.push("\n"); break;
        case 0x72: parts.push("\r"); break;
        case 0x74: parts.push("\t"); break;
        case 0x75: { // \uXXXX, UTF-16 code units as written (pairs join in the string)
          const u = this.hex4();
          if (u < 0) { this.fail("invalid \\u escape"); return null; }
          parts.push(String.fromCharCode(u));
          break;
        }
        default:
          this.pos--;
          this.fail("invalid escape");
          return null;
      }
      run = this.pos;
    }
    const tail = String.UTF8.decodeUnsafe(b.dataStart + <usize>run, <usize>(this.pos - run));
    this.pos++; // "
    if (parts == null) return tail;
    parts.push(tail);
    return parts.join("");
  }

  hex4(): i32 {
    if (this.pos + 4 > this.b.length) return -1;
    let u = 0;
    for (let i = 0; i < 4; i++) {
      const c = <i32>this.b[this.pos++];
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return -1;
      u = (u << 4) | d;
    }
    return u;
  }
}

/** Writer accumulates UTF-8 bytes. */
export class Writer {
  private buf: Uint8Array = new Uint8Array(64);
  private len: i32 = 0;

  private grow(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    memory.copy(next.dataStart, this.buf.dataStart, <usize>this.len);
    this.buf = next;
  }

  byte(c: i32): void {
    this.grow(1);
    this.buf[this.len++] = <u8>c;
  }

  ascii(s: string): void {
    this.grow(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = <u8>s.charCodeAt(i);
  }

  /** The bytes written so far. */
  bytes(): Uint8Array { return this.buf.subarray(0, this.len); }

  value(v: Value): void {
    switch (v.kind) {
      case Kind.Null: this.ascii("null"); break;
      case Kind.Bool: this.ascii(changetype<Bool>(v).value ? "true" : "false"); break;
      case Kind.Integer: this.ascii(changetype<Integer>(v).value.toString()); break;
      case Kind.Float: {
        const f = changetype<Float>(v).value;
        this.ascii(isFinite(f) ? f.toString() : "null");
        break;
      }
      case Kind.String: this.string(changetype<Str>(v).value); break;
      case Kind.Array: {
        const a = changetype<Arr>(v);
        this.byte(0x5b);
        for (let i = 0; i < a.items.length; i++) {
          if (i > 0) this.byte(0x2c);
          this.value(a.items[i]);
        }
        this.byte(0x5d);
        break;
      }
      case Kind.Object: {
        const o = changetype<Obj>(v);
        this.byte(0x7b);
        for (let i = 0; i < o.keys.length; i++) {
          if (i > 0) this.byte(0x2c);
          const k = o.keys[i];
          this.string(k);
          this.byte(0x3a);
          this.value(o.get(k)!);
        }
        this.byte(0x7d);
        break;
      }
    }
  }

  /** A JSON string: quoted, escaped, UTF-16 encoded as UTF-8 (lone surrogates as U+FFFD). */
  string(s: string): void {
    this.grow(s.length + 2);
    this.byte(0x22);
    const n = s.length;
    for (let i = 0; i < n; i++) {
      let c = <i32>s.charCodeAt(i);
      if (c < 0x80) {
        if (c == 0x22 || c == 0x5c) { this.byte(0x5c); this.byte(c); continue; }
        if (c >= 0x20) { this.byte(c); continue; }
        this.byte(0x5c);
        switch (c) {
          case 0x08: this.byte(0x62); break;
          case 0x0c: this.byte(0x66); break;
          case 0x0a: this.byte(0x6e); break;
          case 0x0d: this.byte(0x72); break;
          case 0x09: this.byte(0x74); break;
          default: {
            this.ascii("u00");
            this.byte(HEX.charCodeAt(c >> 4));
            this.byte(HEX.charCodeAt(c & 15));
          }
        }
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const lo = <i32>s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          this.rune(0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00));
          i++;
          continue;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      this.rune(c);
    }
    this.byte(0x22);
  }

  /** One code point as UTF-8. */
  rune(c: i32): void {
    this.grow(4);
    if (c < 0x80) {
      this.buf[this.len++] = <u8>c;
    } else if (c < 0x800) {
      this.buf[this.len++] = <u8>(0xc0 | (c >> 6));
      this.buf[this.len++] = <u8>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      this.buf[this.len++] = <u8>(0xe0 | (c >> 12));
      this.buf[this.len++] = <u8>(0x80 | ((c >> 6) & 0x3f));
      this.buf[this.len++] = <u8>(0x80 | (c & 0x3f));
    } else {
      this.buf[this.len++] = <u8>(0xf0 | (c >> 18));
      this.buf[this.len++] = <u8>(0x80 | ((c >> 12) & 0x3f));
      this.buf[this.len++] = <u8>(0x80 | ((c >> 6) & 0x3f));
      this.buf[this.len++] = <u8>(0x80 | (c & 0x3f));
    }
  }
}

const HEX = "0123456789abcdef";
