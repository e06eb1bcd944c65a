// Types of skilltest.js: runs a skill's .wasm in Node.js against fake host
// capabilities (skill ABI v1).

export declare const ABI_MODULE: "agentbot:skill/v1";
export declare const MAX_KEY_LEN: 512;
export declare const ErrnoNotFound: -1;
export declare const ErrnoOutputFull: -1;
export declare const ErrnoHostCallLimit: -2;
export declare const ErrnoNotGranted: -3;
export declare const ErrnoHostFailure: -4;
export declare const ErrnoInvalid: -5;
export declare const ErrnoTooLarge: -6;
export declare const ErrnoQuota: -7;

export interface Limits {
  maxOutput: number;
  maxHostCalls: number;
  maxKVValue: number;
  maxLogBytes: number;
}
export declare const DEFAULT_LIMITS: Readonly<Limits>;

/** How a call failed, as the caller sees it. */
export interface Failure {
  status: number;
  code: string;
  message: string;
}

export interface FetchRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface FetchResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

export interface HostOptions {
  /** The KV store's contents; null: "kv" not granted. Default: empty. */
  kv?: Map<string, Uint8Array | string> | Record<string, string> | null;
  config?: Record<string, string>;
  /** Answers the skill's HTTP requests (throw to fail one in transit); missing: "http" not granted. */
  fetch?: (req: FetchRequest) => FetchResponse;
  /** Refuse kv_set past this many keys (429 KV_QUOTA_EXCEEDED). */
  kvQuota?: { keys?: number };
  limits?: Partial<Limits>;
}

/** What the platform would grant a call; reuse one across calls to keep its KV. */
export declare class Host {
  constructor(opts?: HostOptions);
  kv: Map<string, Uint8Array> | null;
  config: Record<string, string>;
  limits: Limits;
  /** The skill's log lines, "level: message". */
  logs: string[];
  /** The KV value of key as a string, or undefined. */
  kvString(key: string): string | undefined;
}

export interface Result {
  output: Uint8Array | null;
  failure: Failure | null;
}

export interface JSONResult {
  output: any;
  failure: Failure | null;
}

/** A compiled skill module. */
export declare class Skill {
  readonly module: WebAssembly.Module;
  /** The module's size in bytes. */
  readonly size: number;
  /** A new instance, for tests of what an instance keeps between calls. */
  instance(): Instance;
  /** Runs the skill once on input in a fresh instance. */
  call(host: Host | null, input?: Uint8Array | string): Result;
  /** Runs the skill on the JSON of value; on success output is the parsed output. */
  callJSON(host: Host | null, value: unknown): JSONResult;
}

/** One instance; it serves calls one after another. */
export declare class Instance {
  call(host: Host | null, input?: Uint8Array | string): Result;
  callJSON(host: Host | null, value: unknown): JSONResult;
}

/** Compiles a module (a path, URL or bytes) and checks it is an ABI v1 skill. */
export declare function load(wasm: string | URL | Uint8Array): Promise<Skill>;

/** Throws an Error naming every way mod is not an ABI v1 skill. */
export declare function checkImports(mod: WebAssembly.Module): void;
