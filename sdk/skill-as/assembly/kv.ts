// The call's key-value store.

import * as host from "./host";
import { ErrnoNotFound, errnoFailure } from "./errors";
import { Call, readResult } from "./skill";
import { Kind, Arr, Str, parse } from "./json";

/**
 * The call's key-value store, scoped by the platform to the calling user,
 * agent and skill: two users of a skill never see each other's keys. It needs
 * the "kv" capability in the manifest. Keys are 1–512 bytes; values are
 * limited by the platform (100 KiB by default), and so is each user's store
 * for the skill (1000 keys and 10 MiB by default: set then fails the call with
 * 429 KV_QUOTA_EXCEEDED). A failure is kept as the call's err (see Call).
 */
export class KV {
  constructor(private c: Call) {}

  /** The value of key, or null when it is missing (or on a failure). */
  get(key: string): Uint8Array | null {
    if (this.c.failed) return null;
    const k = String.UTF8.encode(key);
    const n = host.kv_get(changetype<usize>(k), <u32>k.byteLength);
    if (n == ErrnoNotFound) return null;
    if (n < 0) {
      this.c.setErr(errnoFailure(n));
      return null;
    }
    return readResult(n);
  }

  /** The value of key as a string (UTF-8), or null. */
  getString(key: string): string | null {
    const v = this.get(key);
    return v == null ? null : String.UTF8.decodeUnsafe(v.dataStart, <usize>v.length);
  }

  /** Stores value under key; false on a failure. */
  set(key: string, value: Uint8Array): bool {
    if (this.c.failed) return false;
    const k = String.UTF8.encode(key);
    const n = host.kv_set(changetype<usize>(k), <u32>k.byteLength, value.dataStart, <u32>value.length);
    return n == 0 ? true : this.c.setErr(errnoFailure(<i64>n));
  }

  /** Stores a string (UTF-8) under key. */
  setString(key: string, value: string): bool {
    return this.set(key, Uint8Array.wrap(String.UTF8.encode(value)));
  }

  /** Removes key; removing a missing key is no failure. */
  delete(key: string): bool {
    if (this.c.failed) return false;
    const k = String.UTF8.encode(key);
    const n = host.kv_delete(changetype<usize>(k), <u32>k.byteLength);
    return n == 0 ? true : this.c.setErr(errnoFailure(<i64>n));
  }

  /** The keys that start with prefix, in ascending order. */
  list(prefix: string): string[] {
    const keys: string[] = [];
    if (this.c.failed) return keys;
    const p = String.UTF8.encode(prefix);
    const n = host.kv_list(changetype<usize>(p), <u32>p.byteLength);
    if (n < 0) {
      this.c.setErr(errnoFailure(n));
      return keys;
    }
    const v = parse(readResult(n));
    if (v != null && v.kind == Kind.Array) {
      const items = changetype<Arr>(v).items;
      for (let i = 0; i < items.length; i++) {
        if (items[i].kind == Kind.String) keys.push(changetype<Str>(items[i]).value);
      }
    }
    return keys;
  }
}
