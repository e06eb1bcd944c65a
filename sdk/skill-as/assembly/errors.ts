// Failures: how a call ends with an HTTP status and a machine code, the same
// codes and statuses as the Go SDK (sdk/skill/errors.go).

// Codes of the failures the SDK produces.
export const CodeBadRequest = "BAD_REQUEST"; // badRequest
export const CodeInvalidInput = "INVALID_INPUT"; // the input is not the expected JSON
export const CodeInvalidAction = "INVALID_ACTION"; // route: missing or unknown action
export const CodeSkillError = "SKILL_ERROR"; // a plain error (fetch failed in transit)
export const CodeSkillPanic = "SKILL_PANIC"; // abort: a thrown error, a failed assertion, a bounds check
export const CodeNoHandler = "NO_HANDLER"; // neither handle nor route was called
export const CodeOutputTooLarge = "OUTPUT_TOO_LARGE"; // the output cap was exceeded
export const CodeHostCallLimit = "HOST_CALL_LIMIT"; // the host-call budget was exhausted
export const CodeNotGranted = "CAPABILITY_NOT_GRANTED"; // a capability the manifest does not request
export const CodeHostFailure = "HOST_FAILURE"; // a capability's backend failed
export const CodeInvalidKey = "INVALID_KEY"; // a key empty or longer than 512 bytes
export const CodeValueTooLarge = "VALUE_TOO_LARGE"; // a value over the host's size limit
export const CodeKVQuota = "KV_QUOTA_EXCEEDED"; // the platform's key-value quota is reached

// Negative results of host functions (ABI v1; sdk/skill's Errno*).
export const ErrnoNotFound: i64 = -1; // kv_get, config_get: no such key
export const ErrnoOutputFull: i64 = -1; // output_write: the output cap is exceeded
export const ErrnoHostCallLimit: i64 = -2; // the call's host-call budget is exhausted
export const ErrnoNotGranted: i64 = -3; // the capability was not granted
export const ErrnoHostFailure: i64 = -4; // the capability's backend failed
export const ErrnoInvalid: i64 = -5; // a key is empty or too long
export const ErrnoTooLarge: i64 = -6; // a value is over the host's limit
export const ErrnoQuota: i64 = -7; // kv_set: the platform's key-value quota is reached

/**
 * A failure with the HTTP status and machine code the caller sees: the
 * caller gets `{"error": message, "code": code}` with status.
 */
export class Failure {
  constructor(
    /** 400–599; the host sends anything else as 500. */
    public status: i32,
    /** e.g. "AMOUNT_TOO_SMALL"; the host keeps 64 bytes. */
    public code: string,
    /** Shown to the caller; the host keeps 4 KiB. */
    public message: string,
  ) {}

  toString(): string {
    return this.status.toString() + " " + this.code + ": " + this.message;
  }
}

/** A failure with your own code, status and message (Go: skill.Failf). */
export function fail(code: string, status: i32, message: string): Failure {
  return new Failure(status, code, message);
}

/** A 400 BAD_REQUEST: the caller's input was wrong (Go: skill.Fail). */
export function badRequest(message: string): Failure {
  return new Failure(400, CodeBadRequest, message);
}

/** The failure a host function's negative result stands for. */
export function errnoFailure(n: i64): Failure {
  switch (<i32>n) {
    case -2: return new Failure(500, CodeHostCallLimit, "host call limit exceeded");
    case -3: return new Failure(500, CodeNotGranted, "capability not granted");
    case -4: return new Failure(500, CodeHostFailure, "host capability failed");
    case -5: return new Failure(500, CodeInvalidKey, "key empty or too long");
    case -6: return new Failure(500, CodeValueTooLarge, "value too large");
    case -7: return new Failure(429, CodeKVQuota, "key-value quota exceeded");
  }
  return new Failure(500, CodeSkillError, "unexpected host result " + n.toString());
}
