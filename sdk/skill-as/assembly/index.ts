// @agentbot/skill-as: the AssemblyScript SDK for Agentbot skills, over skill
// ABI v1 (import module "agentbot:skill/v1"), the same contract as the Go SDK
// (sdk/skill). See README.md.
//
//     import { Call, Failure, route, badRequest, Obj } from "@agentbot/skill-as";
//     export { agentbot_run } from "@agentbot/skill-as";
//
//     route().on("hello", hello);
//
//     function hello(c: Call): Failure | null {
//       const name = c.object().getString("name");
//       if (name == null || name.length == 0) return badRequest("name is required");
//       c.outputJSON(new Obj().setString("greeting", "Hello, " + name + "!"));
//       return null;
//     }

export { Call, Handler, Level, Router, handle, route, agentbot_run, skillAbort } from "./skill";
export {
  Failure, fail, badRequest,
  CodeBadRequest, CodeInvalidInput, CodeInvalidAction, CodeSkillError, CodeSkillPanic, CodeNoHandler,
  CodeOutputTooLarge, CodeHostCallLimit, CodeNotGranted, CodeHostFailure, CodeInvalidKey, CodeValueTooLarge,
  CodeKVQuota,
  ErrnoNotFound, ErrnoOutputFull, ErrnoHostCallLimit, ErrnoNotGranted, ErrnoHostFailure, ErrnoInvalid,
  ErrnoTooLarge, ErrnoQuota,
} from "./errors";
export { KV } from "./kv";
export { Request, Response, base64Encode, base64Decode } from "./fetch";
export {
  Kind, Value, Null, Bool, Integer, Float, Str, Arr, Obj, parse, parseString, stringify, encode, MAX_DEPTH,
} from "./json";

/** The skill ABI's import module and version. */
export const ABIModule = "agentbot:skill/v1";
export const ABIVersion: i32 = 1;
